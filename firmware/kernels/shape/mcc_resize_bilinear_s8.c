/*
 * mcc_resize_bilinear_s8: RESIZE_BILINEAR int8 in TFLite's integer formulation. The code generator computes, per
 * output row and per output column, the offsets of the two source rows (columns) and the weight of the second
 * one in 1/1024 (mcucompress/ir/resize.py); here every output value is
 *   ((a * (1024 - fy) + b * fy) * (1024 - fx) + (c * (1024 - fy) + d * fy) * fx) / 2^20
 * rounded half away from zero. fy, fx lie in [-512, 1024), so every partial sum fits in 29 bits. A weight of 0
 * drops its second operand (the value is the same): in a 2x upscale a quarter of the outputs are copies and
 * half interpolate in one direction only.
 */
#include "mcc_nn.h"

#define MCC_RESIZE_ONE 1024

/* acc / 2^20 rounded half away from zero (TFLite: (acc +- 2^19) / 2^20 truncating). For acc <= 0 that is
 * ceil((acc - 2^19) / 2^20) = (acc + 2^19 - 1) >> 20 with an arithmetic shift, for acc > 0 (acc + 2^19) >> 20. */
static int8_t mcc_resize_round(int32_t acc)
{
    return (int8_t)((acc + (1 << 19) - (acc <= 0)) >> 20);
}

static void mcc_resize_pixel(const int8_t *tl, const int8_t *tr, const int8_t *bl, const int8_t *br, int32_t fy,
                             int32_t fx, int32_t depth, int8_t *out)
{
    const int32_t gy = MCC_RESIZE_ONE - fy, gx = MCC_RESIZE_ONE - fx;
    int32_t c;
    if (fy == 0 && fx == 0) {
        for (c = 0; c < depth; c++) {
            out[c] = tl[c];
        }
    } else if (fy == 0) {
        for (c = 0; c < depth; c++) {
            out[c] = mcc_resize_round((tl[c] * gx + tr[c] * fx) * MCC_RESIZE_ONE);
        }
    } else if (fx == 0) {
        for (c = 0; c < depth; c++) {
            out[c] = mcc_resize_round((tl[c] * gy + bl[c] * fy) * MCC_RESIZE_ONE);
        }
    } else {
        for (c = 0; c < depth; c++) {
            const int32_t l = tl[c] * gy + bl[c] * fy;
            const int32_t r = tr[c] * gy + br[c] * fy;
            out[c] = mcc_resize_round(l * gx + r * fx);
        }
    }
}

mcc_status mcc_resize_bilinear_s8(const mcc_dims *in_dims, const int8_t *in, const int32_t *rows,
                                  const int32_t *cols, const mcc_dims *out_dims, int8_t *out)
{
    int32_t b, y, x;
    if (in_dims == 0 || in == 0 || rows == 0 || cols == 0 || out_dims == 0 || out == 0 ||
        in_dims->c != out_dims->c || in_dims->n != out_dims->n || out_dims->h < 1 || out_dims->w < 1) {
        return MCC_ARG_ERROR;
    }
    for (b = 0; b < in_dims->n; b++) {
        const int8_t *image = in + b * in_dims->h * in_dims->w * in_dims->c;
        for (y = 0; y < out_dims->h; y++) {
            const int8_t *top = image + rows[3 * y], *bottom = image + rows[3 * y + 1];
            for (x = 0; x < out_dims->w; x++) {
                const int32_t left = cols[3 * x], right = cols[3 * x + 1];
                mcc_resize_pixel(top + left, top + right, bottom + left, bottom + right, rows[3 * y + 2],
                                 cols[3 * x + 2], in_dims->c, out);
                out += in_dims->c;
            }
        }
    }
    return MCC_OK;
}
