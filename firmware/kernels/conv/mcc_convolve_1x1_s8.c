/**
 * @file mcc_convolve_1x1_s8.c
 * @brief CONV_2D int8 with a 1x1 filter, no padding and dilation 1 (any stride); bit-exact with TFLM's
 *        reference_integer_ops::ConvPerChannel. Faster with a small scratch buffer, works without.
 *
 * A 1x1 convolution is a matrix product of the input pixels [P, C_in] with the filter [C_out, C_in].
 * With a scratch buffer (mcc_convolve_1x1_s8_get_buffer_size()) two pixels at a time are widened to
 * int16 with the input offset added and every output channel is computed from them as in the generic
 * convolution (mcc_matmul.h: SMLAD on LDRD'd int16 pairs, a precomputed requantization table).
 *
 * Without scratch (ctx NULL or too small) the loops run over pairs of output channels, then over pairs
 * of pixels, four int32 accumulators each, on the int8 tensors directly. The input offset is folded
 * into the accumulator start value, bias + input_offset * sum(filter row), computed once per channel,
 * so the inner loop multiplies raw int8 values: with the DSP extension, SXTB16 of four input and four
 * filter bytes feeds SMLAD (20 instructions per 16 MACs before loop overhead). Accumulators are int32
 * and, as in TFLM, must not overflow.
 */
#include <stddef.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_matmul.h"
#include "mcc_mve_kernels.h"
#include "mcc_nn.h"
#include "mcc_variants.h"

/** acc[0..3] += (w0.x0, w0.x1, w1.x0, w1.x1) over k values. */
static void dot_2x2_s8(const int8_t *w0, const int8_t *w1, const int8_t *x0, const int8_t *x1, int32_t k,
                       int32_t *acc)
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t n;
#if defined(MCC_DSP)
    for (n = k >> 2; n > 0; n--) {
        const int32_t wa = mcc_read_s8x4(w0), wb = mcc_read_s8x4(w1);
        const int32_t xa = mcc_read_s8x4(x0), xb = mcc_read_s8x4(x1);
        const int32_t xa02 = mcc_sxtb16(xa), xa13 = mcc_sxtb16_ror8(xa);
        const int32_t xb02 = mcc_sxtb16(xb), xb13 = mcc_sxtb16_ror8(xb);
        const int32_t wa02 = mcc_sxtb16(wa), wa13 = mcc_sxtb16_ror8(wa);
        const int32_t wb02 = mcc_sxtb16(wb), wb13 = mcc_sxtb16_ror8(wb);
        w0 += 4;
        w1 += 4;
        x0 += 4;
        x1 += 4;
        a00 = mcc_smlad(wa02, xa02, a00);
        a01 = mcc_smlad(wa02, xb02, a01);
        a10 = mcc_smlad(wb02, xa02, a10);
        a11 = mcc_smlad(wb02, xb02, a11);
        a00 = mcc_smlad(wa13, xa13, a00);
        a01 = mcc_smlad(wa13, xb13, a01);
        a10 = mcc_smlad(wb13, xa13, a10);
        a11 = mcc_smlad(wb13, xb13, a11);
    }
    k &= 3;
#endif
    for (n = 0; n < k; n++) {
        const int32_t wa = *w0++, wb = *w1++, xa = *x0++, xb = *x1++;
        a00 += wa * xa;
        a01 += wa * xb;
        a10 += wb * xa;
        a11 += wb * xb;
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/** bias + input_offset * sum(row). */
static int32_t start_value(const int8_t *row, int32_t k, const int32_t *bias, int32_t oc, int32_t input_offset)
{
    int32_t sum = 0, i;
    for (i = 0; i < k; i++) {
        sum += row[i];
    }
    return (bias != NULL ? bias[oc] : 0) + input_offset * sum;
}

/** Requantize one accumulator to int8. */
static inline int8_t requant(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset, int32_t lo, int32_t hi)
{
    const int32_t v = mcc_multiply_by_quantized_multiplier(acc, mult, shift) + out_offset;
    return (int8_t)mcc_clamp_i32(v, lo, hi);
}

/** First input value of output pixel (b, oy, ox); advances the position to the next output pixel. */
static inline const int8_t *next_pixel(const int8_t *in, const mcc_dims *in_dims, const mcc_dims *out_dims,
                                       int32_t sh, int32_t sw, int32_t *b, int32_t *oy, int32_t *ox)
{
    const int8_t *px = in + ((*b * in_dims->h + *oy * sh) * in_dims->w + *ox * sw) * in_dims->c;
    if (++*ox == out_dims->w) {
        *ox = 0;
        if (++*oy == out_dims->h) {
            *oy = 0;
            ++*b;
        }
    }
    return px;
}

/** Bytes of the pair buffer (two pixels of C_in int16). */
static int32_t pair_bytes(const mcc_dims *in_dims) { return 2 * in_dims->c * (int32_t)sizeof(int16_t); }

/**
 * Scratch size of mcc_convolve_1x1_s8: two pixels of C_in int16, then the requantization table
 * (16 bytes per output channel).
 * @param in_dims     [N, H, W, C_in]
 * @param filter_dims [C_out, 1, 1, C_in]
 * @return bytes (the buffer must be 4-byte aligned)
 */
int32_t mcc_convolve_1x1_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims)
{
    return pair_bytes(in_dims) + mcc_mm_table_bytes(filter_dims->n);
}

