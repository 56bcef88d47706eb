/**
 * @file mcc_select_s8.c
 * @brief SELECT_V2 of int8 values by a bool condition with 4-D broadcasting of all three inputs (TFLM copies
 * raw values: x, y and the output share one quantization). No scratch.
 */
#include <stddef.h>

#include "mcc_nn.h"

/** Strides of a 4-D shape broadcast to `out` (0 along a broadcast dimension); 0 when it does not broadcast. */
static int32_t strides4(const mcc_dims *in, const mcc_dims *out, int32_t s[4])
{
    const int32_t a[4] = {in->n, in->h, in->w, in->c};
    const int32_t o[4] = {out->n, out->h, out->w, out->c};
    int32_t j, step = 1;
    for (j = 3; j >= 0; j--) {
        if (a[j] < 1 || (a[j] != o[j] && a[j] != 1)) {
            return 0;
        }
        s[j] = a[j] == 1 ? 0 : step;
        step *= a[j];
    }
    return 1;
}

/**
 * SELECT_V2 int8 (see mcc_nn.h): out = cond ? x : y element by element.
 * @param d    shapes of cond, x, y and out: each input dimension equals the output's or is 1, all >= 1
 * @param cond bool condition, one byte per value (nonzero = true)
 * @param x    values where the condition holds
 * @param y    values elsewhere
 * @param out  output
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_select_s8(const mcc_select_dims *d, const uint8_t *cond, const int8_t *x, const int8_t *y,
                         int8_t *out)
{
    int32_t sc[4], sx[4], sy[4];
    int32_t n, h, w, c;
    size_t k = 0;
    if (d == NULL || cond == NULL || x == NULL || y == NULL || out == NULL || !strides4(&d->cond, &d->out, sc) ||
        !strides4(&d->x, &d->out, sx) || !strides4(&d->y, &d->out, sy)) {
        return MCC_ARG_ERROR;
    }
    for (n = 0; n < d->out.n; n++) {
        for (h = 0; h < d->out.h; h++) {
            for (w = 0; w < d->out.w; w++) {
                const int32_t bc = n * sc[0] + h * sc[1] + w * sc[2];
                const int32_t bx = n * sx[0] + h * sx[1] + w * sx[2];
                const int32_t by = n * sy[0] + h * sy[1] + w * sy[2];
                for (c = 0; c < d->out.c; c++) {
                    out[k++] = cond[bc + c * sc[3]] ? x[bx + c * sx[3]] : y[by + c * sy[3]];
                }
            }
        }
    }
    return MCC_OK;
}
