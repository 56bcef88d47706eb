/**
 * @file mcc_depthwise_conv_mve.c
 * @brief DEPTHWISE_CONV_2D int8 with depth multiplier 1 on Helium (MVE): the path mcc_depthwise_conv_s8 takes
 *        first on an MVE target (mcc_mve_kernels.h), bit-exact with TFLM's DepthwiseConvPerChannel.
 *
 * The same order as the DSP band path of mcc_depthwise_conv_s8.c, so that it may write its output over its input
 * as the planner allows there (lower.py: depthwise_writes_over_input): group by group of four channels, output row
 * by output row, each input row copied into its band slot (row mod band rows) the first time an output row needs
 * it, before that output row is written. The band holds raw int8 (four channels a column, in the scratch the DSP
 * band of int16 takes), its padding columns and an extra row hold the input zero point: every output pixel then
 * runs the whole window, padded taps adding w * (zero point + input_offset) = 0 as TFLM's skipped taps do, and
 * the input offset enters once, in the group's start value bias + input_offset * (sum of its taps). A tap of four
 * channels is a widening load (VLDRB.S32) of the band, a VMUL by the tap widened once per group and a VADD (MVE has
 * no vector-by-vector multiply-accumulate). 3x3 filters with dilation 1 and stride 1 or 2 run a whole output row
 * as pixel pairs in inline asm (each tap loaded once for both pixels, requantization included); other filters
 * loop over their taps. Requantization is one vector per pixel (mcc_mve.h); a last group of C mod 4 channels
 * loads its filter and stores predicated. The 3x3 copy and the loop for any filter follow the project's
 * depthwise switches (mcc_variants.h: MCC_DW_3X3 / MCC_DW_3X3_CLAMPED, MCC_DW_BAND_ANY), set for the same layers.
 */
#include <stddef.h>

#include "mcc_mve_kernels.h"
#include "mcc_variants.h"

#if defined(MCC_MVE)

#include "mcc_fixedpoint.h"

/** Largest filter (KH * KW taps) and band (input rows, (KH - 1) * dilation_h + 1): the DSP band path's limits. */
#define DW_MVE_MAX_TAPS 25
#define DW_MVE_MAX_ROWS 16

/** acc + a * b lane by lane. */
#define DW_MLA(acc, a, b) vaddq_s32((acc), vmulq_s32((a), (b)))

#if defined(__GNUC__)
/* One tap of two pixels: band entries at e + eo and e + fo (four int8 channels each; VLDRB.S32 wants a low
 * register) times the widened tap at byte wo of wt, loaded once for both. */
#define DW_TAP2(e, eo, fo, wo)                                                                                \
    "vldrw.32  %q[t1], [%[wt], #" wo "]\n\t"                                                                 \
    "vldrb.s32 %q[t0], [%[" e "], #" eo "]\n\t"                                                              \
    "vmul.i32  %q[t0], %q[t0], %q[t1]\n\t"                                                                   \
    "vadd.i32  %q[a0], %q[a0], %q[t0]\n\t"                                                                   \
    "vldrb.s32 %q[t0], [%[" e "], #" fo "]\n\t"                                                              \
    "vmul.i32  %q[t0], %q[t0], %q[t1]\n\t"                                                                   \
    "vadd.i32  %q[a1], %q[a1], %q[t0]\n\t"
/* A filter row of three taps for two pixels `s` band entries apart (stride 1: "4", "8", "12"; 2: "8", "12", "16"). */
#define DW_ROW2(e, f1, f2, f3, w1, w2, w3)                                                                    \
    DW_TAP2(e, "0", f1, w1) DW_TAP2(e, "4", f2, w2) DW_TAP2(e, "8", f3, w3)
