/**
 * @file mcc_convolve_mve.c
 * @brief CONV_2D int8 on Helium (MVE): the path mcc_convolve_s8 and mcc_convolve_1x1_s8 take on an MVE target
 *        (mcc_mve_kernels.h), bit-exact with TFLM's reference_integer_ops::ConvPerChannel.
 *
 * Four output pixels at a time are unrolled (im2col) as raw int8 into the scratch, interleaved by chunks of 16
 * values: value j of pixel s at byte 64 * (j / 16) + 16 * s + j % 16, so one pointer walks all four columns
 * with immediate offsets. Padded taps hold the input zero point (-input_offset). The input offset then enters
 * once per output channel, in the accumulator's start value bias + input_offset * sum(filter row), computed
 * once per call into the scratch after the columns; padded taps add w * (zp + input_offset) = 0 as TFLM's
 * skipped taps do. Two output channels meet the four columns per 16 values: two filter loads, four column
 * loads and eight VMLADAVA.S8 (128 MACs). The last partial chunk of K loads its filter bytes predicated (the
 * columns' unused bytes are multiplied by zeros). Requantization runs on the four pixels of a channel as one
 * vector (mcc_mve.h) and stores them with one scatter.
 */
#include <stddef.h>

#include "mcc_mve_kernels.h"

#if defined(MCC_MVE)

#include "mcc_fixedpoint.h"

/** Column bytes for K values: four pixels, K rounded up to 16. */
static int32_t columns_bytes(int32_t k) { return 4 * ((k + 15) & ~15); }

/** n values from src (or n copies of `fill` when src is NULL) to positions j.. of column s. */
static void put(int8_t *buf, int32_t s, int32_t j, const int8_t *src, int8_t fill, int32_t n)
{
    const int8x16_t f = vdupq_n_s8(fill);
    while (n > 0) {
        const int32_t r = j & 15, len = n < 16 - r ? n : 16 - r;
        const mve_pred16_t pr = vctp8q((uint32_t)len);
        int8_t *dst = buf + 4 * (j - r) + 16 * s + r;
        vstrbq_p_s8(dst, src != NULL ? vldrbq_z_s8(src, pr) : f, pr);
        if (src != NULL) {
            src += len;
        }
        j += len;
        n -= len;
    }
}

/** im2col of output pixel (oy, ox) of one batch into column s. */
static void im2col(const mcc_conv_params *p, const mcc_dims *in_dims, const int8_t *in_batch,
                   const mcc_dims *filter_dims, int32_t oy, int32_t ox, int8_t *buf, int32_t s)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, ch = in_dims->c, kh = filter_dims->h, kw = filter_dims->w;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w, dil_w = p->dilation_w;
    const int8_t zp = (int8_t)(-p->input_offset);
    /* taps [kx_lo, kx_hi) of a row are inside the input columns */
    const int32_t kx_lo = ix0 >= 0 ? 0 : mcc_min_i32((-ix0 + dil_w - 1) / dil_w, kw);
    const int32_t kx_hi = mcc_max_i32(mcc_min_i32(in_w - ix0 <= 0 ? 0 : (in_w - ix0 + dil_w - 1) / dil_w, kw), kx_lo);
    const int32_t row_len = kw * ch;
    int32_t ky, kx, j = 0;
    for (ky = 0; ky < kh; ky++, j += row_len) {
        const int32_t iy = iy0 + ky * p->dilation_h;
        const int32_t at = (iy * in_w + ix0) * ch; /* tap (ky, 0), possibly left of the row: only valid taps are read */
        if (iy < 0 || iy >= in_h) {
            put(buf, s, j, NULL, zp, row_len);
            continue;
        }
        put(buf, s, j, NULL, zp, kx_lo * ch);
        if (dil_w == 1) {
            put(buf, s, j + kx_lo * ch, in_batch + at + kx_lo * ch, 0, (kx_hi - kx_lo) * ch);
        } else {
            for (kx = kx_lo; kx < kx_hi; kx++) {
                put(buf, s, j + kx * ch, in_batch + at + kx * dil_w * ch, 0, ch);
            }
        }
        put(buf, s, j + kx_hi * ch, NULL, zp, (kw - kx_hi) * ch);
    }
}

