/**
 * @file mcc_us_packed_s8.c
 * @brief Expansion of packed step streams (4-bit steps, mcc_sparse.h) into the step stream the unstructured
 *        kernels read.
 *
 * Why this shape: it runs once per inference and layer, so it must cost little next to the layer's
 * multiply-adds. A quad's four weights are copied as one word; its four 4-bit gaps (one half-word, stored in the
 * order 0, 2, 1, 3 so that two masks put them one per byte) become the four step bytes with two ANDs, a shift, an
 * ORR and one multiply by the stride (no carries: a gap x stride is at most 255), about a dozen instructions per
 * quad of four entries.
 */
#include <stdint.h>

#include "mcc_sparse.h"

void mcc_unpack_us_stream(const mcc_us_packed_filter *f, int8_t *dst)
{
    uint32_t *d = (uint32_t *)(void *)dst;
    const uint32_t *w = f->weights;
    const uint16_t *g = f->gaps;
    const uint32_t stride = (uint32_t)f->stride;
    int32_t r;
    for (r = 0; r < f->rows; r++) {
        int32_t q = f->quads[r];
        *d++ = (uint32_t)q;
        for (; q > 0; q--) {
            const uint32_t n = *g++; /* gaps 0, 2, 1, 3 in bits 0-3, 4-7, 8-11, 12-15 */
            d[0] = *w++;
            d[1] = ((n & 0x0F0F0F0Fu) | (((n >> 4) & 0x0F0F0F0Fu) << 16)) * stride; /* one gap per byte */
            d += 2;
        }
    }
}