/* One tap of one pixel. */
#define DW_TAP1(e, eo, wo)                                                                                    \
    "vldrw.32  %q[t1], [%[wt], #" wo "]\n\t"                                                                 \
    "vldrb.s32 %q[t0], [%[" e "], #" eo "]\n\t"                                                              \
    "vmul.i32  %q[t0], %q[t0], %q[t1]\n\t"                                                                   \
    "vadd.i32  %q[a0], %q[a0], %q[t0]\n\t"
#define DW_ROW1(e, w1, w2, w3) DW_TAP1(e, "0", w1) DW_TAP1(e, "4", w2) DW_TAP1(e, "8", w3)
#define DW_3X3_ONE()                                                                                          \
    __asm__(DW_ROW1("e0", "0", "16", "32") DW_ROW1("e1", "48", "64", "80") DW_ROW1("e2", "96", "112", "128")  \
            : [a0] "+w"(a0), [t0] "=&w"(t0), [t1] "=&w"(t1)                                                   \
            : [e0] "l"(e0), [e1] "l"(e1), [e2] "l"(e2), [wt] "r"(wt), "m"(*(const int8_t(*)[144])wt)           \
            : "memory")
/* Requantize a0 and a1 with the group's constants at cb (mcc_mve.h's sequence; see dw_consts) and store them at o0
 * and o1 (VSTRB.32 wants low registers). */
#define DW_REQUANT2                                                                                           \
    "vldrw.32  %q[t1], [%[cb], #32]\n\t"                                                                     \
    "vshl.s32  %q[a0], %q[a0], %q[t1]\n\t"                                                                   \
    "vshl.s32  %q[a1], %q[a1], %q[t1]\n\t"                                                                   \
    "vldrw.32  %q[t1], [%[cb], #16]\n\t"                                                                     \
    "vqrdmulh.s32 %q[a0], %q[a0], %q[t1]\n\t"                                                                \
    "vqrdmulh.s32 %q[a1], %q[a1], %q[t1]\n\t"                                                                \
    "vldrw.32  %q[t1], [%[cb], #48]\n\t"                                                                     \
    "vand      %q[t0], %q[a0], %q[t1]\n\t"                                                                   \
    "vshr.s32  %q[t0], %q[t0], #31\n\t"                                                                      \
    "vqadd.s32 %q[a0], %q[a0], %q[t0]\n\t"                                                                   \
    "vrshl.s32 %q[a0], %q[a0], %q[t1]\n\t"                                                                   \
    "vand      %q[t0], %q[a1], %q[t1]\n\t"                                                                   \
    "vshr.s32  %q[t0], %q[t0], #31\n\t"                                                                      \
    "vqadd.s32 %q[a1], %q[a1], %q[t0]\n\t"                                                                   \
    "vrshl.s32 %q[a1], %q[a1], %q[t1]\n\t"                                                                   \
    "vadd.i32  %q[a0], %q[a0], %[off]\n\t"                                                                   \
    "vadd.i32  %q[a1], %q[a1], %[off]\n\t"                                                                   \
    "vldrw.32  %q[t1], [%[cb], #64]\n\t"                                                                     \
    "vmax.s32  %q[a0], %q[a0], %q[t1]\n\t"                                                                   \
    "vmax.s32  %q[a1], %q[a1], %q[t1]\n\t"                                                                   \
    "vldrw.32  %q[t1], [%[cb], #80]\n\t"                                                                     \
    "vmin.s32  %q[a0], %q[a0], %q[t1]\n\t"                                                                   \
    "vmin.s32  %q[a1], %q[a1], %q[t1]\n\t"                                                                   \
    "vstrb.32  %q[a0], [%[o0]]\n\t"                                                                          \
    "vstrb.32  %q[a1], [%[o1]]\n\t"
/* `n` (>= 1) pixel pairs of a 3x3 row: the second pixel `s` band bytes after the first (f1..f3 = s + 0, 4, 8, e.g.
 * stride 1: "4", "8", "12"); the band pointers advance by 2s ("8" or "16") and the outputs by ch2 = 2 * C. */
