/**
 * @file mcc_conv_s16.c
 * @brief CONV_2D and DEPTHWISE_CONV_2D 16x8: int16 input and output (zero point 0), int8 weights,
 *        bit-exact with TFLM's reference_integer_ops::ConvPerChannel / DepthwiseConvPerChannel for int16.
 *
 * Each output value is one window sum over the taps inside the input (padding adds nothing, the input
 * zero point being 0), accumulated in 64 bits, plus the bias, requantized (mcc_s16.h). Plain C, no scratch.
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

/**
 * CONV_2D 16x8 (see mcc_nn.h).
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
            for (ox = 0; ox < out_dims->w; ox++) {
                int16_t *dst = out + ((b * out_dims->h + oy) * out_dims->w + ox) * out_dims->c;
                for (o = 0; o < out_dims->c; o++) {
                    int64_t acc = 0;
                    for (ky = 0; ky < filter_dims->h; ky++) {
                        const int32_t iy = oy * p->stride_h - p->pad_h + ky * p->dilation_h;
                        if (iy < 0 || iy >= in_dims->h) {
                            continue;
                        }
                        for (kx = 0; kx < filter_dims->w; kx++) {
                            const int32_t ix = ox * p->stride_w - p->pad_w + kx * p->dilation_w;
                            const int16_t *x;
                            const int8_t *w;
                            int32_t sum = 0; /* one tap: |sum| <= C * 2^22, below 2^31 for C < 512 */
                            if (ix < 0 || ix >= in_dims->w) {
                                continue;
                            }
                            x = in + ((b * in_dims->h + iy) * in_dims->w + ix) * in_dims->c;
                            w = filter + ((o * filter_dims->h + ky) * filter_dims->w + kx) * filter_dims->c;
                            if (in_dims->c < 512) {
                                for (c = 0; c < in_dims->c; c++) {
                                    sum += x[c] * w[c];
                                }
                                acc += sum;
                            } else {
                                for (c = 0; c < in_dims->c; c++) {
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
            for (ox = 0; ox < out_dims->w; ox++) {
                int16_t *dst = out + ((b * out_dims->h + oy) * out_dims->w + ox) * out_dims->c;
                for (o = 0; o < out_dims->c; o++) {
                    int64_t acc = 0;
                    for (ky = 0; ky < filter_dims->h; ky++) {
                        const int32_t iy = oy * p->stride_h - p->pad_h + ky * p->dilation_h;
                        if (iy < 0 || iy >= in_dims->h) {
                            continue;
                        }
                        for (kx = 0; kx < filter_dims->w; kx++) {
                            const int32_t ix = ox * p->stride_w - p->pad_w + kx * p->dilation_w;
                            if (ix < 0 || ix >= in_dims->w) {
                                continue;
                            }
                            acc += (int32_t)in[((b * in_dims->h + iy) * in_dims->w + ix) * in_dims->c + o / m] *
                                   filter[(ky * filter_dims->w + kx) * filter_dims->c + o];
                        }
                    }
                    dst[o] = mcc_requant_s16(acc + bias[o], 0, q->multiplier[o], q->shift[o], p->output_offset,
                                             p->act_min, p->act_max);
                }
            }
        }
    }
    return MCC_OK;
}