/** acc[c * 4 + s] += row c . column s for rows w0 (c = 0) and w1 (c = 1), over k values. */
static MCC_ALWAYS_INLINE void dot_2x4(const int8_t *w0, const int8_t *w1, const int8_t *c, int32_t k,
                                      int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], b0 = acc[4], b1 = acc[5], b2 = acc[6], b3 = acc[7];
    int32_t n;
    for (n = k >> 4; n > 0; n--) {
        const int8x16_t wa = vldrbq_s8(w0), wb = vldrbq_s8(w1);
        const int8x16_t x0 = vldrbq_s8(c), x1 = vldrbq_s8(c + 16), x2 = vldrbq_s8(c + 32), x3 = vldrbq_s8(c + 48);
        a0 = vmladavaq_s8(a0, wa, x0);
        a1 = vmladavaq_s8(a1, wa, x1);
        a2 = vmladavaq_s8(a2, wa, x2);
        a3 = vmladavaq_s8(a3, wa, x3);
        b0 = vmladavaq_s8(b0, wb, x0);
        b1 = vmladavaq_s8(b1, wb, x1);
        b2 = vmladavaq_s8(b2, wb, x2);
        b3 = vmladavaq_s8(b3, wb, x3);
        w0 += 16;
        w1 += 16;
        c += 64;
    }
    if (k & 15) { /* the filter rows end here: predicated loads; zeros meet the columns' unused bytes */
        const mve_pred16_t pr = vctp8q((uint32_t)(k & 15));
        const int8x16_t wa = vldrbq_z_s8(w0, pr), wb = vldrbq_z_s8(w1, pr);
        const int8x16_t x0 = vldrbq_s8(c), x1 = vldrbq_s8(c + 16), x2 = vldrbq_s8(c + 32), x3 = vldrbq_s8(c + 48);
        a0 = vmladavaq_s8(a0, wa, x0);
        a1 = vmladavaq_s8(a1, wa, x1);
        a2 = vmladavaq_s8(a2, wa, x2);
        a3 = vmladavaq_s8(a3, wa, x3);
        b0 = vmladavaq_s8(b0, wb, x0);
        b1 = vmladavaq_s8(b1, wb, x1);
        b2 = vmladavaq_s8(b2, wb, x2);
        b3 = vmladavaq_s8(b3, wb, x3);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    acc[4] = b0;
    acc[5] = b1;
    acc[6] = b2;
    acc[7] = b3;
}

/** Sum of the k values of a filter row. */
static int32_t row_sum(const int8_t *w, int32_t k)
{
    int32_t sum = 0;
    for (; k >= 16; k -= 16, w += 16) {
        sum = vaddvaq_s8(sum, vldrbq_s8(w));
    }
    if (k > 0) {
        sum = vaddvaq_s8(sum, vldrbq_z_s8(w, vctp8q((uint32_t)k)));
    }
    return sum;
}

/** Every output channel of the four columns (pixels out0 + s * cout for s < np). */
static void columns_out(const int8_t *filter, const int32_t *start, const mcc_per_channel_quant *q, int32_t k,
                        int32_t cout, const int8_t *buf, int32_t np, int32_t out_offset, int32_t lo, int32_t hi,
                        int8_t *out0)
{
    const uint32x4_t offsets = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)cout);
    const mve_pred16_t pr = vctp32q((uint32_t)np);
    const int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
    int32_t oc;
    for (oc = 0; oc < cout; oc += 2) {
        const int32_t two = oc + 1 < cout; /* an odd last channel is computed twice, stored once */
        const int32_t oc1 = two ? oc + 1 : oc;
        int32_t acc[8];
        int32x4_t v;
        acc[0] = acc[1] = acc[2] = acc[3] = start[oc];
        acc[4] = acc[5] = acc[6] = acc[7] = start[oc1];
        dot_2x4(filter + oc * k, filter + oc1 * k, buf, k, acc);
        v = mcc_mve_requant_clamp(vldrwq_s32(acc), vdupq_n_s32(q->multiplier[oc]), vdupq_n_s32(q->shift[oc]),
                                  out_offset, vlo, vhi);
        vstrbq_scatter_offset_p_s32(out0 + oc, offsets, v, pr);
        if (two) {
            v = mcc_mve_requant_clamp(vldrwq_s32(acc + 4), vdupq_n_s32(q->multiplier[oc1]),
                                      vdupq_n_s32(q->shift[oc1]), out_offset, vlo, vhi);
            vstrbq_scatter_offset_p_s32(out0 + oc1, offsets, v, pr);
        }
    }
}

mcc_status mcc_convolve_s8_mve(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                               const int8_t *in, const mcc_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, const mcc_dims *out_dims, int8_t *out, void *scratch,
                               int32_t size)
{
    const int32_t k = filter_dims->h * filter_dims->w * in_dims->c, cout = out_dims->c;
    const int32_t cols = columns_bytes(k), batch_stride = in_dims->h * in_dims->w * in_dims->c;
    const int32_t total = out_dims->n * out_dims->h * out_dims->w;
    int8_t *buf = (int8_t *)scratch;
    int32_t *start = (int32_t *)(void *)(buf + cols);
    int32_t oc, pix, b = 0, oy = 0, ox = 0;
    if (scratch == NULL || size < cols + 4 * cout) {
        return MCC_NOT_BUILT;
    }
    for (oc = 0; oc < cout; oc++) {
        start[oc] = (bias != NULL ? bias[oc] : 0) + p->input_offset * row_sum(filter + oc * k, k);
    }
    for (pix = 0; pix < total; pix += 4) {
        const int32_t np = total - pix < 4 ? total - pix : 4;
        int32_t s;
        for (s = 0; s < np; s++) {
            im2col(p, in_dims, in + b * batch_stride, filter_dims, oy, ox, buf, s);
            if (++ox == out_dims->w) {
                ox = 0;
                if (++oy == out_dims->h) {
                    oy = 0;
                    ++b;
                }
            }
        }
        columns_out(filter, start, q, k, cout, buf, np, p->output_offset, p->act_min, p->act_max,
                    out + pix * cout);
    }
    return MCC_OK;
}

#else
typedef int mcc_convolve_mve_unused; /* ISO C: a translation unit is not empty */
#endif /* MCC_MVE */