#define DW_3X3_ROW(f1, f2, f3, s2)                                                                            \
    __asm__ volatile("dls     lr, %[n]\n"                                                                     \
                     "1:\n\t"                                                                                \
                     "vldrw.32  %q[a0], [%[cb]]\n\t"                                                         \
                     "vldrw.32  %q[a1], [%[cb]]\n\t"                                                         \
                     DW_ROW2("e0", f1, f2, f3, "0", "16", "32") DW_ROW2("e1", f1, f2, f3, "48", "64", "80")    \
                     DW_ROW2("e2", f1, f2, f3, "96", "112", "128") DW_REQUANT2                                 \
                     "adds      %[e0], #" s2 "\n\t"                                                           \
                     "adds      %[e1], #" s2 "\n\t"                                                           \
                     "adds      %[e2], #" s2 "\n\t"                                                           \
                     "add       %[o0], %[o0], %[ch2]\n\t"                                                     \
                     "add       %[o1], %[o1], %[ch2]\n\t"                                                     \
                     "le        lr, 1b"                                                                      \
                     : [a0] "=&w"(a0), [a1] "=&w"(a1), [t0] "=&w"(t0), [t1] "=&w"(t1), [e0] "+l"(e0),          \
                       [e1] "+l"(e1), [e2] "+l"(e2), [o0] "+l"(o0), [o1] "+l"(o1)                              \
                     : [n] "r"(n), [wt] "r"(wt), [cb] "r"(cb), [off] "r"(off), [ch2] "r"(2 * ch)               \
                     : "lr", "memory")
#endif

/** What every group shares. */
typedef struct {
    int8_t *band;                /* rows + 1 band rows of `width` columns of four int8; the last row: zero points */
    int32_t width, band_rows;
    int32_t in_h, in_w, ch, out_h, out_w, kh, kw;
    int32_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
} dw_mve;

/** Band bytes for this call, or 0 when the band does not apply (the limits above, depth multiplier 1). */
static int32_t band_bytes(const mcc_conv_params *p, const mcc_dims *in_dims, const mcc_dims *filter_dims,
                          const mcc_dims *out_dims, int32_t *width)
{
    const int32_t reach = (out_dims->w - 1) * p->stride_w + (filter_dims->w - 1) * p->dilation_w + 1;
    const int32_t rows = (filter_dims->h - 1) * p->dilation_h + 1;
    if (p->depth_multiplier != 1 || filter_dims->h * filter_dims->w > DW_MVE_MAX_TAPS || rows > DW_MVE_MAX_ROWS) {
        return 0;
    }
    *width = p->pad_w + in_dims->w + mcc_max_i32(reach - p->pad_w - in_dims->w, 0);
    return (rows + 1) * *width * 4;
}

/** Input row `row` (at channel c) into a band row (past its left padding): four channels a column. */
static void fill_row(const int8_t *row, int32_t in_w, int32_t ch, int32_t nc, int8_t *dst)
{
    int32_t ix, i;
    if (nc == 4) {
        for (ix = in_w; ix > 0; ix--, row += ch, dst += 4) {
            int32_t v;
            __builtin_memcpy(&v, row, 4); /* one LDR and one STR */
            __builtin_memcpy(dst, &v, 4);
        }
        return;
    }
    for (ix = 0; ix < in_w; ix++, row += ch, dst += 4) { /* the last group: its channels only */
        for (i = 0; i < nc; i++) {
            dst[i] = row[i];
        }
    }
}

