/**
 * @file mcc_depthwise_conv_s8.c
 * @brief DEPTHWISE_CONV_2D int8, any filter size, stride, dilation, padding and depth multiplier
 *        (bit-exact with TFLM's reference_integer_ops::DepthwiseConvPerChannel).
 *
 * Depth multiplier 1 with a scratch buffer (the common case) runs by groups of four channels. For each
 * group the filter taps are sign-extended once into a small table on the stack (int16 pairs laid out
 * for SMLABB / SMLATT), the four channels' requantization constants are precomputed (mcc_requant.h),
 * and the input rows the current output row reads are kept in the scratch buffer as a band of
 * (KH - 1) * dilation_h + 1 rows, each input value widened once to int16 with the input offset added
 * (SXTAB16 with the DSP extension). The band's padding columns and an extra all-zero row stand for the
 * padded border: a padded tap adds (zero point + input offset) * w = 0, exactly what TFLM's skipped
 * taps add, so every output pixel runs the same window code without bounds checks. A tap of four
 * channels is then two word loads of input pairs, two of filter pairs and four SMLAxy; 3x3 filters
 * with dilation 1 take a fully unrolled window. Channels left over (C mod 4) take the same band with
 * the missing lanes zero; channels whose requantization has no fast form use the generic code.
 *
 * With the DSP extension, 3x3 filters with dilation 1, stride_h 1 or 2 and the full int8 clamp range
 * take a channel-planar path instead (below: input columns widened channel by channel, SMLAD across
 * vertical taps, two output rows at a time, one SMMLAR requantization; about 2.5 instructions a MAC on
 * kws's 25x5x64 layers against 4.25 for the band). Its scratch is the larger of the two layouts.
 *
 * Without scratch (ctx NULL or too small), with depth multipliers above 1, or with filters of more
 * than DW_MAX_TAPS taps, a per-pixel path clips each output pixel's window to the input and works on
 * the int8 tensors directly. Accumulators are int32 and, as in TFLM, must not overflow.
 */
/* mcc-build: -fno-schedule-insns */
/* GCC's scheduler before register allocation hoists the unrolled multiply-accumulate loops' loads far ahead of
 * their use and then spills the accumulators; the generated build files turn it off for this file. */
#include <stddef.h>
#include <string.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_mve_kernels.h"
#include "mcc_nn.h"
#include "mcc_requant.h"
#include "mcc_variants.h"

/** Requantize one accumulator to int8. */
static inline int8_t requant(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset, int32_t lo, int32_t hi)
{
    const int32_t v = mcc_multiply_by_quantized_multiplier(acc, mult, shift) + out_offset;
    return (int8_t)mcc_clamp_i32(v, lo, hi);
}

/** Taps [k0, k1) of a filter axis of size k, dilation d, that land in [0, n) from input origin o. */
static void clip_window(int32_t o, int32_t d, int32_t k, int32_t n, int32_t *k0, int32_t *k1)
{
    const int32_t start = o >= 0 ? 0 : (-o + d - 1) / d;
    const int32_t end = n - o <= 0 ? 0 : (n - o + d - 1) / d;
    *k0 = mcc_min_i32(start, k);
    *k1 = mcc_max_i32(mcc_min_i32(end, k), *k0);
}

/** One output pixel's clipped window and where to find it. */
typedef struct {
    const int8_t *in;     /* input at (first valid row, first valid column), channel 0 */
    const int8_t *filter; /* filter at (first valid row, first valid column), channel 0 */
    int32_t rows, cols;   /* valid taps */
} window;

