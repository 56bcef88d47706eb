/**
 * @file mcc_maxpool_s8.c
 * @brief MAX_POOL_2D int8 (bit-exact with TFLM's reference_integer_ops::MaxPool). No scratch.
 *
 * Each window is clipped to the input; the maximum starts at -128 and is clamped to [act_min, act_max].
 * Channels go four at a time: with the DSP extension a single SSUB8 + SEL pair takes the byte-wise
 * maximum of four channels per tap, and the clamp is done the same way before one word store.
 */
#include <stddef.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/**
 * MAX_POOL_2D int8 (see mcc_nn.h).
 * @param p        filter >= 1, stride >= 1, pad >= 0 (before; padding after implied by out_dims),
 *                 -128 <= act_min <= act_max <= 127
 * @param in_dims  [N, H, W, C]
 * @param in       input tensor, NHWC
 * @param out_dims [N, OH, OW, C]
 * @param out      output tensor, NHWC (a window entirely in the padding yields act_min)
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_maxpool_s8(const mcc_pool_params *p, const mcc_dims *in_dims, const int8_t *in,
                          const mcc_dims *out_dims, int8_t *out)
{
    int32_t b, oy, ox;
    const int32_t ch = in_dims != NULL ? in_dims->c : 0;
#if defined(MCC_DSP)
    int32_t lo4 = 0, hi4 = 0;
#endif
    if (p == NULL || in_dims == NULL || in == NULL || out_dims == NULL || out == NULL || out_dims->c != ch ||
        out_dims->n != in_dims->n || p->filter_h < 1 || p->filter_w < 1 || p->stride_h < 1 || p->stride_w < 1 ||
        p->pad_h < 0 || p->pad_w < 0) {
        return MCC_ARG_ERROR;
    }
#if defined(MCC_DSP)
    lo4 = (int32_t)(((uint32_t)p->act_min & 0xFFu) * 0x01010101u);
    hi4 = (int32_t)(((uint32_t)p->act_max & 0xFFu) * 0x01010101u);
#endif
    for (b = 0; b < out_dims->n; b++) {
        const int8_t *in_b = in + b * in_dims->h * in_dims->w * ch;
        for (oy = 0; oy < out_dims->h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int32_t y0 = mcc_max_i32(iy0, 0), y1 = mcc_min_i32(iy0 + p->filter_h, in_dims->h);
            for (ox = 0; ox < out_dims->w; ox++) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int32_t x0 = mcc_max_i32(ix0, 0), x1 = mcc_min_i32(ix0 + p->filter_w, in_dims->w);
                const int32_t rows = mcc_max_i32(y1 - y0, 0), cols = mcc_max_i32(x1 - x0, 0);
                const int32_t row_step = in_dims->w * ch;
                const int8_t *win = rows > 0 && cols > 0 ? in_b + (y0 * in_dims->w + x0) * ch : in_b;
                int8_t *o = out + ((b * out_dims->h + oy) * out_dims->w + ox) * ch;
                int32_t c = 0, r, t;
                for (; c + 4 <= ch; c += 4) {
                    const int8_t *row = win + c;
#if defined(MCC_DSP)
                    int32_t m = (int32_t)0x80808080u;
                    for (r = 0; r < rows; r++, row += row_step) {
                        const int8_t *x = row;
                        for (t = 0; t < cols; t++, x += ch) {
                            m = mcc_max_s8x4(m, mcc_read_s8x4(x));
                        }
                    }
                    mcc_write_s8x4(o + c, mcc_min_s8x4(mcc_max_s8x4(m, lo4), hi4));
#else
                    int32_t m0 = -128, m1 = -128, m2 = -128, m3 = -128;
                    for (r = 0; r < rows; r++, row += row_step) {
                        const int8_t *x = row;
                        for (t = 0; t < cols; t++, x += ch) {
                            m0 = mcc_max_i32(m0, x[0]);
                            m1 = mcc_max_i32(m1, x[1]);
                            m2 = mcc_max_i32(m2, x[2]);
                            m3 = mcc_max_i32(m3, x[3]);
                        }
                    }
                    o[c] = (int8_t)mcc_clamp_i32(m0, p->act_min, p->act_max);
                    o[c + 1] = (int8_t)mcc_clamp_i32(m1, p->act_min, p->act_max);
                    o[c + 2] = (int8_t)mcc_clamp_i32(m2, p->act_min, p->act_max);
                    o[c + 3] = (int8_t)mcc_clamp_i32(m3, p->act_min, p->act_max);
#endif
                }
                for (; c < ch; c++) {
                    const int8_t *row = win + c;
                    int32_t m = -128;
                    for (r = 0; r < rows; r++, row += row_step) {
                        const int8_t *x = row;
                        for (t = 0; t < cols; t++, x += ch) {
                            m = mcc_max_i32(m, *x);
                        }
                    }
                    o[c] = (int8_t)mcc_clamp_i32(m, p->act_min, p->act_max);
                }
            }
        }
    }
    return MCC_OK;
}