/** One group (channels c .. c + nc - 1) of one batch: `in` and `out` at channel c of the batch. */
static MCC_ALWAYS_INLINE void dw_group(const dw_mve *d, const mcc_conv_params *p, const int8_t *in, int8_t *out,
                                       const int8_t *f, int32x4_t full, int32x4_t mult, int32x4_t shift, int32_t nc,
                                       int32_t is_3x3)
{
    const int32x4_t vlo = vdupq_n_s32(p->act_min), vhi = vdupq_n_s32(p->act_max);
    const mve_pred16_t pr = vctp32q((uint32_t)nc);
    int32x4_t wt[9];    /* 3x3: the taps widened once per group */
    int32x4_t cb[6];    /* 3x3: full, mult, left shift, right shift (<= 0), lo, hi: the asm row's constants */
    const int8_t *rows[DW_MVE_MAX_ROWS];
    int32_t slot_row[DW_MVE_MAX_ROWS];
    const int32_t ch = d->ch, kw = d->kw, step = 4 * d->stride_w, dstep = 4 * d->dil_w;
    int32_t oy, ox, ky, kx, i;
    for (i = 0; i < d->band_rows; i++) {
        slot_row[i] = -1;
    }
    for (i = 0; is_3x3 && i < 9; i++) {
        wt[i] = vldrbq_s32(f + i * ch);
    }
    cb[0] = full;
    cb[1] = mult;
    cb[2] = vmaxq_s32(shift, vdupq_n_s32(0));
    cb[3] = vminq_s32(shift, vdupq_n_s32(0));
    cb[4] = vlo;
    cb[5] = vhi;
    for (oy = 0; oy < d->out_h; oy++) {
        const int32_t iy0 = oy * d->stride_h - d->pad_h;
        for (ky = 0; ky < d->kh; ky++) { /* the band rows of this output row, filled where first needed */
            const int32_t iy = iy0 + ky * d->dil_h;
            if (iy < 0 || iy >= d->in_h) {
                rows[ky] = d->band + d->band_rows * d->width * 4;
            } else {
                const int32_t slot = iy % d->band_rows;
                int8_t *row = d->band + slot * d->width * 4;
                if (slot_row[slot] != iy) {
                    fill_row(in + iy * d->in_w * ch, d->in_w, ch, nc, row + 4 * d->pad_w);
                    slot_row[slot] = iy;
                }
                rows[ky] = row;
            }
        }
        ox = 0;
#if defined(__GNUC__)
        /* 3x3 with stride 1 or 2 (GCC): two pixels at a time in inline asm, each widened tap loaded once for both
         * (GCC's own code spills the nine taps' addresses and the constants around every pixel) */
        if (is_3x3 && (step == 4 || step == 8) && d->out_w >= 2) {
            const int32_t n = d->out_w >> 1, off = p->output_offset;
            const int8_t *e0 = rows[0], *e1 = rows[1], *e2 = rows[2];
            int8_t *o0 = out, *o1 = out + ch;
            int32x4_t a0, a1, t0, t1;
            if (step == 4) {
                DW_3X3_ROW("4", "8", "12", "8");
            } else {
                DW_3X3_ROW("8", "12", "16", "16");
            }
            ox = 2 * n;
            out += 2 * n * ch;
        }
#endif
        for (; ox < d->out_w; ox++, out += ch) {
            const int32_t e = ox * step;
            int32x4_t acc = full;
            if (is_3x3) {
                const int8_t *e0 = rows[0] + e, *e1 = rows[1] + e, *e2 = rows[2] + e;
#if defined(__GNUC__)
                int32x4_t a0 = acc, t0, t1;
                DW_3X3_ONE();
                acc = a0;
#else
                acc = DW_MLA(acc, vldrbq_s32(e0), wt[0]);
                acc = DW_MLA(acc, vldrbq_s32(e0 + 4), wt[1]);
                acc = DW_MLA(acc, vldrbq_s32(e0 + 8), wt[2]);
                acc = DW_MLA(acc, vldrbq_s32(e1), wt[3]);
                acc = DW_MLA(acc, vldrbq_s32(e1 + 4), wt[4]);
                acc = DW_MLA(acc, vldrbq_s32(e1 + 8), wt[5]);
                acc = DW_MLA(acc, vldrbq_s32(e2), wt[6]);
                acc = DW_MLA(acc, vldrbq_s32(e2 + 4), wt[7]);
                acc = DW_MLA(acc, vldrbq_s32(e2 + 8), wt[8]);
#endif
            } else {
                const int8_t *w = f;
                for (ky = 0; ky < d->kh; ky++) {
                    const int8_t *x = rows[ky] + e;
                    for (kx = 0; kx < kw; kx++, x += dstep, w += ch) {
                        acc = DW_MLA(acc, vldrbq_s32(x), vldrbq_z_s32(w, pr));
                    }
                }
            }
            acc = mcc_mve_requant_clamp(acc, mult, shift, p->output_offset, vlo, vhi);
            if (nc == 4) {
                vstrbq_s32(out, acc);
            } else {
                vstrbq_p_s32(out, acc, pr);
            }
        }
    }
}

