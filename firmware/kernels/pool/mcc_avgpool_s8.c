/**
 * @file mcc_avgpool_s8.c
 * @brief AVERAGE_POOL_2D int8 (bit-exact with TFLM's reference_integer_ops::AveragePool). No scratch.
 *
 * Each window is clipped to the input and only the taps inside are counted; the sum is divided by the
 * count rounding half away from zero, as TFLM does. Channels are summed four at a time; with the DSP
 * extension and at most 256 taps per window the four sums live in the int16 lanes of two registers
 * (one load and two SXTAB16 per tap for four channels), which cannot overflow: 256 * 128 = 2^15.
 */
#include <stddef.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"
#include "mcc_variants.h"

/* The four-channel int32 loop: every window without the DSP extension; with it, only windows of > 256 taps,
 * where the build carries them (mcc_variants.h; else the channel-by-channel loop sums them). */
#if !defined(MCC_DSP) || MCC_AVGPOOL_WIDE
#define FOUR_CHANNELS 1
#else
#define FOUR_CHANNELS 0
#endif

/** TFLM's rounded division of a window sum by its tap count (once per output, out of line: code size). */
static MCC_NOINLINE int8_t average(int32_t sum, int32_t count, int32_t lo, int32_t hi)
{
    const int32_t half = count / 2;
    const int32_t avg = sum > 0 ? (sum + half) / count : (sum - half) / count;
    return (int8_t)mcc_clamp_i32(avg, lo, hi);
}

/**
 * AVERAGE_POOL_2D int8 (see mcc_nn.h).
 * @param p        filter >= 1, stride >= 1, pad >= 0 (before; padding after implied by out_dims),
 *                 -128 <= act_min <= act_max <= 127
 * @param in_dims  [N, H, W, C]
 * @param in       input tensor, NHWC
 * @param out_dims [N, OH, OW, C]; every window must overlap the input (true when pad < filter size)
 * @param out      output tensor, NHWC
 * @return MCC_OK, or MCC_ARG_ERROR (also when a window lies entirely in the padding)
 */
mcc_status mcc_avgpool_s8(const mcc_pool_params *p, const mcc_dims *in_dims, const int8_t *in,
                          const mcc_dims *out_dims, int8_t *out)
{
    int32_t b, oy, ox;
    const int32_t ch = in_dims != NULL ? in_dims->c : 0;
    if (p == NULL || in_dims == NULL || in == NULL || out_dims == NULL || out == NULL || out_dims->c != ch ||
        out_dims->n != in_dims->n || p->filter_h < 1 || p->filter_w < 1 || p->stride_h < 1 || p->stride_w < 1 ||
        p->pad_h < 0 || p->pad_w < 0) {
        return MCC_ARG_ERROR;
    }
    for (b = 0; b < out_dims->n; b++) {
        const int8_t *in_b = in + b * in_dims->h * in_dims->w * ch;
        for (oy = 0; oy < out_dims->h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int32_t y0 = mcc_max_i32(iy0, 0), y1 = mcc_min_i32(iy0 + p->filter_h, in_dims->h);
            for (ox = 0; ox < out_dims->w; ox++) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int32_t x0 = mcc_max_i32(ix0, 0), x1 = mcc_min_i32(ix0 + p->filter_w, in_dims->w);
                const int32_t rows = y1 - y0, cols = x1 - x0, count = rows * cols;
                const int32_t row_step = in_dims->w * ch;
                int8_t *o = out + ((b * out_dims->h + oy) * out_dims->w + ox) * ch;
                const int8_t *win;
                int32_t c = 0, r, t;
                if (rows <= 0 || cols <= 0) {
                    return MCC_ARG_ERROR;
                }
                win = in_b + (y0 * in_dims->w + x0) * ch;
#if defined(MCC_DSP)
                if (count <= 256) {
                    for (; c + 4 <= ch; c += 4) {
                        const int8_t *row = win + c;
                        int32_t s02 = 0, s13 = 0;
                        for (r = 0; r < rows; r++, row += row_step) {
                            const int8_t *x = row;
                            for (t = 0; t < cols; t++, x += ch) {
                                const int32_t v = mcc_read_s8x4(x);
                                s02 = mcc_sxtab16(s02, v);
                                s13 = mcc_sxtab16_ror8(s13, v);
                            }
                        }
                        o[c] = average((int16_t)(uint16_t)((uint32_t)s02 & 0xFFFFu), count, p->act_min, p->act_max);
                        o[c + 1] = average((int16_t)(uint16_t)((uint32_t)s13 & 0xFFFFu), count, p->act_min, p->act_max);
                        o[c + 2] = average(s02 >> 16, count, p->act_min, p->act_max);
                        o[c + 3] = average(s13 >> 16, count, p->act_min, p->act_max);
                    }
                }
#endif
                for (; FOUR_CHANNELS && c + 4 <= ch; c += 4) {
                    const int8_t *row = win + c;
                    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                    for (r = 0; r < rows; r++, row += row_step) {
                        const int8_t *x = row;
                        for (t = 0; t < cols; t++, x += ch) {
                            s0 += x[0];
                            s1 += x[1];
                            s2 += x[2];
                            s3 += x[3];
                        }
                    }
                    o[c] = average(s0, count, p->act_min, p->act_max);
                    o[c + 1] = average(s1, count, p->act_min, p->act_max);
                    o[c + 2] = average(s2, count, p->act_min, p->act_max);
                    o[c + 3] = average(s3, count, p->act_min, p->act_max);
                }
                for (; c < ch; c++) {
                    const int8_t *row = win + c;
                    int32_t s = 0;
                    for (r = 0; r < rows; r++, row += row_step) {
                        const int8_t *x = row;
                        for (t = 0; t < cols; t++, x += ch) {
                            s += *x;
                        }
                    }
                    o[c] = average(s, count, p->act_min, p->act_max);
                }
            }
        }
    }
    return MCC_OK;
}
