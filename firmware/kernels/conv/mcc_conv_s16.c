/**
 * @file mcc_conv_s16.c
 * @brief CONV_2D and DEPTHWISE_CONV_2D 16x8: int16 input and output (zero point 0), int8 weights,
 *        bit-exact with TFLM's reference_integer_ops::ConvPerChannel / DepthwiseConvPerChannel for int16.
 *
 * Each output value is one window sum over the taps inside the input (padding adds nothing, the input
 * zero point being 0; each output pixel's window is clipped to the input once), partial sums in int32,
 * accumulated in 64 bits, plus the bias, requantized (mcc_s16.h). Plain C, no scratch.
 */
#include <stddef.h>

#include "mcc_nn.h"
#include "mcc_s16.h"

static int32_t bad_args(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                        const void *in, const mcc_dims *filter_dims, const void *filter, const void *bias,
                        const mcc_dims *out_dims, const void *out)
{
    return p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
           bias == NULL || out_dims == NULL || out == NULL || p->stride_h < 1 || p->stride_w < 1 ||
           p->dilation_h < 1 || p->dilation_w < 1 || p->pad_h < 0 || p->pad_w < 0 || in_dims->n != out_dims->n;
}

/** Taps [k0, k1) of a filter axis (size k, dilation d) that land inside [0, n) from input origin o. */
static void clip_taps(int32_t o, int32_t d, int32_t k, int32_t n, int32_t *k0, int32_t *k1)
{
    int32_t t0 = 0, t1 = k;
    while (t0 < k && o + t0 * d < 0) {
        t0++;
    }
    while (t1 > t0 && o + (t1 - 1) * d >= n) {
        t1--;
    }
    *k0 = t0;
    *k1 = t1;
}

/**
 * CONV_2D 16x8 (see mcc_nn.h). Each output pixel's window is clipped to the input once; a tap's sum over
 * the input channels runs in int32 (|sum| <= C * 2^22 < 2^31 for C < 512), taps add up in int64.
 * @param p     strides, padding, dilation, clamp in [-32768, 32767]; offsets 0 (symmetric int16)
 * @param acc32 1: int32 bias (TFLM's 32-bit accumulator), 0: int64 bias
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_convolve_s16(const mcc_conv_params *p, const mcc_per_channel_quant *q, int32_t acc32,
                            const mcc_dims *in_dims, const int16_t *in, const mcc_dims *filter_dims,
                            const int8_t *filter, const int64_t *bias, const mcc_dims *out_dims, int16_t *out)
{
    int32_t b, oy, ox, o, ky, kx, c;
    if (bad_args(p, q, in_dims, in, filter_dims, filter, bias, out_dims, out) || filter_dims->c != in_dims->c ||
        filter_dims->n != out_dims->c) {
        return MCC_ARG_ERROR;
    }
    for (b = 0; b < out_dims->n; b++) {
        for (oy = 0; oy < out_dims->h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t ky0, ky1;
            clip_taps(iy0, p->dilation_h, filter_dims->h, in_dims->h, &ky0, &ky1);
            for (ox = 0; ox < out_dims->w; ox++) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int32_t ch = in_dims->c;
                int16_t *dst = out + ((b * out_dims->h + oy) * out_dims->w + ox) * out_dims->c;
                int32_t kx0, kx1;
                clip_taps(ix0, p->dilation_w, filter_dims->w, in_dims->w, &kx0, &kx1);
                for (o = 0; o < out_dims->c; o++) {
                    int64_t acc = 0;
                    for (ky = ky0; ky < ky1; ky++) {
                        /* both pointers start at the first in-image tap: no pointer leaves its array */
                        const int16_t *x = in + ((b * in_dims->h + iy0 + ky * p->dilation_h) * in_dims->w + ix0 +
                                                 kx0 * p->dilation_w) * ch;
                        const int8_t *w = filter + ((o * filter_dims->h + ky) * filter_dims->w + kx0) * ch;
                        for (kx = kx0; kx < kx1; kx++, x += p->dilation_w * ch, w += ch) {
                            if (ch < 512) {
                                int32_t sum = 0;
                                for (c = 0; c < ch; c++) {
                                    sum += x[c] * w[c];
                                }
                                acc += sum;
                            } else {
                                for (c = 0; c < ch; c++) {
                                    acc += (int32_t)x[c] * w[c];
                                }
                            }
                        }
                    }
                    dst[o] = mcc_requant_s16(acc + bias[o], acc32, q->multiplier[o], q->shift[o], p->output_offset,
                                             p->act_min, p->act_max);
                }
            }
        }
    }
    return MCC_OK;
}

/**
 * DEPTHWISE_CONV_2D 16x8 (see mcc_nn.h): output channel c*M+m reads input channel c (int64 bias only, as TFLM).
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_depthwise_conv_s16(const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                  const mcc_dims *in_dims, const int16_t *in, const mcc_dims *filter_dims,
                                  const int8_t *filter, const int64_t *bias, const mcc_dims *out_dims, int16_t *out)
{
    int32_t b, oy, ox, o, ky, kx;
    const int32_t m = p != NULL ? p->depth_multiplier : 0;
    if (bad_args(p, q, in_dims, in, filter_dims, filter, bias, out_dims, out) || m < 1 ||
        in_dims->c * m != out_dims->c || filter_dims->c != out_dims->c) {
        return MCC_ARG_ERROR;
    }
    for (b = 0; b < out_dims->n; b++) {
        for (oy = 0; oy < out_dims->h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t ky0, ky1;
            clip_taps(iy0, p->dilation_h, filter_dims->h, in_dims->h, &ky0, &ky1);
            for (ox = 0; ox < out_dims->w; ox++) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int16_t *dst = out + ((b * out_dims->h + oy) * out_dims->w + ox) * out_dims->c;
                int32_t kx0, kx1;
                clip_taps(ix0, p->dilation_w, filter_dims->w, in_dims->w, &kx0, &kx1);
                for (o = 0; o < out_dims->c; o++) {
                    int64_t wide = 0;
                    for (ky = ky0; ky < ky1; ky++) {
                        const int16_t *x = in + ((b * in_dims->h + iy0 + ky * p->dilation_h) * in_dims->w + ix0 +
                                                 kx0 * p->dilation_w) * in_dims->c + o / m;
                        const int8_t *w = filter + (ky * filter_dims->w + kx0) * filter_dims->c + o;
                        int32_t acc = 0; /* one filter row: KW products of |x * w| <= 2^22, int32 for KW < 512 */
                        for (kx = kx0; kx < kx1; kx++, x += p->dilation_w * in_dims->c, w += filter_dims->c) {
                            acc += *x * *w;
                        }
                        wide += acc;
                    }
                    dst[o] = mcc_requant_s16(wide + bias[o], 0, q->multiplier[o], q->shift[o], p->output_offset,
                                             p->act_min, p->act_max);
                }
            }
        }
    }
    return MCC_OK;
}
