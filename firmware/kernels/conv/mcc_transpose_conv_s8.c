/**
 * @file mcc_transpose_conv_s8.c
 * @brief TRANSPOSE_CONV int8 (bit-exact with TFLM's reference_integer_ops::TransposeConv).
 *
 * TFLM scatters every input pixel into an int32 buffer the size of the output. This kernel gathers
 * instead, so it needs no scratch: output pixel (oy, ox) receives input pixel (iy, ix) through tap
 * (ky, kx) = (oy + pad_h - iy * stride_h, ox + pad_w - ix * stride_w) whenever that tap lies inside the
 * filter. Each such pair adds the dot product of the input's C_in values (plus input_offset) with the
 * filter row [oc][ky][kx][:], the same integer terms TFLM adds, so the int32 sum is identical. Bias,
 * per-channel requantization, output offset and the activation clamp then follow TFLM's order.
 *
 * Two output channels share each widened input group; with the DSP extension four input channels take
 * two SMLAD per output channel.
 */
#include <stddef.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/** acc0 += sum_i (x[i] + off) * w0[i], acc1 likewise with w1 (w1 may equal w0 for a single channel). */
static MCC_ALWAYS_INLINE void dot2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t off,
                                   int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = *acc0, a1 = *acc1;
#if defined(MCC_DSP)
    const int32_t off2 = (int32_t)(((uint32_t)(uint16_t)off << 16) | (uint32_t)(uint16_t)off);
    for (; n >= 4; n -= 4, x += 4, w0 += 4, w1 += 4) {
        const int32_t xv = mcc_read_s8x4(x);
        const int32_t x02 = mcc_sxtab16(off2, xv), x13 = mcc_sxtab16_ror8(off2, xv);
        const int32_t v0 = mcc_read_s8x4(w0), v1 = mcc_read_s8x4(w1);
        a0 = mcc_smlad(x02, mcc_sxtb16(v0), a0);
        a0 = mcc_smlad(x13, mcc_sxtb16_ror8(v0), a0);
        a1 = mcc_smlad(x02, mcc_sxtb16(v1), a1);
        a1 = mcc_smlad(x13, mcc_sxtb16_ror8(v1), a1);
    }
#endif
    for (; n > 0; n--) {
        const int32_t v = *x++ + off;
        a0 += v * *w0++;
        a1 += v * *w1++;
    }
    *acc0 = a0;
    *acc1 = a1;
}

/** First input index whose taps reach output position t (t - index * stride <= k - 1), at least 0. */
static int32_t first_input(int32_t t, int32_t k, int32_t stride)
{
    const int32_t d = t - k + 1;
    return d <= 0 ? 0 : (d + stride - 1) / stride;
}

static int8_t requantize(int32_t acc, int32_t oc, const mcc_per_channel_quant *q, const mcc_conv_params *p)
{
    acc = mcc_multiply_by_quantized_multiplier(acc, q->multiplier[oc], q->shift[oc]) + p->output_offset;
    return (int8_t)mcc_clamp_i32(acc, p->act_min, p->act_max);
}

/**
 * TRANSPOSE_CONV, any filter size, stride and padding (dilation 1).
 * @param ctx         unused (no scratch); may be NULL
 * @param p           input_offset in [-127, 128], output_offset in [-128, 127], stride_h/w >= 1, pad_h/w >= 0
 *                    (TFLite's top/left padding), act_min <= act_max in [-128, 127]; dilation and
 *                    depth_multiplier unused
 * @param q           per-output-channel multiplier/shift (C_out entries)
 * @param in_dims     [N, H, W, C_in], all >= 1
 * @param in          input tensor, NHWC
 * @param filter_dims [C_out, KH, KW, C_in]
 * @param filter      filter tensor, OHWI, zero point 0
 * @param bias        [C_out] int32, or NULL
 * @param out_dims    [N, OH, OW, C_out]; output rows beyond the reach of every input get the bias only
 * @param out         output tensor, NHWC
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_transpose_conv_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                 const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                 const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out)
{
    int32_t b, oy, ox, oc, iy, ix;
    int32_t cin, kh, kw, cout, tap, oc_stride;
    (void)ctx;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        out_dims == NULL || out == NULL || filter_dims->c != in_dims->c || out_dims->c != filter_dims->n ||
        out_dims->n != in_dims->n || p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0) {
        return MCC_ARG_ERROR;
    }
    cin = in_dims->c;
    kh = filter_dims->h;
    kw = filter_dims->w;
    cout = filter_dims->n;
    tap = cin;
    oc_stride = kh * kw * cin;
    for (b = 0; b < out_dims->n; b++) {
        const int8_t *image = in + b * in_dims->h * in_dims->w * cin;
        for (oy = 0; oy < out_dims->h; oy++) {
            const int32_t ty = oy + p->pad_h;
            const int32_t iy_lo = first_input(ty, kh, p->stride_h);
            const int32_t iy_hi = mcc_min_i32(in_dims->h - 1, ty / p->stride_h);
            for (ox = 0; ox < out_dims->w; ox++) {
                const int32_t tx = ox + p->pad_w;
                const int32_t ix_lo = first_input(tx, kw, p->stride_w);
                const int32_t ix_hi = mcc_min_i32(in_dims->w - 1, tx / p->stride_w);
                int8_t *dst = out + ((b * out_dims->h + oy) * out_dims->w + ox) * cout;
                for (oc = 0; oc < cout; oc += 2) {
                    const int32_t pair = oc + 1 < cout; /* a second channel to compute alongside */
                    const int8_t *w0 = filter + oc * oc_stride;
                    const int8_t *w1 = pair ? w0 + oc_stride : w0;
                    int32_t acc0 = bias != NULL ? bias[oc] : 0;
                    int32_t acc1 = bias != NULL && pair ? bias[oc + 1] : 0;
                    for (iy = iy_lo; iy <= iy_hi; iy++) {
                        const int32_t ky = ty - iy * p->stride_h;
                        for (ix = ix_lo; ix <= ix_hi; ix++) {
                            const int32_t k = (ky * kw + tx - ix * p->stride_w) * tap;
                            dot2(image + (iy * in_dims->w + ix) * cin, w0 + k, w1 + k, cin, p->input_offset,
                                 &acc0, &acc1);
                        }
                    }
                    dst[oc] = requantize(acc0, oc, q, p);
                    if (pair) {
                        dst[oc + 1] = requantize(acc1, oc + 1, q, p);
                    }
                }
            }
        }
    }
    return MCC_OK;
}
