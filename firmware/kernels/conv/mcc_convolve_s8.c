/**
 * @file mcc_convolve_s8.c
 * @brief CONV_2D int8, generic: any filter size, stride, dilation and padding (bit-exact with TFLM's
 *        reference_integer_ops::ConvPerChannel).
 *
 * Two output pixels at a time are unrolled (im2col) into the scratch buffer as int16 values with the
 * input offset already added; padded taps become 0, which is exactly what TFLM's skipped taps add.
 * Each pair of output channels is then the dot product of two filter rows with the two columns: four
 * int32 accumulators per step.
 *
 * Column layout (K = KH * KW * C_in values per pixel, K4 = K rounded down to a multiple of 4): the two
 * pixels' values are interleaved by groups of four, group g of pixel s at int16 offset 8g + 4s, so one
 * pointer walks both columns; the K - K4 tail values follow, pixel 0's then pixel 1's. With the DSP
 * extension each group is stored as (x0, x2, x1, x3), so a word load feeds SMLAD against SXTB16 of the
 * filter bytes: 22 instructions per 16 MACs in the Cortex-M4 inner loop (GCC 12 -O2).
 *
 * Accumulators are int32 and, as in TFLM, must not overflow (true for any realistic filter).
 */
#include <stddef.h>
#include <string.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/**
 * Scratch size of mcc_convolve_s8: two im2col columns of KH * KW * C_in int16 values.
 * @param in_dims     [N, H, W, C_in]
 * @param filter_dims [C_out, KH, KW, C_in]
 * @return bytes (the buffer must be 4-byte aligned)
 */
int32_t mcc_convolve_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims)
{
    return 2 * filter_dims->h * filter_dims->w * in_dims->c * (int32_t)sizeof(int16_t);
}

/* Walking the interleaved layout value by value: after value j (j % 4 = r) the next one is delta[r] away. */
#if defined(MCC_DSP)
static const int8_t next_delta[4] = {2, -1, 2, 5}; /* groups stored (x0, x2, x1, x3) */
#else
static const int8_t next_delta[4] = {1, 1, 1, 5};
#endif

/** im2col of output pixel (oy, ox) of one batch into slot `slot` (0 or 1) of the pair buffer. */
static void im2col_pixel(const mcc_conv_params *p, const mcc_dims *in_dims, const int8_t *in_batch,
                         const mcc_dims *filter_dims, int32_t oy, int32_t ox, int16_t *buf, int32_t slot)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, ch = in_dims->c;
    const int32_t kh = filter_dims->h, kw = filter_dims->w;
    const int32_t k = kh * kw * ch, k4 = k & ~3, kt = k - k4;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    const int32_t offset = p->input_offset;
#if defined(MCC_DSP)
    const int32_t offset2 = (int32_t)(((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16));
#endif
    int16_t *tail = buf + 2 * k4 + slot * kt;
    int16_t *dst1 = buf + 4 * slot; /* value-by-value path: where value j goes */
    int32_t j = 0, ky, kx, i;
    for (ky = 0; ky < kh; ky++) {
        const int32_t iy = iy0 + ky * p->dilation_h;
        const int32_t row_ok = iy >= 0 && iy < in_h;
        for (kx = 0; kx < kw; kx++) {
            const int32_t ix = ix0 + kx * p->dilation_w;
            const int32_t ok = row_ok && ix >= 0 && ix < in_w;
            const int8_t *src = ok ? in_batch + (iy * in_w + ix) * ch : in_batch;
            if ((ch & 3) == 0) { /* every tap starts a group: whole groups at once */
                int16_t *dst = buf + 2 * j + 4 * slot;
                for (i = 0; i < ch; i += 4, dst += 8) {
                    if (!ok) {
                        memset(dst, 0, 4 * sizeof(int16_t));
                    } else {
#if defined(MCC_DSP)
                        const int32_t x = mcc_read_s8x4(src + i);
                        mcc_write_s16x2(dst, mcc_sxtab16(offset2, x));
                        mcc_write_s16x2(dst + 2, mcc_sxtab16_ror8(offset2, x));
#else
                        dst[0] = (int16_t)(src[i] + offset);
                        dst[1] = (int16_t)(src[i + 1] + offset);
                        dst[2] = (int16_t)(src[i + 2] + offset);
                        dst[3] = (int16_t)(src[i + 3] + offset);
#endif
                    }
                }
                j += ch;
            } else { /* few channels (first layers): value by value, the last < 4 values to the tail */
                const int32_t grouped = mcc_max_i32(mcc_min_i32(ch, k4 - j), 0);
                if (ok) {
                    for (i = 0; i < grouped; i++, j++) {
                        *dst1 = (int16_t)(src[i] + offset);
                        dst1 += next_delta[j & 3];
                    }
                    for (; i < ch; i++, j++) {
                        tail[j - k4] = (int16_t)(src[i] + offset);
                    }
                } else {
                    for (i = 0; i < grouped; i++, j++) {
                        *dst1 = 0;
                        dst1 += next_delta[j & 3];
                    }
                    for (; i < ch; i++, j++) {
                        tail[j - k4] = 0;
                    }
                }
            }
        }
    }
}

