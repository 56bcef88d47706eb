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
 * Output pixels ox and ox + stride_w of a row use the same taps on neighbouring input pixels, so they
 * run as a pair: each filter group loaded feeds both pixels, two output channels at a time (four
 * accumulators; with the DSP extension 16 MACs take two input and two filter words, six SXTB16/SXTAB16
 * and eight SMLAD). A pixel left without a partner runs alone, four output channels at a time.
 */
/* mcc-build: -fno-schedule-insns */
/* GCC's scheduler before register allocation hoists the unrolled multiply-accumulate loops' loads far ahead of
 * their use and then spills the accumulators; the generated build files turn it off for this file. */
#include <stddef.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_matmul.h"
#include "mcc_nn.h"

/** Shapes and parameters shared by the loops. */
typedef struct {
    const mcc_conv_params *p;
    const mcc_dims *in_dims, *out_dims;
    const int8_t *filter;
    const int32_t *bias;
    int32_t cin, kh, kw, cout, oc_stride;
    mcc_mm m; /* requantization (table or generic) and clamp */
} tconv;

/** Accumulators of four (output pixel, output channel) pairs. */
typedef struct {
    int32_t a0, a1, a2, a3;
} acc4;

#if defined(MCC_DSP)
static MCC_ALWAYS_INLINE int32_t pack_offset(int32_t off)
{
    return (int32_t)(((uint32_t)(uint16_t)off << 16) | (uint32_t)(uint16_t)off);
}
#endif

/** One input pixel meeting one filter tap: byte offsets into the image (xa for the first output pixel of a
 * pair, xb for the second; equal for a lone pixel) and into the filter row of output channel 0. */
typedef struct {
    int32_t xa, xb, w;
} tap;

/** Most taps one output pixel may list (ceil(KH / stride_h) * ceil(KW / stride_w)); beyond, pixels run alone
 * tap by tap. */
#define MAX_TAPS 25

/*
 * The dot products are functions of their own (not inlined): inside the pixel loops GCC spills the
 * accumulators and pointers of the inner loop to the stack; alone, everything stays in registers. Each
 * call runs every tap of a pixel (pair), so its entry and exit costs are paid once per output channel group.
 */

/** Two pixels, two channels over taps[0 .. n): a0 (xa, w0), a1 (xb, w0), a2 (xa, w1), a3 (xb, w1). */
static MCC_NOINLINE void taps_2x2(const int8_t *image, const tap *taps, int32_t n_taps,
                                               const int8_t *w0, const int8_t *w1, int32_t cin, int32_t off, acc4 *acc)
{
    int32_t a0 = acc->a0, a1 = acc->a1, a2 = acc->a2, a3 = acc->a3, t;
#if defined(MCC_DSP)
    const int32_t off2 = pack_offset(off);
#endif
    for (t = 0; t < n_taps; t++) {
        const int8_t *xa = image + taps[t].xa, *xb = image + taps[t].xb;
        const int8_t *f0 = w0 + taps[t].w, *f1 = w1 + taps[t].w;
        int32_t n = cin;
#if defined(MCC_DSP)
        for (; n >= 4; n -= 4, xa += 4, xb += 4, f0 += 4, f1 += 4) {
            const int32_t va = mcc_read_s8x4(xa), vb = mcc_read_s8x4(xb);
            const int32_t a02 = mcc_sxtab16(off2, va), a13 = mcc_sxtab16_ror8(off2, va);
            const int32_t b02 = mcc_sxtab16(off2, vb), b13 = mcc_sxtab16_ror8(off2, vb);
            int32_t v = mcc_read_s8x4(f0);
            int32_t v02 = mcc_sxtb16(v), v13 = mcc_sxtb16_ror8(v);
            a0 = mcc_smlad(a02, v02, a0);
            a0 = mcc_smlad(a13, v13, a0);
            a1 = mcc_smlad(b02, v02, a1);
            a1 = mcc_smlad(b13, v13, a1);
            v = mcc_read_s8x4(f1);
            v02 = mcc_sxtb16(v);
            v13 = mcc_sxtb16_ror8(v);
            a2 = mcc_smlad(a02, v02, a2);
            a2 = mcc_smlad(a13, v13, a2);
            a3 = mcc_smlad(b02, v02, a3);
            a3 = mcc_smlad(b13, v13, a3);
        }
#endif
        for (; n > 0; n--) {
            const int32_t va = *xa++ + off, vb = *xb++ + off, g0 = *f0++, g1 = *f1++;
            a0 += va * g0;
            a1 += vb * g0;
            a2 += va * g1;
            a3 += vb * g1;
        }
    }
    acc->a0 = a0;
    acc->a1 = a1;
    acc->a2 = a2;
    acc->a3 = a3;
}