/** 1 when the group of nc channels takes the 3x3 copy: four channels, 3x3, dilation_w 1. */
static int32_t takes_3x3(const dw_mve *d, int32_t nc) { return nc == 4 && d->kh == 3 && d->kw == 3 && d->dil_w == 1; }

/** The 3x3 copy where the build carries it (mcc_variants.h: the DSP band path's 3x3 switches, which a project sets
 *  for the same layers), else the loop for any filter (its switch MCC_DW_BAND_ANY). */
/* MCC_DW_PLANAR: a layer the DSP builds give the planar column path (none on Helium) takes the 3x3 windows here */
#define DW_MVE_3X3 (MCC_DW_3X3 || MCC_DW_3X3_CLAMPED || MCC_DW_PLANAR)

/** One group of one batch: the unrolled 3x3 copy for full groups, the loop for any filter otherwise. */
static MCC_NOINLINE void dw_group_batch(const dw_mve *d, const mcc_conv_params *p, const int8_t *in, int8_t *out,
                                        const int8_t *f, int32x4_t full, int32x4_t mult, int32x4_t shift, int32_t nc)
{
    if (DW_MVE_3X3 && takes_3x3(d, nc)) {
        dw_group(d, p, in, out, f, full, mult, shift, 4, 1);
    } else if (MCC_DW_BAND_ANY) {
        dw_group(d, p, in, out, f, full, mult, shift, nc, 0);
    }
}

#if defined(__GNUC__)
/* ---- The channel planes: any window of at most 16 taps, one channel at a time ----
 * Each channel's input is copied into a plane of int8 whose padding rows and columns hold the input zero point
 * (written once per call). A window is then one gather of 16 bytes (VLDRB.U8 with byte offsets: the taps'
 * positions in the plane; lanes past the taps read the window's first byte and meet zero weights) and one
 * VMLADAV.S8 with the channel's taps. Where each output pixel's window starts in the plane is a table of
 * pointers built once per call, so that the pixels of a channel run as one stream of groups of four, whatever
 * the rows' widths: the four sums are requantized as one vector with the channel's constants as scalars and
 * stored with one scatter (C bytes apart). A channel's plane is complete before any of its outputs is
 * written, and its outputs go to that channel's positions only: the output may start at the input. */

/** What plane_channel needs of the call. */
typedef struct {
    int32_t pw, ph;      /* plane columns and rows */
    int32_t pixels, ch;  /* output pixels per batch, channels */
    int32_t plane_bytes; /* the plane, rounded up to 4, then the table of `pixels` pointers */
} pl_geom;

/** Scratch bytes of the planes for this call in *g (0: the window does not suit them). */
static int32_t plane_bytes(const mcc_conv_params *p, const mcc_dims *in_dims, const mcc_dims *filter_dims,
                           const mcc_dims *out_dims, pl_geom *g)
{
    const int32_t kh = filter_dims->h, kw = filter_dims->w;
    g->pw = mcc_max_i32(p->pad_w + in_dims->w, (out_dims->w - 1) * p->stride_w + (kw - 1) * p->dilation_w + 1);
    g->ph = mcc_max_i32(p->pad_h + in_dims->h, (out_dims->h - 1) * p->stride_h + (kh - 1) * p->dilation_h + 1);
    g->pixels = out_dims->h * out_dims->w;
    g->ch = in_dims->c;
    g->plane_bytes = (g->ph * g->pw + 3) & ~3;
    if (p->depth_multiplier != 1 || kh * kw > 16 || (kh - 1) * p->dilation_h * g->pw + (kw - 1) * p->dilation_w > 255 ||
        15 * g->ch > 65535) {
        return 0;
    }
    return g->plane_bytes + 4 * g->pixels;
}