/** Depth multiplier 1: acc[0..3] += channels [c, c + 4) of the window. */
static void dw4(const mcc_conv_params *p, int32_t ch, int32_t row_step, int32_t col_step, int32_t wrow_step,
                const window *win, int32_t c, int32_t *acc)
{
    const int8_t *in_row = win->in + c;
    const int8_t *w_row = win->filter + c;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t r, t;
#if defined(MCC_DSP)
    const int32_t off2 = (int32_t)(((uint32_t)p->input_offset & 0xFFFFu) | ((uint32_t)p->input_offset << 16));
#else
    const int32_t off = p->input_offset;
#endif
    for (r = 0; r < win->rows; r++, in_row += row_step, w_row += wrow_step) {
        const int8_t *x = in_row, *w = w_row;
        for (t = win->cols; t > 0; t--, x += col_step, w += ch) {
#if defined(MCC_DSP)
            const int32_t wv = mcc_read_s8x4(w), xv = mcc_read_s8x4(x);
            const int32_t w02 = mcc_sxtb16(wv), w13 = mcc_sxtb16_ror8(wv);
            const int32_t x02 = mcc_sxtab16(off2, xv), x13 = mcc_sxtab16_ror8(off2, xv);
            a0 = mcc_smlabb(x02, w02, a0);
            a2 = mcc_smlatt(x02, w02, a2);
            a1 = mcc_smlabb(x13, w13, a1);
            a3 = mcc_smlatt(x13, w13, a3);
#else
            a0 += (x[0] + off) * w[0];
            a1 += (x[1] + off) * w[1];
            a2 += (x[2] + off) * w[2];
            a3 += (x[3] + off) * w[3];
#endif
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/** Depth multiplier 1, single channel c of one pixel. */
static int32_t dw1(const mcc_conv_params *p, int32_t ch, int32_t row_step, int32_t col_step, int32_t wrow_step,
                   const window *win, int32_t c, int32_t acc)
{
    const int8_t *in_row = win->in + c;
    const int8_t *w_row = win->filter + c;
    int32_t r, t;
    for (r = 0; r < win->rows; r++, in_row += row_step, w_row += wrow_step) {
        const int8_t *x = in_row, *w = w_row;
        for (t = win->cols; t > 0; t--, x += col_step, w += ch) {
            acc += (*x + p->input_offset) * *w;
        }
    }
    return acc;
}

/** Output pixel (oy, ox) of one batch: its clipped window. */
static void make_window(const mcc_conv_params *p, const mcc_dims *in_dims, const int8_t *in_b,
                        const mcc_dims *filter_dims, const int8_t *filter, int32_t oy, int32_t ox, window *win)
{
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    int32_t ky0, ky1, kx0, kx1;
    clip_window(iy0, p->dilation_h, filter_dims->h, in_dims->h, &ky0, &ky1);
    clip_window(ix0, p->dilation_w, filter_dims->w, in_dims->w, &kx0, &kx1);
    win->rows = ky1 - ky0;
    win->cols = kx1 - kx0;
    win->in = in_b;
    win->filter = filter;
    if (win->rows > 0 && win->cols > 0) {
        win->in = in_b + ((iy0 + ky0 * p->dilation_h) * in_dims->w + ix0 + kx0 * p->dilation_w) * in_dims->c;
        win->filter = filter + (ky0 * filter_dims->w + kx0) * filter_dims->c;
    } else {
        win->rows = 0;
        win->cols = 0;
    }
}

/** Depth multiplier 1: all channels of one output pixel. */
static void dw_pixel_m1(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                        const mcc_dims *filter_dims, const int32_t *bias, const window *win, int8_t *out)
{
    const int32_t ch = in_dims->c;
    const int32_t row_step = p->dilation_h * in_dims->w * ch, col_step = p->dilation_w * ch;
    const int32_t wrow_step = filter_dims->w * ch;
    const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
    int32_t c = 0, i;
    for (; c + 4 <= ch; c += 4) {
        int32_t acc[4];
        for (i = 0; i < 4; i++) {
            acc[i] = bias != NULL ? bias[c + i] : 0;
        }
        dw4(p, ch, row_step, col_step, wrow_step, win, c, acc);
        for (i = 0; i < 4; i++) {
            out[c + i] = requant(acc[i], q->multiplier[c + i], q->shift[c + i], off, lo, hi);
        }
    }
    for (; c < ch; c++) {
        const int32_t acc = dw1(p, ch, row_step, col_step, wrow_step, win, c, bias != NULL ? bias[c] : 0);
        out[c] = requant(acc, q->multiplier[c], q->shift[c], off, lo, hi);
    }
}

/** Any depth multiplier M: output channel ic * M + m reads input channel ic. */
static void dw_pixel_generic(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                             const mcc_dims *filter_dims, const int32_t *bias, const window *win, int8_t *out)
{
    const int32_t ch = in_dims->c, mult = p->depth_multiplier, out_ch = filter_dims->c;
    const int32_t row_step = p->dilation_h * in_dims->w * ch, col_step = p->dilation_w * ch;
    const int32_t wrow_step = filter_dims->w * out_ch;
    int32_t ic, m, r, t;
    for (ic = 0; ic < ch; ic++) {
        for (m = 0; m < mult; m++) {
            const int32_t oc = ic * mult + m;
            const int8_t *in_row = win->in + ic;
            const int8_t *w_row = win->filter + oc;
            int32_t acc = bias != NULL ? bias[oc] : 0;
            for (r = 0; r < win->rows; r++, in_row += row_step, w_row += wrow_step) {
                const int8_t *x = in_row, *w = w_row;
                for (t = win->cols; t > 0; t--, x += col_step, w += out_ch) {
                    acc += (*x + p->input_offset) * *w;
                }
            }
            out[oc] = requant(acc, q->multiplier[oc], q->shift[oc], p->output_offset, p->act_min, p->act_max);
        }
    }
}

/** The per-pixel path: every output pixel's window clipped to the input. */
static void dw_per_pixel(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                         const int8_t *in, const mcc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                         const mcc_dims *out_dims, int8_t *out)
{
    const int32_t out_ch = out_dims->c;
    int32_t b, oy, ox;
    for (b = 0; b < out_dims->n; b++) {
        const int8_t *in_b = in + b * in_dims->h * in_dims->w * in_dims->c;
        for (oy = 0; oy < out_dims->h; oy++) {
            int8_t *o = out + ((b * out_dims->h + oy) * out_dims->w) * out_ch;
            for (ox = 0; ox < out_dims->w; ox++, o += out_ch) {
                window win;
                make_window(p, in_dims, in_b, filter_dims, filter, oy, ox, &win);
                if (p->depth_multiplier == 1) {
                    dw_pixel_m1(p, q, in_dims, filter_dims, bias, &win, o);
                } else {
                    dw_pixel_generic(p, q, in_dims, filter_dims, bias, &win, o);
                }
            }
        }
    }
}

/* ------------------------------------------------------------------ depth multiplier 1, four channels at a time */

/** Largest filter (KH * KW taps) of the grouped path; its tap table lives on the stack (8 bytes a tap). */
#define DW_MAX_TAPS 25
/** Most input rows the band holds ((KH - 1) * dilation_h + 1). */
#define DW_MAX_BAND_ROWS 16

/** Band geometry: `rows` input rows plus one zero row, each of `width` entries of four int16. */
typedef struct {
    int32_t rows, width, pad_right;
} dw_band_dims;

static void dw_band_dims_of(const mcc_conv_params *p, const mcc_dims *in_dims, const mcc_dims *filter_dims,
                            const mcc_dims *out_dims, dw_band_dims *bd)
{
    const int32_t reach = (out_dims->w - 1) * p->stride_w + (filter_dims->w - 1) * p->dilation_w + 1;
    bd->rows = (filter_dims->h - 1) * p->dilation_h + 1;
    bd->pad_right = mcc_max_i32(reach - p->pad_w - in_dims->w, 0);
    bd->width = p->pad_w + in_dims->w + bd->pad_right;
}

/** 1 when the grouped band path takes this call (given enough scratch). */
static int32_t dw_band_applies(const mcc_conv_params *p, const mcc_dims *filter_dims)
{
    return p->depth_multiplier == 1 && filter_dims->h * filter_dims->w <= DW_MAX_TAPS &&
           (filter_dims->h - 1) * p->dilation_h + 1 <= DW_MAX_BAND_ROWS;
}

/** 1 when the planar path's geometry fits (3x3, dilation 1, stride_h 1 or 2, pad_w <= 2: see below). */
static int32_t dw_pl_geometry(const mcc_conv_params *p, const mcc_dims *filter_dims)
{
    return p->depth_multiplier == 1 && filter_dims->h == 3 && filter_dims->w == 3 && p->dilation_h == 1 &&
           p->dilation_w == 1 && (p->stride_h == 1 || p->stride_h == 2) && p->pad_w <= 2;
}

/** int16 per planar column: the padded input rows, and the reads of the last pair of outputs. */
static int32_t dw_pl_col_len(const mcc_conv_params *p, const mcc_dims *in_dims, const mcc_dims *out_dims)
{
    const int32_t reads = p->stride_h == 1 ? 2 * ((out_dims->h + 1) / 2) + 2 : 2 * out_dims->h + 2;
    return (mcc_max_i32(p->pad_h + in_dims->h, reads) + 1) & ~1;
}

/** Scratch of the planar path: three columns and a zero one, four channels each. */
static int32_t dw_pl_bytes(const mcc_conv_params *p, const mcc_dims *in_dims, const mcc_dims *out_dims)
{
    return 16 * dw_pl_col_len(p, in_dims, out_dims) * (int32_t)sizeof(int16_t);
}

/**
 * Scratch size of mcc_depthwise_conv_s8: the int16 band of the grouped path,
 * ((KH - 1) * dilation_h + 2) rows x (pad_w + W + right padding) x 4 int16, or the planar path's four
 * columns of four channels (dw_pl_bytes) where its geometry fits and they are larger, or 0 where neither
 * path applies (the kernel then needs none).
 * @return bytes (the buffer must be 4-byte aligned)
 */
int32_t mcc_depthwise_conv_s8_get_buffer_size(const mcc_conv_params *p, const mcc_dims *in_dims,
                                              const mcc_dims *filter_dims, const mcc_dims *out_dims)
{
    dw_band_dims bd;
    int32_t size;
    if (p == NULL || in_dims == NULL || filter_dims == NULL || out_dims == NULL || !dw_band_applies(p, filter_dims)) {
        return 0;
    }
    dw_band_dims_of(p, in_dims, filter_dims, out_dims, &bd);
    size = (bd.rows + 1) * bd.width * 4 * (int32_t)sizeof(int16_t);
    /* the planar columns where their geometry fits, with or without the DSP extension (one plan for both) */
    return dw_pl_geometry(p, filter_dims) ? mcc_max_i32(size, dw_pl_bytes(p, in_dims, out_dims)) : size;
}

/** What the grouped path keeps for one group of (up to) four channels c..c+3. */
typedef struct {
    int16_t w[DW_MAX_TAPS][4]; /* tap t (row-major): filter of channels c, c+2, c+1, c+3 */
    mcc_rq rq[4];              /* fast requantization (when fast) */
    int32_t bias[4];
    int32_t mult[4], shift[4]; /* generic requantization (when not fast) */
    int32_t fast;              /* all four channels take mcc_rq */
    int32_t nc;                /* channels in the group (4, or 1..3 for the last one) */
} dw_group;

/** Everything the group loops need (one batch). */
typedef struct {
    const int8_t *in;   /* input of the batch at channel c */
    int8_t *out;        /* output of the batch at channel c */
    int16_t *band;      /* rows + 1 band rows of row_len int16; the last one stays zero */
    int32_t row_len;    /* int16 per band row (4 per column) */
    int32_t band_rows;  /* input rows the band holds */
    int32_t in_h, in_w, ch, out_h, out_w, kh, kw;
    int32_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    int32_t in_off, out_offset, lo, hi;
} dw_ctx;

#if defined(MCC_DSP)
/** acc[0..3] += the int16 pairs (x02, x13) times (w02, w13): channels c, c+2 in x02 and c+1, c+3 in x13. */
static MCC_ALWAYS_INLINE void dw_mac(int32_t x02, int32_t x13, int32_t w02, int32_t w13, int32_t *acc)
{
    acc[0] = mcc_smlabb(x02, w02, acc[0]);
    acc[2] = mcc_smlatt(x02, w02, acc[2]);
    acc[1] = mcc_smlabb(x13, w13, acc[1]);
    acc[3] = mcc_smlatt(x13, w13, acc[3]);
}

/** acc[0..3] += band entry e (four channels, int16, input offset included) times filter tap w. */
static MCC_ALWAYS_INLINE void dw_tap(const int16_t *e, const int16_t *w, int32_t *acc)
{
    int32_t x02, x13, w02, w13;
    MCC_LDRD(e, 0, x02, x13);
    MCC_LDRD(w, 0, w02, w13);
    dw_mac(x02, x13, w02, w13, acc);
}

/** dw_tap of entry e + 4 * ke and filter tap t of group g, both offsets constant (one LDRD each). */
#define DW_TAP_AT(e, ke, g, t, acc)                                                                          \
    do {                                                                                                     \
        int32_t x02_, x13_, w02_, w13_;                                                                      \
        MCC_LDRD(e, 8 * (ke), x02_, x13_);                                                                   \
        MCC_LDRD((g)->w, 8 * (t), w02_, w13_);                                                               \
        dw_mac(x02_, x13_, w02_, w13_, acc);                                                                 \
    } while (0)
#else
/** acc[0..3] += band entry e (channels c, c+2, c+1, c+3; int16, input offset included) times filter tap w. */
static MCC_ALWAYS_INLINE void dw_tap(const int16_t *e, const int16_t *w, int32_t *acc)
{
    acc[0] += e[0] * w[0];
    acc[2] += e[1] * w[1];
    acc[1] += e[2] * w[2];
    acc[3] += e[3] * w[3];
}

#define DW_TAP_AT(e, ke, g, t, acc) dw_tap((e) + 4 * (ke), (g)->w[t], acc)
#endif

/** Requantize, clamp and store the four accumulators (fast requantization, full group). */
static MCC_ALWAYS_INLINE void dw_store4(const dw_group *g, const int32_t *acc, int8_t *o, int32_t lo, int32_t hi)
{
    o[0] = mcc_rq_clamp(mcc_rq_apply(&g->rq[0], acc[0]), lo, hi);
    o[1] = mcc_rq_clamp(mcc_rq_apply(&g->rq[1], acc[1]), lo, hi);
    o[2] = mcc_rq_clamp(mcc_rq_apply(&g->rq[2], acc[2]), lo, hi);
    o[3] = mcc_rq_clamp(mcc_rq_apply(&g->rq[3], acc[3]), lo, hi);
}

/** `n` output pixels of a 3x3 filter with dilation 1 from band rows e0, e1, e2 (full group, fast requantization). */
static MCC_ALWAYS_INLINE void dw_row_3x3(const int16_t *e0, const int16_t *e1, const int16_t *e2, int32_t n,
                                         int32_t step, int32_t o_step, const dw_group *g, int8_t *o, int32_t lo,
                                         int32_t hi)
{
    for (; n > 0; n--, e0 += step, e1 += step, e2 += step, o += o_step) {
        const dw_group *gg = g;
        int32_t acc[4];
        MCC_OPAQUE(gg);
        acc[0] = gg->bias[0];
        acc[1] = gg->bias[1];
        acc[2] = gg->bias[2];
        acc[3] = gg->bias[3];
        DW_TAP_AT(e0, 0, gg, 0, acc);
        DW_TAP_AT(e0, 1, gg, 1, acc);
        DW_TAP_AT(e0, 2, gg, 2, acc);
        DW_TAP_AT(e1, 0, gg, 3, acc);
        DW_TAP_AT(e1, 1, gg, 4, acc);
        DW_TAP_AT(e1, 2, gg, 5, acc);
        DW_TAP_AT(e2, 0, gg, 6, acc);
        DW_TAP_AT(e2, 1, gg, 7, acc);
        DW_TAP_AT(e2, 2, gg, 8, acc);
        dw_store4(gg, acc, o, lo, hi);
    }
}

/** One output row, any filter, stride and dilation; partial groups and generic requantization too. */
static void dw_row_any(const dw_ctx *d, const int16_t *const *rows, const dw_group *g, int8_t *o)
{
    const int32_t step = 4 * d->stride_w, tap_step = 4 * d->dil_w, kh = d->kh, kw = d->kw;
    int32_t ox, ky, kx, i;
    for (ox = 0; ox < d->out_w; ox++, o += d->ch) {
        const int16_t(*w)[4] = g->w;
        int32_t acc[4];
        for (i = 0; i < 4; i++) {
            acc[i] = g->bias[i];
        }
        for (ky = 0; ky < kh; ky++) {
            const int16_t *e = rows[ky] + ox * step;
            for (kx = 0; kx < kw; kx++, e += tap_step, w++) {
                dw_tap(e, *w, acc);
            }
        }
        for (i = 0; i < g->nc; i++) {
            const int32_t v = g->fast ? mcc_rq_apply(&g->rq[i], acc[i])
                                      : mcc_rq_generic(acc[i], g->mult[i], g->shift[i], d->out_offset);
            o[i] = mcc_rq_clamp(v, d->lo, d->hi);
        }
    }
}

/** Widen input row `in_row` (the group's `nc` channels) into the interior columns `dst` of a band row. */
static MCC_ALWAYS_INLINE void dw_band_fill(const int8_t *in_row, int32_t in_w, int32_t ch, int32_t nc,
                                           int32_t in_off, int16_t *dst)
{
    static const int8_t lane[4] = {0, 2, 1, 3}; /* entry layout: channels c, c+2, c+1, c+3 */
    int32_t ix, i;
#if defined(MCC_DSP)
    if (nc == 4) {
        const int32_t off2 = (int32_t)(((uint32_t)in_off & 0xFFFFu) | ((uint32_t)in_off << 16));
        for (ix = in_w; ix > 0; ix--, in_row += ch, dst += 4) {
            const int32_t xv = mcc_read_s8x4(in_row);
            mcc_write_s16x2(dst, mcc_sxtab16(off2, xv));
            mcc_write_s16x2(dst + 2, mcc_sxtab16_ror8(off2, xv));
        }
        return;
    }
#endif
    for (ix = 0; ix < in_w; ix++, in_row += ch, dst += 4) {
        for (i = 0; i < 4; i++) {
            dst[i] = (int16_t)(lane[i] < nc ? in_row[lane[i]] + in_off : 0);
        }
    }
}

/**
 * Band rows of output row oy into rows[0..KH): input rows are widened into their slot (row mod
 * band_rows) the first time they are needed; rows in the padding get the zero row.
 */
static MCC_ALWAYS_INLINE void dw_band_rows(const dw_ctx *d, int32_t nc, int32_t oy, int32_t *slot_row,
                                           const int16_t **rows)
{
    const int32_t iy0 = oy * d->stride_h - d->pad_h;
    int32_t ky;
    for (ky = 0; ky < d->kh; ky++) {
        const int32_t iy = iy0 + ky * d->dil_h;
        if (iy < 0 || iy >= d->in_h) {
            rows[ky] = d->band + d->band_rows * d->row_len;
        } else {
            const int32_t slot = iy % d->band_rows;
            int16_t *row = d->band + slot * d->row_len;
            if (slot_row[slot] != iy) {
                dw_band_fill(d->in + iy * d->in_w * d->ch, d->in_w, d->ch, nc, d->in_off, row + 4 * d->pad_w);
                slot_row[slot] = iy;
            }
            rows[ky] = row;
        }
    }
}

/** All output rows of the group, 3x3 unrolled or any filter. */
static MCC_ALWAYS_INLINE void dw_group_batch_impl(const dw_ctx *d, const dw_group *g, int32_t is_3x3, int32_t lo,
                                                  int32_t hi)
{
    const int16_t *rows[DW_MAX_BAND_ROWS];
    int32_t slot_row[DW_MAX_BAND_ROWS];
    int32_t oy, i;
    int8_t *o = d->out;
    for (i = 0; i < d->band_rows; i++) {
        MCC_OPAQUE(i); /* a few stores: not a memset call */
        slot_row[i] = -1;
    }
    for (oy = 0; oy < d->out_h; oy++, o += d->out_w * d->ch) {
        dw_band_rows(d, g->nc, oy, slot_row, rows);
        if (is_3x3) {
            dw_row_3x3(rows[0], rows[1], rows[2], d->out_w, 4 * d->stride_w, d->ch, g, o, lo, hi);
        } else {
            dw_row_any(d, rows, g, o);
        }
    }
}

/* Without the DSP extension the planar path's layers take the unrolled 3x3 loop (mcc_variants.h). */
#if defined(MCC_DSP)
#define DW_3X3_BUILT MCC_DW_3X3
#else
#define DW_3X3_BUILT (MCC_DW_3X3 || MCC_DW_PLANAR)
#endif

/** One batch of one group: the unrolled 3x3 (full range clamp or not) where it applies; 1 when the group
 * needed the loop for any filter and the build left it out (mcc_variants.h), else 0. */
static MCC_NOINLINE int32_t dw_group_batch(const dw_ctx *d, const dw_group *g)
{
    /* the unrolled 3x3 variants only where the build carries them (mcc_variants.h) */
    const int32_t is_3x3 = d->kh == 3 && d->kw == 3 && d->dil_w == 1 && g->nc == 4 && g->fast;
    const int32_t full = d->lo == -128 && d->hi == 127;
    if (DW_3X3_BUILT && is_3x3 && full) {
        dw_group_batch_impl(d, g, 1, -128, 127);
    } else if (MCC_DW_3X3_CLAMPED && is_3x3 && !full) {
        dw_group_batch_impl(d, g, 1, d->lo, d->hi);
    } else if (MCC_DW_BAND_ANY) {
        dw_group_batch_impl(d, g, 0, d->lo, d->hi);
    } else {
        return 1;
    }
    return 0;
}

/** Tap table, bias and requantization of the group at channel c (once per group of four channels, not per
 * call: not MCC_COLD, which cost kws 10,000 instructions per depthwise layer on a Cortex-M4). */
static void dw_group_init(const mcc_conv_params *p, const mcc_per_channel_quant *q, const int8_t *filter,
                          const int32_t *bias, int32_t ch, int32_t taps, int32_t c, dw_group *g)
{
    static const int8_t lane[4] = {0, 2, 1, 3};
    int32_t i, t;
    g->nc = mcc_min_i32(4, ch - c);
    g->fast = 1;
    for (i = 0; i < 4; i++) {
        const int32_t valid = i < g->nc;
        g->bias[i] = valid && bias != NULL ? bias[c + i] : 0;
        g->mult[i] = valid ? q->multiplier[c + i] : 0;
        g->shift[i] = valid ? q->shift[c + i] : 0;
        if (!mcc_rq_fast(g->mult[i], g->shift[i]) || !mcc_rq_foldable(g->mult[i], g->shift[i])) {
            g->fast = 0;
        }
    }
    for (i = 0; i < 4 && g->fast; i++) {
        mcc_rq_init(&g->rq[i], g->mult[i], g->shift[i], p->output_offset);
    }
    if (g->nc == 4) {
        const int8_t *w = filter + c;
        for (t = 0; t < taps; t++, w += ch) {
            g->w[t][0] = w[0];
            g->w[t][1] = w[2];
            g->w[t][2] = w[1];
            g->w[t][3] = w[3];
        }
    } else if (MCC_DW_BAND_ANY) { /* a partial group takes the loop for any filter: only built with it */
        for (t = 0; t < taps; t++) {
            for (i = 0; i < 4; i++) {
                g->w[t][i] = (int16_t)(lane[i] < g->nc ? filter[t * ch + c + lane[i]] : 0);
            }
        }
    }
}

/** Depth multiplier 1 through the band (scratch `band` of mcc_depthwise_conv_s8_get_buffer_size() bytes);
 * 0, or 1 when a group needed the loop for any filter and the build left it out. */
static int32_t dw_banded(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                      const int8_t *in, const mcc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                      const mcc_dims *out_dims, int8_t *out, int16_t *band)
{
    const int32_t ch = in_dims->c, taps = filter_dims->h * filter_dims->w;
    dw_band_dims bd;
    dw_group g;
    dw_ctx d;
    int32_t c, b, not_built = 0;
    dw_band_dims_of(p, in_dims, filter_dims, out_dims, &bd);
    d.band = band;
    d.row_len = bd.width * 4;
    d.band_rows = bd.rows;
    d.in_h = in_dims->h;
    d.in_w = in_dims->w;
    d.ch = ch;
    d.out_h = out_dims->h;
    d.out_w = out_dims->w;
    d.kh = filter_dims->h;
    d.kw = filter_dims->w;
    d.stride_h = p->stride_h;
    d.stride_w = p->stride_w;
    d.pad_h = p->pad_h;
    d.pad_w = p->pad_w;
    d.dil_h = p->dilation_h;
    d.dil_w = p->dilation_w;
    d.in_off = p->input_offset;
    d.out_offset = p->output_offset;
    d.lo = p->act_min;
    d.hi = p->act_max;
    /* padding columns and the zero row are never written again */
    for (c = 0; c < (bd.rows + 1) * d.row_len; c += 4) { /* 4 int16 a column: no memset (libc's, ~160 B) */
        MCC_OPAQUE(c);
        mcc_write_s16x2(band + c, 0);
        mcc_write_s16x2(band + c + 2, 0);
    }
    for (c = 0; c < ch; c += 4) {
        dw_group_init(p, q, filter, bias, ch, taps, c, &g);
        for (b = 0; b < out_dims->n; b++) {
            d.in = in + b * in_dims->h * in_dims->w * ch + c;
            d.out = out + b * out_dims->h * out_dims->w * ch + c;
            not_built |= dw_group_batch(&d, &g);
        }
    }
    return not_built;
}

/* ---------------------------------------------- depth multiplier 1, 3x3: channel-planar columns (DSP) */

/*
 * 3x3 filters with dilation 1 and stride_h 1 or 2 (full int8 clamp range, every channel's requantization
 * foldable) walk the output column by column. The scratch holds a ring of the three input columns an
 * output column reads, four channels at a time, each channel's column as its own run of int16 values down
 * y with the input offset added (channel-planar), the padded rows zero. Vertically neighbouring taps of one
 * channel are then one word: a filter column (w0, w1, w2) is kept as the int16 pairs (w0, w1) and (w1, w2),
 * and two output rows y, y + 1 of one column tap (stride 1) v[y..y+3] as
 *
 *     out(y)     += SMLAD((v0, v1), (w0, w1)) + SMLABT((v2, v3), (w1, w2))
 *     out(y + 1) += SMLATB((v0, v1), (w0, w1)) + SMLAD((v2, v3), (w1, w2))
 *
 * one LDRD and four multiply-accumulates for six MACs (stride 2: v[2y..2y+5], one LDR more). The filter is
 * doubled (2w fits int16) and so is the bias, which makes the requantization one SMMLAR (mcc_requant.h's
 * folded sum scaled by 2, whose 2^31 rounding term is SMMLAR's own):
 *
 *     out = (SMMLAR(2 acc, m, 2^(e-1) + output_offset * 2^e) - [acc < 0]) >> e
 *
 * for a right shift e in [1, 22] (a zero multiplier takes e = 1) and |2 acc| < 2^31 (|bias| <= 2^29).
 * Walking x outward keeps the kernel safe in place where the output row is as wide as the input row (the
 * code generator's rule, lower.py depthwise_writes_over_input): output column x is written after input
 * columns up to x * stride_w - pad_w + 2 >= x (pad_w <= 2) were widened, and a widened column is not read
 * from the input again. The ring's columns of one slot lie channel after channel (col_len apart), so the
 * column pointers run on from one channel to the next; the fill is out of line (inlined, its loop spilled).
 */
#if defined(MCC_DSP)
/** Largest |bias| of the planar path: 2 acc must fit in int32. */
#define DW_PL_MAX_BIAS (1 << 29)

/** One channel of the planar path. */
typedef struct {
    int32_t w[3][2]; /* filter column kx: (2 w[0][kx], 2 w[1][kx]) and (2 w[1][kx], 2 w[2][kx]) as int16 pairs */
    int32_t mult;    /* multiplier (byte 24: LDRD with k) */
    int32_t k;       /* 2^(e-1) + output_offset * 2^e */
    int32_t e;       /* right shift, 1..22 (byte 32: LDRD with bias2) */
    int32_t bias2;   /* 2 * bias */
} dw_pl_chan;

/** lo, hi = the two words at p; p += inc bytes (one post-indexed LDRD on Armv7-M; p 4-byte aligned). */
#if defined(__GNUC__) && defined(__thumb2__) && !defined(MCC_EMULATE_DSP)
#define DW_LDRD_POST(p, inc, lo, hi)                                                                        \
    __asm__("ldrd %0, %1, [%2], #%c4"                                                                        \
            : "=r"(lo), "=r"(hi), "+r"(p)                                                                    \
            : "m"(*(const uint8_t(*)[8])(const void *)(p)), "n"(inc))
#else
#define DW_LDRD_POST(p, inc, lo, hi)                                                                        \
    do {                                                                                                     \
        (lo) = mcc_read_s32(p);                                                                              \
        (hi) = mcc_read_s32((p) + 2);                                                                        \
        (p) += (inc) / 2;                                                                                    \
    } while (0)
#endif

/** Requantized, saturated output from 2 acc (see above). */
static MCC_ALWAYS_INLINE int32_t dw_pl_rq(int32_t acc2, int32_t mult, int32_t k, int32_t e)
{
    return mcc_ssat8(mcc_rq2_apply(acc2, mult, k, e));
}

/** 1 when the planar path takes this call: its geometry, the full clamp range and every channel's
 * requantization and bias (q and bias are read only if the geometry fits). */
static int32_t dw_pl_applies(const mcc_conv_params *p, const mcc_per_channel_quant *q, const int32_t *bias,
                             const mcc_dims *filter_dims)
{
    int32_t c;
    if (!dw_pl_geometry(p, filter_dims) || (p->stride_h == 2 && !MCC_DW_PLANAR_S2) || p->act_min != -128 ||
        p->act_max != 127) {
        return 0;
    }
    for (c = 0; c < filter_dims->c; c++) {
        const int32_t m = q->multiplier[c], s = q->shift[c], b = bias != NULL ? bias[c] : 0;
        if (!mcc_rq_fast(m, s) || !mcc_rq_foldable(m, s) || b > DW_PL_MAX_BIAS || b < -DW_PL_MAX_BIAS) {
            return 0;
        }
    }
    return 1;
}

/** The planar constants of channel c (filter [1, 3, 3, ch]). */
static void dw_pl_chan_init(const mcc_conv_params *p, const mcc_per_channel_quant *q, const int8_t *filter,
                            const int32_t *bias, int32_t ch, int32_t c, dw_pl_chan *k)
{
    const int8_t *f = filter + c;
    int32_t kx;
    k->mult = q->multiplier[c];
    k->e = k->mult == 0 ? 1 : -q->shift[c];
    k->k = (1 << (k->e - 1)) + p->output_offset * (1 << k->e);
    k->bias2 = 2 * (bias != NULL ? bias[c] : 0);
    for (kx = 0; kx < 3; kx++, f += ch) {
        const int32_t w0 = 2 * f[0], w1 = 2 * f[3 * ch], w2 = 2 * f[6 * ch];
        k->w[kx][0] = mcc_pkhbt_lsl16(w0, w1);
        k->w[kx][1] = mcc_pkhbt_lsl16(w1, w2);
    }
}

/** Widen input column `in_col` (rows [0, in_h), row step `row_step`) of the group's `nc` channels into
 * channel-planar runs: channel i at dst + i * col_len. */
static MCC_NOINLINE void dw_pl_fill(const int8_t *in_col, int32_t in_h, int32_t row_step, int32_t nc, int32_t in_off,
                       int32_t col_len, int16_t *dst)
{
    int32_t y = 0, i;
    if (nc == 4) {
        const int32_t off2 = (int32_t)(((uint32_t)in_off & 0xFFFFu) | ((uint32_t)in_off << 16));
        int16_t *d1 = dst + col_len, *d2 = dst + 2 * col_len, *d3 = dst + 3 * col_len; /* channels 1, 2, 3 */
        const int8_t *const end = in_col + (in_h >> 1) * 2 * row_step;
        while (in_col != end) {
            const int32_t x0 = mcc_read_s8x4(in_col), x1 = mcc_read_s8x4(in_col + row_step);
            const int32_t a0 = mcc_sxtab16(off2, x0), a1 = mcc_sxtab16(off2, x1);           /* channels 0, 2 */
            const int32_t b0 = mcc_sxtab16_ror8(off2, x0), b1 = mcc_sxtab16_ror8(off2, x1); /* channels 1, 3 */
            in_col += 2 * row_step;
            mcc_write_s16x2(dst, mcc_pkhbt_lsl16(a0, a1));
            dst += 2;
            mcc_write_s16x2(d1, mcc_pkhbt_lsl16(b0, b1));
            d1 += 2;
            mcc_write_s16x2(d2, mcc_pkhtb_asr16(a1, a0));
            d2 += 2;
            mcc_write_s16x2(d3, mcc_pkhtb_asr16(b1, b0));
            d3 += 2;
        }
        if (in_h & 1) { /* an odd last row */
            const int32_t x0 = mcc_read_s8x4(in_col), a0 = mcc_sxtab16(off2, x0), b0 = mcc_sxtab16_ror8(off2, x0);
            dst[0] = (int16_t)a0;
            d1[0] = (int16_t)b0;
            d2[0] = (int16_t)(a0 >> 16);
            d3[0] = (int16_t)(b0 >> 16);
        }
        return;
    }
    for (; y < in_h; y++, in_col += row_step, dst++) { /* fewer than four channels */
        for (i = 0; i < nc; i++) {
            dst[i * col_len] = (int16_t)(in_col[i] + in_off);
        }
    }
}

/** a0, a1 += filter column kx of k over the pair of outputs starting at c (stride_h sh); c advanced past it. */
#define DW_PL_TAPS(c, k, kx, sh, a0, a1)                                                                      \
    do {                                                                                                     \
        int32_t v01_, v23_, v45_, w01_, w12_;                                                                \
        MCC_LDRD(k, 8 * (kx), w01_, w12_);                                                                   \
        if ((sh) == 1) {                                                                                     \
            DW_LDRD_POST(c, 4, v01_, v23_);                                                                  \
            a0 = mcc_smlabt(v23_, w12_, mcc_smlad(v01_, w01_, a0));                                          \
            a1 = mcc_smlad(v23_, w12_, mcc_smlatb(v01_, w01_, a1));                                          \
        } else {                                                                                             \
            DW_LDRD_POST(c, 8, v01_, v23_);                                                                  \
            v45_ = mcc_read_s32(c);                                                                          \
            a0 = mcc_smlabt(v23_, w12_, mcc_smlad(v01_, w01_, a0));                                          \
            a1 = mcc_smlabt(v45_, w12_, mcc_smlad(v23_, w01_, a1));                                          \
        }                                                                                                    \
    } while (0)

/** acc += filter column kx of k over the single output at c. */
#define DW_PL_TAP1(c, k, kx, acc)                                                                             \
    do {                                                                                                     \
        int32_t v01_, v23_, w01_, w12_;                                                                      \
        MCC_LDRD(k, 8 * (kx), w01_, w12_);                                                                   \
        MCC_LDRD(c, 0, v01_, v23_);                                                                          \
        acc = mcc_smlabt(v23_, w12_, mcc_smlad(v01_, w01_, acc));                                            \
    } while (0)

/** The pairs of outputs of one output column of one channel, from o up to end (step o_step), from the planar
 * columns *c0, *c1, *c2 (taps kx = 0, 1, 2) with stride_h sh (1 or 2); the pointers are left past the pairs. */
static MCC_ALWAYS_INLINE void dw_pl_pairs(const int16_t **c0p, const int16_t **c1p, const int16_t **c2p,
                                          const dw_pl_chan *k, int32_t sh, int8_t **op, int8_t *end, int32_t o_step)
{
    const int16_t *c0 = *c0p, *c1 = *c1p, *c2 = *c2p;
    int8_t *o = *op;
    while (o != end) {
        const dw_pl_chan *kp = k;
        int32_t a0, a1, mult, kk, e, b;
        MCC_OPAQUE(kp); /* its words are loaded where used: there are not the registers to keep them */
        MCC_LDRD(kp, 32, e, b);
        a0 = b;
        a1 = b;
        DW_PL_TAPS(c0, kp, 0, sh, a0, a1);
        DW_PL_TAPS(c1, kp, 1, sh, a0, a1);
        DW_PL_TAPS(c2, kp, 2, sh, a0, a1);
        MCC_LDRD(kp, 24, mult, kk);
        o[0] = (int8_t)dw_pl_rq(a0, mult, kk, e);
        o[o_step] = (int8_t)dw_pl_rq(a1, mult, kk, e);
        o += 2 * o_step;
    }
    *c0p = c0;
    *c1p = c1;
    *c2p = c2;
    *op = o;
}

/** One output column of a group of channels: what dw_pl_columns reads (set once per group, cols per column). */
typedef struct {
    const int16_t *cols[3];   /* the input columns of taps kx = 0, 1, 2 (the group's first channel) */
    const dw_pl_chan *k_end;  /* past the group's channels */
    int32_t span;             /* output bytes of the pairs of one channel */
    int32_t skip;             /* int16 from past the pairs to the next channel's column (col_len apart) */
    int32_t o_step;           /* output bytes from one row to the next */
    int32_t odd;              /* the output height is odd: a last single output */
    int32_t sh;               /* stride_h, 1 or 2 */
} dw_pl_col;

/** One output column of the group's channels k..g->k_end, down from o: the pairs, then an odd last output. The
 * column pointers run on from one channel to the next. */
static MCC_NOINLINE void dw_pl_columns(const dw_pl_col *g, const dw_pl_chan *k, int8_t *o)
{
    const int16_t *c0 = g->cols[0], *c1 = g->cols[1], *c2 = g->cols[2];
    const int32_t span = g->span, skip = g->skip, o_step = g->o_step;
    for (; k != g->k_end; k++) {
        int8_t *const end = o + span;
        if (MCC_DW_PLANAR_S2 && g->sh == 2) {
            dw_pl_pairs(&c0, &c1, &c2, k, 2, &o, end, o_step);
        } else {
            dw_pl_pairs(&c0, &c1, &c2, k, 1, &o, end, o_step);
        }
        if (g->odd) { /* the last output: its taps start where the pairs stopped */
            int32_t a, mult, kk, e;
            MCC_LDRD(k, 32, e, a);
            DW_PL_TAP1(c0, k, 0, a);
            DW_PL_TAP1(c1, k, 1, a);
            DW_PL_TAP1(c2, k, 2, a);
            MCC_LDRD(k, 24, mult, kk);
            o[0] = (int8_t)dw_pl_rq(a, mult, kk, e);
        }
        c0 += skip;
        c1 += skip;
        c2 += skip;
        o += 1 - span;
    }
}

/** Depth multiplier 1, 3x3 through the planar columns (scratch `band` of dw_pl_bytes()); dw_pl_applies holds. */
static void dw_planar(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                      const int8_t *in, const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims,
                      int8_t *out, int16_t *band)
{
    const int32_t ch = in_dims->c, in_w = in_dims->w, col_len = dw_pl_col_len(p, in_dims, out_dims);
    const int32_t slot_len = 4 * col_len, o_step = out_dims->w * ch, step_mod = p->stride_w % 3;
    dw_pl_chan chan[4];
    dw_pl_col g;
    int32_t c, b, i, nc, ox, kx;
    for (i = 0; i < 4 * slot_len; i += 16) { /* padding rows and the zero slot are never written again */
        int32_t z = 0;                          /* 16 * col_len int16: whole runs of 32 bytes */
        MCC_OPAQUE(z);
        MCC_STRD(band + i, 0, z, z);
        MCC_STRD(band + i, 8, z, z);
        MCC_STRD(band + i, 16, z, z);
        MCC_STRD(band + i, 24, z, z);
    }
    for (c = 0; c < ch; c += 4) {
        nc = mcc_min_i32(4, ch - c);
        for (i = 0; i < nc; i++) {
            dw_pl_chan_init(p, q, filter, bias, ch, c + i, &chan[i]);
        }
        g.k_end = chan + nc;
        g.span = (out_dims->h >> 1) * 2 * o_step;
        g.skip = col_len - (out_dims->h >> 1) * 2 * p->stride_h;
        g.o_step = o_step;
        g.odd = out_dims->h & 1;
        g.sh = p->stride_h;
        for (b = 0; b < in_dims->n; b++) {
            const int8_t *in_b = in + b * in_dims->h * in_w * ch + c;
            int8_t *o = out + b * out_dims->h * o_step + c;
            /* input column ix lives in slot ix mod 3 once widened; columns are widened in increasing order */
            int32_t ix0 = -p->pad_w, m0 = 3 - p->pad_w, filled = 0;
            const int16_t **cols = g.cols;
            for (ox = 0; ox < out_dims->w; ox++, o += ch, ix0 += p->stride_w, m0 += step_mod) {
                m0 -= m0 >= 3 ? 3 : 0;
                kx = 0;
                if (p->stride_w == 1 && ox > 0) { /* the window moves by one column */
                    cols[0] = cols[1];
                    cols[1] = cols[2];
                    kx = 2;
                }
                for (; kx < 3; kx++) {
                    const int32_t ix = ix0 + kx, slot = m0 + kx < 3 ? m0 + kx : m0 + kx - 3;
                    cols[kx] = band + 3 * slot_len; /* the zero slot */
                    if (ix >= 0 && ix < in_w) {
                        cols[kx] = band + slot * slot_len;
                        if (ix >= filled) { /* not widened yet: never read from the input again */
                            dw_pl_fill(in_b + ix * ch, in_dims->h, in_w * ch, nc, p->input_offset, col_len,
                                       band + slot * slot_len + p->pad_h);
                            filled = ix + 1;
                        }
                    }
                }
                dw_pl_columns(&g, chan, o);
            }
        }
    }
}
#endif /* MCC_DSP */

/**
 * DEPTHWISE_CONV_2D int8 (see mcc_nn.h).
 * @param ctx         scratch of mcc_depthwise_conv_s8_get_buffer_size() bytes, 4-byte aligned; NULL or
 *                    smaller takes the slower per-pixel path
 * @param p           input_offset in [-127, 128], output_offset in [-128, 127], stride >= 1, dilation >= 1,
 *                    pad >= 0, depth_multiplier >= 1, -128 <= act_min <= act_max <= 127
 * @param q           per-output-channel multiplier in [0, 2^31) and shift in [-31, 30]
 * @param in_dims     [N, H, W, C_in]
 * @param in          input tensor, NHWC
 * @param filter_dims [1, KH, KW, C_in * depth_multiplier]
 * @param filter      filter tensor
 * @param bias        [C_in * depth_multiplier] int32, or NULL
 * @param out_dims    [N, OH, OW, C_in * depth_multiplier]
 * @param out         output tensor, NHWC
 * @return MCC_OK, MCC_ARG_ERROR, or MCC_NOT_BUILT when the scratch is missing or small and the build left
 *         out the path without it, or a group needs the band loop for any filter and the build left it out
 *         (mcc_variants.h)
 */
mcc_status mcc_depthwise_conv_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                 const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                 const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out)
{
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        out_dims == NULL || out == NULL || p->depth_multiplier < 1 || filter_dims->n != 1 ||
        filter_dims->c != in_dims->c * p->depth_multiplier || out_dims->c != filter_dims->c ||
        out_dims->n != in_dims->n || p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 ||
        p->dilation_w < 1 || p->pad_h < 0 || p->pad_w < 0) {
        return MCC_ARG_ERROR;
    }
#if defined(MCC_MVE) /* Helium, depth multiplier 1 (kernels/conv/mcc_depthwise_conv_mve.c): its band (half the bytes,
                      * the same limits) takes every call the DSP band and planar paths would, which MVE builds leave out */
    (void)dw_banded;
    (void)dw_planar;
    (void)dw_pl_applies;
    (void)dw_pl_bytes;
    if (mcc_depthwise_conv_s8_mve(p, q, in_dims, in, filter_dims, filter, bias, out_dims, out,
                                  ctx != NULL ? ctx->buf : NULL, ctx != NULL ? ctx->size : 0) == MCC_OK) {
#else
#if defined(MCC_DSP)
    if (MCC_DW_PLANAR && ctx != NULL && ctx->buf != NULL && dw_pl_applies(p, q, bias, filter_dims) &&
        ctx->size >= dw_pl_bytes(p, in_dims, out_dims)) {
        dw_planar(p, q, in_dims, in, filter, bias, out_dims, out, (int16_t *)ctx->buf);
        return MCC_OK;
    }
#endif
    if ((DW_3X3_BUILT || MCC_DW_3X3_CLAMPED || MCC_DW_BAND_ANY) && dw_band_applies(p, filter_dims) && ctx != NULL &&
        ctx->buf != NULL &&
        ctx->size >= mcc_depthwise_conv_s8_get_buffer_size(p, in_dims, filter_dims, out_dims)) {
        if (dw_banded(p, q, in_dims, in, filter_dims, filter, bias, out_dims, out, (int16_t *)ctx->buf)) {
            return MCC_NOT_BUILT; /* the build left the band loop for any filter out (mcc_variants.h) */
        }
#endif
    } else if (MCC_DW_PER_PIXEL) {
        dw_per_pixel(p, q, in_dims, in, filter_dims, filter, bias, out_dims, out);
    } else {
        return MCC_NOT_BUILT; /* the build left the per-pixel path out (mcc_variants.h) */
    }
    return MCC_OK;
}