/** One pixel, four channels over taps[0 .. n) (their xa): acc.aj += sum (x + off) * wj. */
static MCC_NOINLINE void taps_1x4(const int8_t *image, const tap *taps, int32_t n_taps,
                                               const int8_t *w0, const int8_t *w1, const int8_t *w2,
                                               const int8_t *w3, int32_t cin, int32_t off, acc4 *acc)
{
    int32_t a0 = acc->a0, a1 = acc->a1, a2 = acc->a2, a3 = acc->a3, t;
#if defined(MCC_DSP)
    const int32_t off2 = pack_offset(off);
#endif
    for (t = 0; t < n_taps; t++) {
        const int8_t *x = image + taps[t].xa;
        const int32_t k = taps[t].w;
        const int8_t *f0 = w0 + k, *f1 = w1 + k, *f2 = w2 + k, *f3 = w3 + k;
        int32_t n = cin;
#if defined(MCC_DSP)
        for (; n >= 4; n -= 4, x += 4, f0 += 4, f1 += 4, f2 += 4, f3 += 4) {
            const int32_t xv = mcc_read_s8x4(x);
            const int32_t x02 = mcc_sxtab16(off2, xv), x13 = mcc_sxtab16_ror8(off2, xv);
            int32_t v = mcc_read_s8x4(f0);
            a0 = mcc_smlad(x02, mcc_sxtb16(v), a0);
            a0 = mcc_smlad(x13, mcc_sxtb16_ror8(v), a0);
            v = mcc_read_s8x4(f1);
            a1 = mcc_smlad(x02, mcc_sxtb16(v), a1);
            a1 = mcc_smlad(x13, mcc_sxtb16_ror8(v), a1);
            v = mcc_read_s8x4(f2);
            a2 = mcc_smlad(x02, mcc_sxtb16(v), a2);
            a2 = mcc_smlad(x13, mcc_sxtb16_ror8(v), a2);
            v = mcc_read_s8x4(f3);
            a3 = mcc_smlad(x02, mcc_sxtb16(v), a3);
            a3 = mcc_smlad(x13, mcc_sxtb16_ror8(v), a3);
        }
#endif
        for (; n > 0; n--) {
            const int32_t v = *x++ + off;
            a0 += v * *f0++;
            a1 += v * *f1++;
            a2 += v * *f2++;
            a3 += v * *f3++;
        }
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

/** The taps of output pixel (oy, ox) into taps[]; their count, or -1 when more than MAX_TAPS. */
static int32_t pixel_taps(const tconv *t, int32_t oy, int32_t ox, tap *taps)
{
    const mcc_conv_params *p = t->p;
    const int32_t ty = oy + p->pad_h, tx = ox + p->pad_w, in_w = t->in_dims->w, cin = t->cin;
    const int32_t iy_hi = mcc_min_i32(t->in_dims->h - 1, ty / p->stride_h);
    const int32_t ix_lo = first_input(tx, t->kw, p->stride_w);
    const int32_t ix_hi = mcc_min_i32(in_w - 1, tx / p->stride_w);
    int32_t iy, ix, n = 0;
    for (iy = first_input(ty, t->kh, p->stride_h); iy <= iy_hi; iy++) {
        const int32_t k_row = (ty - iy * p->stride_h) * t->kw;
        for (ix = ix_lo; ix <= ix_hi; ix++) {
            if (n == MAX_TAPS) {
                return -1;
            }
            taps[n].xa = taps[n].xb = (iy * in_w + ix) * cin;
            taps[n].w = (k_row + tx - ix * p->stride_w) * cin;
            n++;
        }
    }
    return n;
}

/** Output pixel (oy, ox) of image `image` alone, four channels at a time, into dst[0 .. cout). */
static void one_pixel(const tconv *t, const int8_t *image, int32_t oy, int32_t ox, int8_t *dst)
{
    tap taps[MAX_TAPS];
    const int32_t n = pixel_taps(t, oy, ox, taps);
    int32_t oc, i;
    for (oc = 0; oc < t->cout; oc += 4) {
        const int32_t left = t->cout - oc; /* channels of this group: 4, or 1 to 3 at the end */
        const int8_t *w0 = t->filter + oc * t->oc_stride;
        const int8_t *w1 = left > 1 ? w0 + t->oc_stride : w0;
        const int8_t *w2 = left > 2 ? w1 + t->oc_stride : w1;
        const int8_t *w3 = left > 3 ? w2 + t->oc_stride : w2;
        acc4 acc;
        acc.a0 = t->bias != NULL ? t->bias[oc] : 0;
        acc.a1 = t->bias != NULL && left > 1 ? t->bias[oc + 1] : 0;
        acc.a2 = t->bias != NULL && left > 2 ? t->bias[oc + 2] : 0;
        acc.a3 = t->bias != NULL && left > 3 ? t->bias[oc + 3] : 0;
        if (n >= 0) {
            taps_1x4(image, taps, n, w0, w1, w2, w3, t->cin, t->p->input_offset, &acc);
        } else { /* more taps than the list holds: tap by tap */
            const mcc_conv_params *p = t->p;
            const int32_t ty = oy + p->pad_h, tx = ox + p->pad_w, in_w = t->in_dims->w;
            const int32_t iy_hi = mcc_min_i32(t->in_dims->h - 1, ty / p->stride_h);
            const int32_t ix_hi = mcc_min_i32(in_w - 1, tx / p->stride_w);
            int32_t iy;
            for (iy = first_input(ty, t->kh, p->stride_h); iy <= iy_hi; iy++) {
                for (i = first_input(tx, t->kw, p->stride_w); i <= ix_hi; i++) {
                    tap one;
                    one.xa = one.xb = (iy * in_w + i) * t->cin;
                    one.w = ((ty - iy * p->stride_h) * t->kw + tx - i * p->stride_w) * t->cin;
                    taps_1x4(image, &one, 1, w0, w1, w2, w3, t->cin, p->input_offset, &acc);
                }
            }
        }
        dst[oc] = requantize(&t->m, oc, acc.a0);
        if (left > 1) {
            dst[oc + 1] = requantize(&t->m, oc + 1, acc.a1);
        }
        if (left > 2) {
            dst[oc + 2] = requantize(&t->m, oc + 2, acc.a2);
        }
        if (left > 3) {
            dst[oc + 3] = requantize(&t->m, oc + 3, acc.a3);
        }
    }
}

/**
 * Output pixels (oy, ox) and (oy, ox + stride_w) together: tap kx meets input column ix for the first
 * pixel and ix + 1 for the second. Taps inside the input for both go to the shared list; a tap inside for
 * one pixel only (at the input's left or right edge) to that pixel's own list. More than MAX_TAPS taps:
 * the two pixels run alone.
 */
static void pixel_pair(const tconv *t, const int8_t *image, int32_t oy, int32_t ox, int8_t *dst0, int8_t *dst1)
{
    const mcc_conv_params *p = t->p;
    const int32_t ty = oy + p->pad_h, tx = ox + p->pad_w, in_w = t->in_dims->w, cin = t->cin;
    const int32_t iy_hi = mcc_min_i32(t->in_dims->h - 1, ty / p->stride_h);
    tap both[MAX_TAPS], only0[MAX_TAPS], only1[MAX_TAPS];
    int32_t n = 0, n0 = 0, n1 = 0, oc, iy, kx;
    for (iy = first_input(ty, t->kh, p->stride_h); iy <= iy_hi; iy++) {
        const int32_t k_row = (ty - iy * p->stride_h) * t->kw;
        for (kx = tx % p->stride_w; kx < t->kw; kx += p->stride_w) {
            const int32_t ix = (tx - kx) / p->stride_w; /* exact: tx - kx is a multiple of the stride */
            const int32_t in0 = ix >= 0 && ix < in_w, in1 = ix + 1 >= 0 && ix + 1 < in_w;
            tap *dst = in0 && in1 ? &both[n] : in0 ? &only0[n0] : in1 ? &only1[n1] : NULL;
            if (dst == NULL) {
                continue;
            }
            if (n == MAX_TAPS || n0 == MAX_TAPS || n1 == MAX_TAPS) {
                one_pixel(t, image, oy, ox, dst0);
                one_pixel(t, image, oy, ox + p->stride_w, dst1);
                return;
            }
            dst->xa = (iy * in_w + (in0 ? ix : ix + 1)) * cin;
            dst->xb = (iy * in_w + (in1 ? ix + 1 : ix)) * cin;
            dst->w = (k_row + kx) * cin;
            n += in0 && in1;
            n0 += in0 && !in1;
            n1 += in1 && !in0;
        }
    }
    for (oc = 0; oc < t->cout; oc += 2) {
        const int32_t pair = oc + 1 < t->cout;
        const int8_t *w0 = t->filter + oc * t->oc_stride;
        const int8_t *w1 = pair ? w0 + t->oc_stride : w0;
        acc4 acc, edge;
        acc.a0 = acc.a1 = t->bias != NULL ? t->bias[oc] : 0;
        acc.a2 = acc.a3 = t->bias != NULL && pair ? t->bias[oc + 1] : 0;
        taps_2x2(image, both, n, w0, w1, cin, p->input_offset, &acc);
        if (n0 > 0) {
            edge.a0 = edge.a1 = edge.a2 = edge.a3 = 0;
            taps_2x2(image, only0, n0, w0, w1, cin, p->input_offset, &edge);
            acc.a0 += edge.a0;
            acc.a2 += edge.a2;
        }
        if (n1 > 0) {
            edge.a0 = edge.a1 = edge.a2 = edge.a3 = 0;
            taps_2x2(image, only1, n1, w0, w1, cin, p->input_offset, &edge);
            acc.a1 += edge.a1;
            acc.a3 += edge.a3;
        }
        dst0[oc] = requantize(&t->m, oc, acc.a0);
        dst1[oc] = requantize(&t->m, oc, acc.a1);
        if (pair) {
            dst0[oc + 1] = requantize(&t->m, oc + 1, acc.a2);
            dst1[oc + 1] = requantize(&t->m, oc + 1, acc.a3);
        }
    }
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
    int32_t b, oy, r, ox;
    tconv t;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        out_dims == NULL || out == NULL || filter_dims->c != in_dims->c || out_dims->c != filter_dims->n ||
        out_dims->n != in_dims->n || p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0) {
        return MCC_ARG_ERROR;
    }
    t.p = p;
    t.in_dims = in_dims;
    t.out_dims = out_dims;
    t.filter = filter;
    t.bias = bias;
    t.cin = in_dims->c;
    t.kh = filter_dims->h;
    t.kw = filter_dims->w;
    t.cout = filter_dims->n;
    t.oc_stride = t.kh * t.kw * t.cin;
    t.m.cout = t.cout;
    t.m.lo = p->act_min;
    t.m.hi = p->act_max;
    t.m.dual = 0;
    t.m.small_acc = 0;
    mcc_mm_prepare(&t.m, q, p->output_offset,
                   ctx != NULL && ctx->buf != NULL && ctx->size >= mcc_transpose_conv_s8_get_buffer_size(filter_dims)
                       ? (mcc_rq *)ctx->buf
                       : NULL);
    for (b = 0; b < out_dims->n; b++) {
        const int8_t *image = in + b * in_dims->h * in_dims->w * t.cin;
        for (oy = 0; oy < out_dims->h; oy++) {
            int8_t *row = out + (b * out_dims->h + oy) * out_dims->w * t.cout;
            /* pixels of one column class (ox mod stride_w) pair up: ox and ox + stride_w */
            for (r = 0; r < p->stride_w && r < out_dims->w; r++) {
                for (ox = r; ox + p->stride_w < out_dims->w; ox += 2 * p->stride_w) {
                    pixel_pair(&t, image, oy, ox, row + ox * t.cout, row + (ox + p->stride_w) * t.cout);
                }
                if (ox < out_dims->w) {
                    one_pixel(&t, image, oy, ox, row + ox * t.cout);
                }
            }
        }
    }
    return MCC_OK;
}