/** Widen pixel `x` (k values) into slot `slot` of the pair buffer. */
static void fill_pixel(const int8_t *x, int32_t k, int32_t in_off, int16_t *buf, int32_t slot)
{
    const int32_t k4 = k & ~3, kt = k - k4;
    int16_t *tail = buf + 2 * k4 + slot * kt;
    int32_t t;
    mcc_mm_fill_groups(x, k4, in_off, buf, slot, 0);
    for (t = 0; t < kt; t++) {
        tail[t] = (int16_t)(x[k4 + t] + in_off);
    }
}

/** The scratch path: pixel pairs through the matrix product of mcc_matmul.h (MCC_NOT_BUILT when it needs
 * mcc_mm_run's general loop and the build left it out). */
static mcc_status conv_1x1_pairs(const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                 const mcc_dims *in_dims, const int8_t *in, const int8_t *filter, const int32_t *bias,
                                 const mcc_dims *out_dims, int8_t *out, void *scratch)
{
    const int32_t k = in_dims->c, out_ch = out_dims->c, total = out_dims->n * out_dims->h * out_dims->w;
    int16_t *buf = (int16_t *)scratch;
    int32_t pix, b = 0, oy = 0, ox = 0;
    mcc_mm m;
    m.filter = filter;
    m.bias = bias;
    m.cout = out_ch;
    m.k = k;
    m.lo = p->act_min;
    m.hi = p->act_max;
    m.dual = p->dual_rows;
    m.small_acc = p->small_acc;
    mcc_mm_prepare(&m, q, p->output_offset, (mcc_rq *)(void *)((int8_t *)scratch + pair_bytes(in_dims)));
    if (!mcc_mm_built(&m, total)) {
        return MCC_NOT_BUILT;
    }
    for (pix = 0; pix < total; pix += 2) {
        int8_t *out0 = out + pix * out_ch;
        fill_pixel(next_pixel(in, in_dims, out_dims, p->stride_h, p->stride_w, &b, &oy, &ox), k, p->input_offset,
                   buf, 0);
        if (pix + 1 < total) {
            fill_pixel(next_pixel(in, in_dims, out_dims, p->stride_h, p->stride_w, &b, &oy, &ox), k,
                       p->input_offset, buf, 1);
            mcc_mm_run(&m, buf, out0, out0 + out_ch);
        } else {
            mcc_mm_run(&m, buf, out0, NULL);
        }
    }
    return MCC_OK;
}

/**
 * CONV_2D int8 for 1x1 filters (see mcc_nn.h).
 * @param ctx         scratch of mcc_convolve_1x1_s8_get_buffer_size() bytes, 4-byte aligned, for the faster
 *                    path; NULL or smaller takes the path that needs none
 * @param p           input_offset in [-127, 128], output_offset in [-128, 127], stride >= 1, pad_h = pad_w = 0,
 *                    dilation_h = dilation_w = 1, -128 <= act_min <= act_max <= 127
 * @param q           per-output-channel multiplier in [0, 2^31) and shift in [-31, 30]
 * @param in_dims     [N, H, W, C_in]
 * @param in          input tensor, NHWC
 * @param filter_dims [C_out, 1, 1, C_in]
 * @param filter      filter tensor
 * @param bias        [C_out] int32, or NULL
 * @param out_dims    [N, OH, OW, C_out] with (OH - 1) * stride_h < H and (OW - 1) * stride_w < W
 * @param out         output tensor, NHWC
 * @return MCC_OK, MCC_ARG_ERROR, MCC_NO_BUFFER for dual-row filters (p->dual_rows) without the scratch, or
 *         MCC_NOT_BUILT when the scratch is missing or small and the build left out the path without it
 *         (mcc_variants.h)
 */