/** One channel of the batch's input (`in` at the channel: in_h rows of in_w pixels) into the plane at dst. */
static void plane_fill(const uint8_t *in, int32_t in_h, int32_t in_w, int32_t ch, uint8_t *dst, int32_t pw)
{
    const uint16x8_t offs = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)ch); /* eight pixels, ch bytes apart */
    const mve_pred16_t last = vctp16q((uint32_t)(in_w & 7));                /* a row's last pixels */
    const int32_t full = in_w >> 3, row = in_w * ch;
    int32_t y, x;
    for (y = in_h; y > 0; y--, in += row, dst += pw) {
        const uint8_t *s = in;
        uint8_t *d = dst;
        for (x = full; x > 0; x--, s += 8 * ch, d += 8) {
            vstrbq_u16(d, vldrbq_gather_offset_u16(s, offs));
        }
        if (in_w & 7) {
            vstrbq_p_u16(d, vldrbq_gather_offset_z_u16(s, offs, last), last);
        }
    }
}

/* Two windows (pointers from the table at t) into lanes `lo` (the second) and `hi` (the first) of acc.
 * VMLADAV wants even registers. */
#define PL_PAIR(hi, lo)                                                                                      \
    "ldrd      %[e0], %[e1], [%[t]], #8\n\t"                                                                 \
    "vldrb.u8  %q[d], [%[e0], %q[taps]]\n\t"                                                                 \
    "vmladav.s8 %[a0], %q[d], %q[w]\n\t"                                                                     \
    "vldrb.u8  %q[d], [%[e1], %q[taps]]\n\t"                                                                 \
    "vmladav.s8 %[a1], %q[d], %q[w]\n\t"                                                                     \
    "vmov      %q[acc][" hi "], %q[acc][" lo "], %[a1], %[a0]\n\t"

