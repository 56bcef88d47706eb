/*
 * mcc_index_copy_s8: every data-movement op (TRANSPOSE, SLICE, STRIDED_SLICE, SPLIT, UNPACK, SPACE_TO_DEPTH,
 * DEPTH_TO_SPACE, MIRROR_PAD, REVERSE_V2, BROADCAST_TO, GATHER) as one loop: output element (i0, .., ir-1) copies
 * input element offsets[i0] + offsets[d0 + i1] + ..., one table of input offsets per output axis, computed
 * by the code generator. Outputs are written in order, one after the other.
 */
#include "mcc_nn.h"

static void copy_one(const mcc_index_map *m, const int8_t *in, int8_t *out)
{
    int32_t idx[MCC_INDEX_MAX_RANK] = {0};
    const int32_t *table[MCC_INDEX_MAX_RANK];
    const int32_t last = m->rank - 1;
    const int32_t inner = m->dims[last];
    int32_t k, i, start = 0;
    for (k = 0; k < m->rank; k++) {
        table[k] = m->offsets + start;
        start += m->dims[k];
    }
    for (;;) {
        int32_t base = 0;
        for (k = 0; k < last; k++) {
            base += table[k][idx[k]];
        }
        if (m->contiguous) {
            /* The last axis reads consecutive input bytes: copy the whole row. */
            const int8_t *src = in + base + table[last][0];
            for (i = 0; i < inner; i++) {
                out[i] = src[i];
            }
        } else {
            for (i = 0; i < inner; i++) {
                out[i] = in[base + table[last][i]];
            }
        }
        out += inner;
        for (k = last - 1; k >= 0; k--) {
            if (++idx[k] < m->dims[k]) {
                break;
            }
            idx[k] = 0;
        }
        if (k < 0) {
            return;
        }
    }
}

mcc_status mcc_index_copy_s8(int32_t num_outputs, const mcc_index_map *const *maps, const int8_t *in,
                             int8_t *const *outs)
{
    int32_t n, k;
    if (num_outputs < 1 || maps == 0 || in == 0 || outs == 0) {
        return MCC_ARG_ERROR;
    }
    for (n = 0; n < num_outputs; n++) {
        const mcc_index_map *m = maps[n];
        if (m == 0 || outs[n] == 0 || m->offsets == 0 || m->rank < 1 || m->rank > MCC_INDEX_MAX_RANK) {
            return MCC_ARG_ERROR;
        }
        for (k = 0; k < m->rank; k++) {
            if (m->dims[k] < 1) {
                return MCC_ARG_ERROR;
            }
        }
    }
    for (n = 0; n < num_outputs; n++) {
        copy_one(maps[n], in, outs[n]);
    }
    return MCC_OK;
}