/** Requantize one accumulator to int8. */
static inline int8_t requant(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset, int32_t lo, int32_t hi)
{
    const int32_t v = mcc_multiply_by_quantized_multiplier(acc, mult, shift) + out_offset;
    return (int8_t)mcc_clamp_i32(v, lo, hi);
}

/** acc00/01 (+)= row w0 . columns 0/1, acc10/11 (+)= row w1 . columns 0/1 over the k4 grouped values. */
static void dot_2x2(const int8_t *w0, const int8_t *w1, const int16_t *c, int32_t k4, int32_t *acc)
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t n;
    for (n = k4 >> 2; n > 0; n--) {
#if defined(MCC_DSP)
        const int32_t wa = mcc_read_s8x4(w0), wb = mcc_read_s8x4(w1);
        const int32_t wa02 = mcc_sxtb16(wa), wa13 = mcc_sxtb16_ror8(wa);
        const int32_t wb02 = mcc_sxtb16(wb), wb13 = mcc_sxtb16_ror8(wb);
        const int32_t x0a = mcc_read_s16x2(c), x0b = mcc_read_s16x2(c + 2);
        const int32_t x1a = mcc_read_s16x2(c + 4), x1b = mcc_read_s16x2(c + 6);
        a00 = mcc_smlad(wa02, x0a, a00);
        a01 = mcc_smlad(wa02, x1a, a01);
        a10 = mcc_smlad(wb02, x0a, a10);
        a11 = mcc_smlad(wb02, x1a, a11);
        a00 = mcc_smlad(wa13, x0b, a00);
        a01 = mcc_smlad(wa13, x1b, a01);
        a10 = mcc_smlad(wb13, x0b, a10);
        a11 = mcc_smlad(wb13, x1b, a11);
#else
        int32_t r;
        for (r = 0; r < 4; r++) {
            const int32_t x0 = c[r], x1 = c[4 + r], wa = w0[r], wb = w1[r];
            a00 += wa * x0;
            a01 += wa * x1;
            a10 += wb * x0;
            a11 += wb * x1;
        }
#endif
        w0 += 4;
        w1 += 4;
        c += 8;
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/** acc + row w . column in slot 0 over the k4 grouped values. */
static int32_t dot_1x1(const int8_t *w, const int16_t *c, int32_t k4, int32_t acc)
{
    int32_t n;
    for (n = k4 >> 2; n > 0; n--) {
#if defined(MCC_DSP)
        const int32_t wv = mcc_read_s8x4(w);
        acc = mcc_smlad(mcc_sxtb16(wv), mcc_read_s16x2(c), acc);
        acc = mcc_smlad(mcc_sxtb16_ror8(wv), mcc_read_s16x2(c + 2), acc);
#else
        acc += w[0] * c[0] + w[1] * c[1] + w[2] * c[2] + w[3] * c[3];
#endif
        w += 4;
        c += 8;
    }
    return acc;
}

/**
 * All output channels of the pixel(s) in the pair buffer: out0 from slot 0, out1 (if not NULL) from
 * slot 1. Filter rows are k values long.
 */
static void mat_mult(const mcc_conv_params *p, const mcc_per_channel_quant *q, const int8_t *filter,
                     const int32_t *bias, int32_t out_ch, int32_t k, const int16_t *buf, int8_t *out0, int8_t *out1)
{
    const int32_t out_offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t k4 = k & ~3, kt = k - k4;
    const int16_t *tail0 = buf + 2 * k4, *tail1 = tail0 + kt;
    int32_t oc = 0, t;
    if (out1 != NULL) {
        for (; oc + 2 <= out_ch; oc += 2) {
            const int8_t *w0 = filter + oc * k;
            const int8_t *w1 = w0 + k;
            const int32_t b0 = bias != NULL ? bias[oc] : 0, b1 = bias != NULL ? bias[oc + 1] : 0;
            int32_t acc[4];
            acc[0] = b0;
            acc[1] = b0;
            acc[2] = b1;
            acc[3] = b1;
            dot_2x2(w0, w1, buf, k4, acc);
            for (t = 0; t < kt; t++) {
                const int32_t wa = w0[k4 + t], wb = w1[k4 + t];
                acc[0] += wa * tail0[t];
                acc[1] += wa * tail1[t];
                acc[2] += wb * tail0[t];
                acc[3] += wb * tail1[t];
            }
            {
                const int32_t m0 = q->multiplier[oc], s0 = q->shift[oc];
                const int32_t m1 = q->multiplier[oc + 1], s1 = q->shift[oc + 1];
                out0[oc] = requant(acc[0], m0, s0, out_offset, lo, hi);
                out1[oc] = requant(acc[1], m0, s0, out_offset, lo, hi);
                out0[oc + 1] = requant(acc[2], m1, s1, out_offset, lo, hi);
                out1[oc + 1] = requant(acc[3], m1, s1, out_offset, lo, hi);
            }
        }
    }
    for (; oc < out_ch; oc++) {
        const int8_t *w = filter + oc * k;
        const int32_t b = bias != NULL ? bias[oc] : 0;
        const int32_t m = q->multiplier[oc], s = q->shift[oc];
        int32_t a0 = dot_1x1(w, buf, k4, b);
        for (t = 0; t < kt; t++) {
            a0 += w[k4 + t] * tail0[t];
        }
        out0[oc] = requant(a0, m, s, out_offset, lo, hi);
        if (out1 != NULL) {
            int32_t a1 = dot_1x1(w, buf + 4, k4, b);
            for (t = 0; t < kt; t++) {
                a1 += w[k4 + t] * tail1[t];
            }
            out1[oc] = requant(a1, m, s, out_offset, lo, hi);
        }
    }
}

/** Next output position in (batch, y, x) order. */
static inline void advance(const mcc_dims *out_dims, int32_t *b, int32_t *oy, int32_t *ox)
{
    if (++*ox == out_dims->w) {
        *ox = 0;
        if (++*oy == out_dims->h) {
            *oy = 0;
            ++*b;
        }
    }
}

/**
 * CONV_2D int8, generic (see mcc_nn.h).
 * @param ctx         scratch of mcc_convolve_s8_get_buffer_size() bytes, 4-byte aligned
 * @param p           input_offset in [-127, 128], output_offset in [-128, 127], stride >= 1, dilation >= 1,
 *                    pad >= 0 (padding before; padding after is implied by out_dims),
 *                    -128 <= act_min <= act_max <= 127; depth_multiplier unused
 * @param q           per-output-channel multiplier in [0, 2^31) and shift in [-31, 30]
 * @param in_dims     [N, H, W, C_in], all >= 1
 * @param in          input tensor, NHWC
 * @param filter_dims [C_out, KH, KW, C_in]
 * @param filter      filter tensor, OHWI
 * @param bias        [C_out] int32, or NULL
 * @param out_dims    [N, OH, OW, C_out]
 * @param out         output tensor, NHWC
 * @return MCC_OK, MCC_ARG_ERROR or MCC_NO_BUFFER
 */
mcc_status mcc_convolve_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                           const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                           const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out)
{
    int32_t k, out_ch, total, pix, b = 0, oy = 0, ox = 0, batch_stride;
    int16_t *buf;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        out_dims == NULL || out == NULL || filter_dims->c != in_dims->c || out_dims->c != filter_dims->n ||
        out_dims->n != in_dims->n || p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 ||
        p->dilation_w < 1 || p->pad_h < 0 || p->pad_w < 0) {
        return MCC_ARG_ERROR;
    }
    if (ctx == NULL || ctx->buf == NULL || ctx->size < mcc_convolve_s8_get_buffer_size(in_dims, filter_dims)) {
        return MCC_NO_BUFFER;
    }
    buf = (int16_t *)ctx->buf;
    k = filter_dims->h * filter_dims->w * in_dims->c;
    out_ch = out_dims->c;
    batch_stride = in_dims->h * in_dims->w * in_dims->c;
    total = out_dims->n * out_dims->h * out_dims->w;
    for (pix = 0; pix < total; pix += 2) {
        int8_t *out0 = out + pix * out_ch;
        im2col_pixel(p, in_dims, in + b * batch_stride, filter_dims, oy, ox, buf, 0);
        advance(out_dims, &b, &oy, &ox);
        if (pix + 1 < total) {
            im2col_pixel(p, in_dims, in + b * batch_stride, filter_dims, oy, ox, buf, 1);
            advance(out_dims, &b, &oy, &ox);
            mat_mult(p, q, filter, bias, out_ch, k, buf, out0, out0 + out_ch);
        } else {
            mat_mult(p, q, filter, bias, out_ch, k, buf, out0, NULL);
        }
    }
    return MCC_OK;
}