mcc_status mcc_convolve_1x1_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                               const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                               const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out)
{
    int32_t k, out_ch, total, oc;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        out_dims == NULL || out == NULL || filter_dims->h != 1 || filter_dims->w != 1 ||
        filter_dims->c != in_dims->c || out_dims->c != filter_dims->n || out_dims->n != in_dims->n ||
        p->pad_h != 0 || p->pad_w != 0 || p->dilation_h != 1 || p->dilation_w != 1 || p->stride_h < 1 ||
        p->stride_w < 1 || (out_dims->h - 1) * p->stride_h >= in_dims->h ||
        (out_dims->w - 1) * p->stride_w >= in_dims->w) {
        return MCC_ARG_ERROR;
    }
#if defined(MCC_MVE)
    if (p->dual_rows) {
        return MCC_ARG_ERROR; /* Helium reads plain filters: the code generator writes no dual rows for it */
    }
    if (ctx != NULL && mcc_convolve_s8_mve(p, q, in_dims, in, filter_dims, filter, bias, out_dims, out, ctx->buf,
                                           ctx->size) == MCC_OK) {
        return MCC_OK; /* Helium: kernels/conv/mcc_convolve_mve.c */
    }
    (void)conv_1x1_pairs; /* left out: the Helium path takes every call with its scratch */
#else
    if (ctx != NULL && ctx->buf != NULL && ctx->size >= mcc_convolve_1x1_s8_get_buffer_size(in_dims, filter_dims)) {
        return conv_1x1_pairs(p, q, in_dims, in, filter, bias, out_dims, out, ctx->buf);
    }
#endif
    if (p->dual_rows) {
        return MCC_NO_BUFFER; /* dual-row filters take the pair buffer's product only (not built on Helium) */
    }
    if (!MCC_1X1_NO_SCRATCH) {
        return MCC_NOT_BUILT; /* the build left the path without scratch out (mcc_variants.h) */
    }
    k = in_dims->c;
    out_ch = out_dims->c;
    total = out_dims->n * out_dims->h * out_dims->w;
    for (oc = 0; oc < out_ch; oc += 2) {
        const int32_t two = oc + 1 < out_ch; /* an odd last channel is computed twice, stored once */
        const int32_t oc1 = two ? oc + 1 : oc;
        const int8_t *w0 = filter + oc * k, *w1 = filter + oc1 * k;
        const int32_t start0 = start_value(w0, k, bias, oc, p->input_offset);
        const int32_t start1 = start_value(w1, k, bias, oc1, p->input_offset);
        const int32_t m0 = q->multiplier[oc], s0 = q->shift[oc], m1 = q->multiplier[oc1], s1 = q->shift[oc1];
        const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
        int32_t pix, b = 0, oy = 0, ox = 0;
        int8_t *o = out + oc;
        for (pix = 0; pix < total; pix += 2) {
            const int32_t has1 = pix + 1 < total; /* an odd last pixel likewise */
            const int8_t *x0 = next_pixel(in, in_dims, out_dims, p->stride_h, p->stride_w, &b, &oy, &ox);
            const int8_t *x1 = has1 ? next_pixel(in, in_dims, out_dims, p->stride_h, p->stride_w, &b, &oy, &ox) : x0;
            int32_t acc[4];
            acc[0] = start0;
            acc[1] = start0;
            acc[2] = start1;
            acc[3] = start1;
            dot_2x2_s8(w0, w1, x0, x1, k, acc);
            o[0] = requant(acc[0], m0, s0, off, lo, hi);
            if (two) {
                o[1] = requant(acc[2], m1, s1, off, lo, hi);
            }
            o += out_ch;
            if (has1) {
                o[0] = requant(acc[1], m0, s0, off, lo, hi);
                if (two) {
                    o[1] = requant(acc[3], m1, s1, off, lo, hi);
                }
                o += out_ch;
            }
        }
    }
    return MCC_OK;
}