/** Every output pixel of one channel (plane ready; `out` at the channel's first output, `t` the table). */
static MCC_NOINLINE void plane_channel(const pl_geom *g, const mcc_conv_params *p, int8_t *const *t, int8x16_t w,
                                       uint8x16_t taps, int32_t start, int32_t mult, int32_t shift, int8_t *out)
{
    const int32_t left = shift > 0 ? shift : 0, right = shift < 0 ? shift : 0, ch = g->ch;
    const int32x4_t fix = vdupq_n_s32(shift < 0 ? -1 : 0); /* the rounding fix where the shift is right */
    const int32x4_t vlo = vdupq_n_s32(p->act_min), vhi = vdupq_n_s32(p->act_max);
    /* VMOV Qd[2], Qd[0], Rt, Rt2 puts Rt in the lower lane (GNU as, QEMU): PL_PAIR leaves pixels 1, 3, 0, 2
     * in lanes 0 to 3 */
    static const uint32_t pixel_of_lane[4] = {1, 3, 0, 2};
    const uint32x4_t soffs = vmulq_n_u32(vldrwq_u32(pixel_of_lane), (uint32_t)ch);
    const int32_t off = p->output_offset, n = g->pixels >> 2, rest = g->pixels & 3;
    int8_t *o = out;
    int32_t k;
    if (n > 0) {
        register int32_t a0 __asm__("r0"), a1 __asm__("r2");
        const int8_t *e0, *e1;
        int8x16_t d;
        int32x4_t acc;
        __asm__ volatile("dls       lr, %[n]\n"
                         "1:\n\t" PL_PAIR("2", "0") PL_PAIR("3", "1")
                         "vadd.i32  %q[acc], %q[acc], %[start]\n\t"
                         "vshl.s32  %q[acc], %[left]\n\t"
                         "vqrdmulh.s32 %q[acc], %q[acc], %[mult]\n\t"
                         "vshr.s32  %q[d], %q[acc], #31\n\t"
                         "vand      %q[d], %q[d], %q[fix]\n\t"
                         "vqadd.s32 %q[acc], %q[acc], %q[d]\n\t"
                         "vrshl.s32 %q[acc], %[right]\n\t"
                         "vadd.i32  %q[acc], %q[acc], %[off]\n\t"
                         "vmax.s32  %q[acc], %q[acc], %q[lo]\n\t"
                         "vmin.s32  %q[acc], %q[acc], %q[hi]\n\t"
                         "vstrb.32  %q[acc], [%[o], %q[so]]\n\t"
                         "add       %[o], %[o], %[ostep]\n\t"
                         "le        lr, 1b"
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [e0] "=&r"(e0), [e1] "=&r"(e1), [d] "=&w"(d),
                           [acc] "=&w"(acc), [t] "+r"(t), [o] "+r"(o)
                         : [n] "r"(n), [taps] "w"(taps), [w] "w"(w), [start] "r"(start), [left] "r"(left),
                           [mult] "r"(mult), [fix] "w"(fix), [right] "r"(right), [off] "r"(off), [lo] "w"(vlo),
                           [hi] "w"(vhi), [so] "w"(soffs), [ostep] "r"(4 * ch)
                         : "lr", "memory");
    }
    for (k = 0; k < rest; k++, o += ch) { /* the last one to three pixels */
        const int32_t sum = start + vmladavq_s8(vldrbq_gather_offset_s8(t[k], taps), w);
        *o = (int8_t)vgetq_lane_s32(mcc_mve_requant_clamp(vdupq_n_s32(sum), vdupq_n_s32(mult), vdupq_n_s32(shift),
                                                          off, vlo, vhi), 0);
    }
}

/** The channel planes for this call (scratch of plane_bytes()). */
static void dw_planes(const pl_geom *g, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                      const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims, const int8_t *filter,
                      const int32_t *bias, const mcc_dims *out_dims, int8_t *out, int8_t *plane)
{
    const int32_t ch = in_dims->c, kh = filter_dims->h, kw = filter_dims->w, taps = kh * kw, pw = g->pw;
    int8_t **table = (int8_t **)(void *)(plane + g->plane_bytes);
    const uint16x8_t we = vmulq_n_u16(vidupq_n_u16(0, 2), (uint16_t)ch), wo = vaddq_n_u16(we, (uint16_t)ch);
    const mve_pred16_t pe = vctp16q((uint32_t)(taps + 1) >> 1), po = vctp16q((uint32_t)taps >> 1);
    int8_t tap_at[16];
    int32_t c, b, t, y, x;
    uint8x16_t taps_v;
    for (t = 0; t < 16; t++) {
        tap_at[t] = (int8_t)(t >= taps ? 0 : (t / kw) * p->dilation_h * pw + (t % kw) * p->dilation_w);
    }
    taps_v = vreinterpretq_u8_s8(vldrbq_s8(tap_at));
    for (t = 0; t < g->plane_bytes; t += 16) { /* the padding keeps the zero point: channels write the inside only */
        vstrbq_p_s8(plane + t, vdupq_n_s8((int8_t)(-p->input_offset)), vctp8q((uint32_t)(g->plane_bytes - t)));
    }
    for (y = 0, t = 0; y < out_dims->h; y++) {
        for (x = 0; x < out_dims->w; x++) {
            table[t++] = plane + y * p->stride_h * pw + x * p->stride_w;
        }
    }
    for (b = 0; b < out_dims->n; b++) {
        const int8_t *in_b = in + b * in_dims->h * in_dims->w * ch;
        int8_t *out_b = out + b * g->pixels * ch;
        for (c = 0; c < ch; c++) {
            /* the channel's taps: even ones into the even bytes, odd ones into the odd bytes, zeros past them */
            const int8x16_t wv = vmovntq_s16(vmovnbq_s16(vdupq_n_s8(0), vldrbq_gather_offset_z_s16(filter + c, we, pe)),
                                             vldrbq_gather_offset_z_s16(filter + c, wo, po));
            plane_fill((const uint8_t *)in_b + c, in_dims->h, in_dims->w, ch, (uint8_t *)plane + p->pad_h * pw + p->pad_w,
                       pw);
            plane_channel(g, p, (int8_t *const *)table, wv, taps_v,
                          (bias != NULL ? bias[c] : 0) + p->input_offset * vaddvq_s8(wv), q->multiplier[c],
                          q->shift[c], out_b + c);
        }
    }
}
#endif /* __GNUC__ */

