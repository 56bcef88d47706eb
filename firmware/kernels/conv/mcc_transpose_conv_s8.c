/**
 * @file mcc_transpose_conv_s8.c
 * @brief TRANSPOSE_CONV int8 (bit-exact with TFLM's reference_integer_ops::TransposeConv).
 *
 * TFLM scatters every input pixel into an int32 buffer the size of the output. This kernel gathers
 * instead, so its only scratch is the requantization table of mcc_matmul.h (16 bytes per output
 * channel, optional): output pixel (oy, ox) receives input pixel (iy, ix) through tap
 * (ky, kx) = (oy + pad_h - iy * stride_h, ox + pad_w - ix * stride_w) whenever that tap lies inside the
 * filter. Each such pair adds the dot product of the input's C_in values (plus input_offset) with the
 * filter row [oc][ky][kx][:], the same integer terms TFLM adds, so the int32 sum is identical. Bias,
 * per-channel requantization, output offset and the activation clamp then follow TFLM's order.
 *
 * Four output channels share each widened input group; with the DSP extension four input channels take
 * two SMLAD per output channel.
 */
#include <stddef.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_matmul.h"
#include "mcc_nn.h"

/** Accumulators of four output channels (the last ones repeat when fewer remain). */
typedef struct {
    int32_t a0, a1, a2, a3;
} acc4;

/** acc.aj += sum_i (x[i] + off) * wj[i] for j = 0..3, i < n. */
static MCC_ALWAYS_INLINE void dot4(const int8_t *x, const int8_t *w0, const int8_t *w1, const int8_t *w2,
                                   const int8_t *w3, int32_t n, int32_t off, acc4 *acc)
{
    int32_t a0 = acc->a0, a1 = acc->a1, a2 = acc->a2, a3 = acc->a3;
#if defined(MCC_DSP)
    const int32_t off2 = (int32_t)(((uint32_t)(uint16_t)off << 16) | (uint32_t)(uint16_t)off);
    for (; n >= 4; n -= 4, x += 4, w0 += 4, w1 += 4, w2 += 4, w3 += 4) {
        const int32_t xv = mcc_read_s8x4(x);
        const int32_t x02 = mcc_sxtab16(off2, xv), x13 = mcc_sxtab16_ror8(off2, xv);
        int32_t v = mcc_read_s8x4(w0);
        a0 = mcc_smlad(x02, mcc_sxtb16(v), a0);
        a0 = mcc_smlad(x13, mcc_sxtb16_ror8(v), a0);
        v = mcc_read_s8x4(w1);
        a1 = mcc_smlad(x02, mcc_sxtb16(v), a1);
        a1 = mcc_smlad(x13, mcc_sxtb16_ror8(v), a1);
        v = mcc_read_s8x4(w2);
        a2 = mcc_smlad(x02, mcc_sxtb16(v), a2);
        a2 = mcc_smlad(x13, mcc_sxtb16_ror8(v), a2);
        v = mcc_read_s8x4(w3);
        a3 = mcc_smlad(x02, mcc_sxtb16(v), a3);
        a3 = mcc_smlad(x13, mcc_sxtb16_ror8(v), a3);
    }
#endif
    for (; n > 0; n--) {
        const int32_t v = *x++ + off;
        a0 += v * *w0++;
        a1 += v * *w1++;
        a2 += v * *w2++;
        a3 += v * *w3++;
    }
    acc->a0 = a0;
    acc->a1 = a1;
    acc->a2 = a2;
    acc->a3 = a3;
}

/** First input index whose taps reach output position t (t - index * stride <= k - 1), at least 0. */
static int32_t first_input(int32_t t, int32_t k, int32_t stride)
{
    const int32_t d = t - k + 1;
    return d <= 0 ? 0 : (d + stride - 1) / stride;
}

/** Requantized, clamped output of channel oc: the fast table when prepared, else TFLite's generic code. */
static MCC_ALWAYS_INLINE int8_t requantize(const mcc_mm *m, int32_t oc, int32_t acc)
{
    const int32_t v = m->rq != NULL ? mcc_rq_apply_post(&m->rq[oc], acc)
                                    : mcc_rq_generic(acc, m->mult[oc], m->shift[oc], m->out_offset);
    return mcc_rq_clamp(v, m->lo, m->hi);
}

/**
 * Scratch size of mcc_transpose_conv_s8: the requantization table, 16 bytes per output channel.
 * @param filter_dims [C_out, KH, KW, C_in]
 * @return bytes (the buffer must be 4-byte aligned)
 */
int32_t mcc_transpose_conv_s8_get_buffer_size(const mcc_dims *filter_dims)
{
    return mcc_mm_table_bytes(filter_dims->n);
}

/**
 * TRANSPOSE_CONV, any filter size, stride and padding (dilation 1).
 * @param ctx         scratch of mcc_transpose_conv_s8_get_buffer_size() bytes, 4-byte aligned (the
 *                    requantization table); NULL or smaller takes the generic requantization
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
    int32_t cin, kh, kw, cout, oc_stride;
    mcc_mm m;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        out_dims == NULL || out == NULL || filter_dims->c != in_dims->c || out_dims->c != filter_dims->n ||
        out_dims->n != in_dims->n || p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0) {
        return MCC_ARG_ERROR;
    }
    cin = in_dims->c;
    kh = filter_dims->h;
    kw = filter_dims->w;
    cout = filter_dims->n;
    oc_stride = kh * kw * cin;
    m.cout = cout;
    m.lo = p->act_min;
    m.hi = p->act_max;
    mcc_mm_prepare(&m, q, p->output_offset,
                   ctx != NULL && ctx->buf != NULL && ctx->size >= mcc_transpose_conv_s8_get_buffer_size(filter_dims)
                       ? (mcc_rq *)ctx->buf
                       : NULL);
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
                for (oc = 0; oc < cout; oc += 4) {
                    const int32_t left = cout - oc; /* channels of this group: 4, or 1 to 3 at the end */
                    const int8_t *w0 = filter + oc * oc_stride;
                    const int8_t *w1 = left > 1 ? w0 + oc_stride : w0;
                    const int8_t *w2 = left > 2 ? w1 + oc_stride : w1;
                    const int8_t *w3 = left > 3 ? w2 + oc_stride : w2;
                    acc4 acc;
                    acc.a0 = bias != NULL ? bias[oc] : 0;
                    acc.a1 = bias != NULL && left > 1 ? bias[oc + 1] : 0;
                    acc.a2 = bias != NULL && left > 2 ? bias[oc + 2] : 0;
                    acc.a3 = bias != NULL && left > 3 ? bias[oc + 3] : 0;
                    for (iy = iy_lo; iy <= iy_hi; iy++) {
                        const int8_t *row = image + iy * in_dims->w * cin;
                        const int32_t k_row = (ty - iy * p->stride_h) * kw;
                        for (ix = ix_lo; ix <= ix_hi; ix++) {
                            const int32_t k = (k_row + tx - ix * p->stride_w) * cin;
                            dot4(row + ix * cin, w0 + k, w1 + k, w2 + k, w3 + k, cin, p->input_offset, &acc);
                        }
                    }
                    dst[oc] = requantize(&m, oc, acc.a0);
                    if (left > 1) {
                        dst[oc + 1] = requantize(&m, oc + 1, acc.a1);
                    }
                    if (left > 2) {
                        dst[oc + 2] = requantize(&m, oc + 2, acc.a2);
                    }
                    if (left > 3) {
                        dst[oc + 3] = requantize(&m, oc + 3, acc.a3);
                    }
                }
            }
        }
    }
    return MCC_OK;
}
