/**
 * @file mcc_pool_s16.c
 * @brief MAX_POOL_2D and AVERAGE_POOL_2D int16 (bit-exact with TFLM's reference_integer_ops pooling for int16).
 *
 * Windows are clipped to the input; the average divides the int32 sum by the count of in-image taps,
 * rounding halves away from zero; the maximum starts at -32768. Both clamp to [act_min, act_max]. No scratch.
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

static mcc_status pool(const mcc_pool_params *p, const mcc_dims *in_dims, const int16_t *in, const mcc_dims *out_dims,
                       int16_t *out, int32_t is_max)
{
    int32_t b, oy, ox, c, y, x;
    if (p == NULL || in_dims == NULL || in == NULL || out_dims == NULL || out == NULL || out_dims->c != in_dims->c ||
        out_dims->n != in_dims->n || p->filter_h < 1 || p->filter_w < 1 || p->stride_h < 1 || p->stride_w < 1 ||
        p->pad_h < 0 || p->pad_w < 0) {
        return MCC_ARG_ERROR;
    }
    for (b = 0; b < out_dims->n; b++) {
        for (oy = 0; oy < out_dims->h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int32_t y0 = mcc_max_i32(iy0, 0), y1 = mcc_min_i32(iy0 + p->filter_h, in_dims->h);
            for (ox = 0; ox < out_dims->w; ox++) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int32_t x0 = mcc_max_i32(ix0, 0), x1 = mcc_min_i32(ix0 + p->filter_w, in_dims->w);
                const int32_t count = mcc_max_i32(y1 - y0, 0) * mcc_max_i32(x1 - x0, 0);
                int16_t *dst = out + ((b * out_dims->h + oy) * out_dims->w + ox) * out_dims->c;
                for (c = 0; c < in_dims->c; c++) {
                    int32_t acc = is_max ? -32768 : 0, v;
                    for (y = y0; y < y1; y++) {
                        const int16_t *row = in + ((b * in_dims->h + y) * in_dims->w) * in_dims->c + c;
                        for (x = x0; x < x1; x++) {
                            const int32_t s = row[x * in_dims->c];
                            acc = is_max ? mcc_max_i32(acc, s) : acc + s;
                        }
                    }
                    if (is_max) {
                        v = acc;
                    } else if (count == 0) {
                        return MCC_ARG_ERROR; /* TFLM divides by zero here; padding never covers a whole window */
                    } else {
                        v = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    dst[c] = (int16_t)mcc_clamp_i32(v, p->act_min, p->act_max);
                }
            }
        }
    }
    return MCC_OK;
}

/**
 * MAX_POOL_2D int16 (see mcc_nn.h).
 * @param p filter >= 1, stride >= 1, pad >= 0, -32768 <= act_min <= act_max <= 32767
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_maxpool_s16(const mcc_pool_params *p, const mcc_dims *in_dims, const int16_t *in,
                           const mcc_dims *out_dims, int16_t *out)
{
    return pool(p, in_dims, in, out_dims, out, 1);
}

/**
 * AVERAGE_POOL_2D int16 (see mcc_nn.h); every window must hold at least one input value.
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_avgpool_s16(const mcc_pool_params *p, const mcc_dims *in_dims, const int16_t *in,
                           const mcc_dims *out_dims, int16_t *out)
{
    return pool(p, in_dims, in, out_dims, out, 0);
}