mcc_status mcc_depthwise_conv_s8_mve(const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                     const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                     const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims,
                                     int8_t *out, void *scratch, int32_t size)
{
    const int32_t taps = filter_dims->h * filter_dims->w, ch = in_dims->c, off = p->input_offset;
    int32_t width = 0, bytes = band_bytes(p, in_dims, filter_dims, out_dims, &width), c, b, t;
    dw_mve d;
#if defined(__GNUC__)
    pl_geom g;
    const int32_t pbytes = plane_bytes(p, in_dims, filter_dims, out_dims, &g);
    if (pbytes > 0 && scratch != NULL && size >= pbytes && ((uintptr_t)scratch & 3) == 0) {
        dw_planes(&g, p, q, in_dims, in, filter_dims, filter, bias, out_dims, out, (int8_t *)scratch);
        return MCC_OK;
    }
#endif
    if (!(DW_MVE_3X3 || MCC_DW_BAND_ANY) || bytes == 0 || scratch == NULL || size < bytes) {
        return MCC_NOT_BUILT; /* (a build whose layers all take the planes leaves the band out) */
    }
    d.band = (int8_t *)scratch;
    d.width = width;
    d.band_rows = (filter_dims->h - 1) * p->dilation_h + 1;
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
    /* every group's loop must be in the build before any output is written (the output may overlay the input) */
    if ((!DW_MVE_3X3 && takes_3x3(&d, 4) && ch >= 4) || (!MCC_DW_BAND_ANY && (!takes_3x3(&d, 4) || (ch & 3) != 0))) {
        return MCC_NOT_BUILT;
    }
    /* padding columns and the extra row hold the zero point and are never written again */
    for (t = 0; t < bytes; t += 16) {
        vstrbq_p_s8(d.band + t, vdupq_n_s8((int8_t)(-off)), vctp8q((uint32_t)(bytes - t)));
    }
    for (c = 0; c < ch; c += 4) {
        const int32_t nc = mcc_min_i32(4, ch - c);
        const mve_pred16_t pr = vctp32q((uint32_t)nc);
        const int32x4_t vb = bias != NULL ? vldrwq_z_s32(bias + c, pr) : vdupq_n_s32(0);
        int32x4_t wsum = vdupq_n_s32(0);
        for (t = 0; t < taps; t++) {
            wsum = vaddq_s32(wsum, vldrbq_z_s32(filter + t * ch + c, pr));
        }
        for (b = 0; b < out_dims->n; b++) {
            dw_group_batch(&d, p, in + b * in_dims->h * in_dims->w * ch + c,
                           out + b * out_dims->h * out_dims->w * ch + c,
                           filter + c, vmlaq_n_s32(vb, wsum, off), vldrwq_z_s32(q->multiplier + c, pr),
                           vldrwq_z_s32(q->shift + c, pr), nc);
        }
    }
    return MCC_OK;
}

#else
typedef int mcc_depthwise_conv_mve_unused; /* ISO C: a translation unit is not empty */
#endif /* MCC_MVE */
