/**
 * @file mcc_convolve_mve.c
 * @brief CONV_2D int8 on Helium (MVE): the path mcc_convolve_s8 and mcc_convolve_1x1_s8 take on an MVE target
 *        (mcc_mve_kernels.h), bit-exact with TFLM's reference_integer_ops::ConvPerChannel.
 *
 * Two output pixels at a time are unrolled (im2col) as raw int8, interleaved by chunks of 16 values: value j of
 * pixel s at byte 32 * (j / 16) + 16 * s + j % 16, so one pointer walks both columns (a 1x1 convolution without
 * padding copies the pixel's C_in values, a window inside the input its filter rows). Padded taps hold the input
 * zero point (-input_offset): the input offset enters once per output channel, in the start value bias +
 * input_offset * sum(filter row) computed once per call, and a padded tap adds w * (zp + input_offset) = 0 as
 * TFLM's skipped taps do. Three filter rows (output channels) meet the two columns per 16 values: three filter
 * loads, two column loads and six VMLADAVA.S8 (96 MACs), in inline asm with the accumulators in the even
 * registers VMLADAVA wants; K <= 16 keeps the columns in registers for every block of rows. The last partial
 * chunk of K loads its filter bytes predicated (zeros meet the columns' unused bytes). The raw sums of a chunk
 * of channels are then requantized four channels at a time for both pixels (mcc_mve.h's arithmetic, inline asm).
 *
 * Scratch: the columns (on the stack for K <= 16), the start values, and the raw sums when they fit (else a
 * stack buffer of MVE_CHUNK channels): never more than the DSP paths' buffer size (2 * K int16 and 16 bytes per
 * output channel), so the Helium path takes every call that has that much.
 */
#include <stddef.h>

#include "mcc_mve_kernels.h"
#include "mcc_variants.h"

#if defined(MCC_MVE)

#include "mcc_fixedpoint.h"

/** The im2col of filters other than 1x1 without padding: in the build where a layer needs it (the general
 *  convolution's im2col switches of mcc_variants.h, which variants.py sets for the layers the window rows do
 *  not take). */
#define MVE_IM2COL (MCC_IM2COL_GROUPED || MCC_IM2COL_GATHER || MCC_IM2COL_VALUES)

/** Column bytes for K values: two pixels, K rounded up to 16 (interleaved by chunks of 16). */
static int32_t columns_bytes(int32_t k) { return 2 * ((k + 15) & ~15); }

/** n values from src (or n copies of `fill` when src is NULL) to positions j.. of column s: a partial first
 *  chunk, whole chunks, a partial last chunk (the partial ones predicated). */
static MCC_NOINLINE void put_n(int8_t *buf, int32_t s, int32_t j, const int8_t *src, int8_t fill, int32_t n)
{
    const int32_t r = j & 15;
    int8_t *dst = buf + 2 * (j - r) + 16 * s + r;
    if (n <= 0) {
        return;
    }
    if (r != 0 || n < 16) { /* up to the end of the first chunk */
        const int32_t len = n < 16 - r ? n : 16 - r;
        const mve_pred16_t pr = vctp8q((uint32_t)len);
        vstrbq_p_s8(dst, src != NULL ? vldrbq_z_s8(src, pr) : vdupq_n_s8(fill), pr);
        n -= len;
        dst += 32 - r;
        if (src != NULL) {
            src += len;
        }
    }
    for (; n >= 16; n -= 16, dst += 32) {
        if (src != NULL) {
            vstrbq_s8(dst, vldrbq_s8(src));
            src += 16;
        } else {
            vstrbq_s8(dst, vdupq_n_s8(fill));
        }
    }
    if (n > 0) {
        const mve_pred16_t pr = vctp8q((uint32_t)n);
        vstrbq_p_s8(dst, src != NULL ? vldrbq_z_s8(src, pr) : vdupq_n_s8(fill), pr);
    }
}

/** put_n where n > 0 (the padding runs are mostly empty: no call for them); a run inside one chunk (a filter
 *  row of a first layer: KW * C_in values) is one predicated copy in line. */
static MCC_ALWAYS_INLINE void put(int8_t *buf, int32_t s, int32_t j, const int8_t *src, int8_t fill, int32_t n)
{
    const int32_t r = j & 15;
    if (n > 0 && n <= 16 - r && src != NULL) {
        const mve_pred16_t pr = vctp8q((uint32_t)n);
        vstrbq_p_s8(buf + 2 * (j - r) + 16 * s + r, vldrbq_z_s8(src, pr), pr);
    } else if (n > 0) {
        put_n(buf, s, j, src, fill, n);
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
    const int32_t inside = ix0 >= 0 && ix0 + (kw - 1) * dil_w < in_w; /* the common case: no division */
    const int32_t kx_lo = inside || ix0 >= 0 ? 0 : mcc_min_i32((-ix0 + dil_w - 1) / dil_w, kw);
    const int32_t kx_hi =
        inside ? kw : mcc_max_i32(mcc_min_i32(in_w - ix0 <= 0 ? 0 : (in_w - ix0 + dil_w - 1) / dil_w, kw), kx_lo);
    const int32_t row_len = kw * ch;
    int32_t ky, kx, j = 0;
    if (inside && dil_w == 1 && iy0 >= 0 && iy0 + (kh - 1) * p->dilation_h < in_h) { /* the window inside: rows */
        const int8_t *row = in_batch + (iy0 * in_w + ix0) * ch;
        const int32_t row_step = p->dilation_h * in_w * ch;
        for (ky = 0; ky < kh; ky++, j += row_len, row += row_step) {
            put(buf, s, j, row, 0, row_len);
        }
        return;
    }
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

/** One chunk of 16 values: three filter rows against the two columns (the rows loaded with predicate pr). */
#define MCC_MVE_CHUNK(load)                                                                                   \
    do {                                                                                                     \
        const int8x16_t x0 = vldrbq_s8(c), x1 = vldrbq_s8(c + 16);                                          \
        const int8x16_t wa = load(w0), wb = load(w1), wc = load(w2);                                         \
        a0 = vmladavaq_s8(a0, wa, x0);                                                                       \
        a1 = vmladavaq_s8(a1, wa, x1);                                                                       \
        b0 = vmladavaq_s8(b0, wb, x0);                                                                       \
        b1 = vmladavaq_s8(b1, wb, x1);                                                                       \
        c0 = vmladavaq_s8(c0, wc, x0);                                                                       \
        c1 = vmladavaq_s8(c1, wc, x1);                                                                       \
    } while (0)
#define MCC_MVE_LOAD(w) vldrbq_s8(w)
#define MCC_MVE_LOAD_TAIL(w) vldrbq_z_s8(w, pr)

/**
 * The raw dot products of every filter row (cout rows of k values) with the two columns: acc0[oc] with column 0,
 * acc1[oc] with column 1. Three rows at a time: six accumulators (VMLADAVA wants even registers, and there
 * are seven besides the loop counter). A function of its own, so that nothing else competes for registers.
 */
static MCC_NOINLINE void dots(const int8_t *filter, int32_t k, int32_t cout, const int8_t *buf, int32_t *acc0,
                              int32_t *acc1)
{
    const mve_pred16_t pr = vctp8q((uint32_t)(k & 15));
    const int32_t n16 = k >> 4, tail = k & 15;
    const int8_t *row = filter;
    int32_t blocks = cout / 3, n;
#if defined(__GNUC__)
    if (k <= 16 && blocks > 0) { /* one chunk: the columns stay in registers, every block of three rows in asm */
        register int32_t a0 __asm__("r0"), a1 __asm__("r2"), b0 __asm__("r4");
        register int32_t b1 __asm__("r6"), c0 __asm__("r8"), c1 __asm__("r10");
        register int32_t count __asm__("lr") = blocks;
        const int8_t *w = row;
        const int8x16_t x0 = vldrbq_s8(buf), x1 = vldrbq_s8(buf + 16);
        int8x16_t wa, wb;
        __asm__ volatile("vctp.8  %[k]\n\t" /* the rows' k values; the rest load as zeros */
                         "dls     lr, lr\n"
                         "1:\n\t"
                         "vpst\n\t"
                         "vldrbt.8 %q[wa], [%[w]]\n\t"
                         "add     %[w], %[w], %[k]\n\t"
                         "vpst\n\t"
                         "vldrbt.8 %q[wb], [%[w]]\n\t"
                         "add     %[w], %[w], %[k]\n\t"
                         "vmladav.s8 %[a0], %q[wa], %q[x0]\n\t"
                         "vmladav.s8 %[a1], %q[wa], %q[x1]\n\t"
                         "vpst\n\t"
                         "vldrbt.8 %q[wa], [%[w]]\n\t"
                         "add     %[w], %[w], %[k]\n\t"
                         "vmladav.s8 %[b0], %q[wb], %q[x0]\n\t"
                         "vmladav.s8 %[b1], %q[wb], %q[x1]\n\t"
                         "vmladav.s8 %[c0], %q[wa], %q[x0]\n\t"
                         "vmladav.s8 %[c1], %q[wa], %q[x1]\n\t"
                         "str     %[a0], [%[p0]], #4\n\t"
                         "str     %[b0], [%[p0]], #4\n\t"
                         "str     %[c0], [%[p0]], #4\n\t"
                         "str     %[a1], [%[p1]], #4\n\t"
                         "str     %[b1], [%[p1]], #4\n\t"
                         "str     %[c1], [%[p1]], #4\n\t"
                         "le      lr, 1b"
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [c0] "=&r"(c0),
                           [c1] "=&r"(c1), [wa] "=&w"(wa), [wb] "=&w"(wb), [w] "+r"(w), [p0] "+r"(acc0),
                           [p1] "+r"(acc1), "+r"(count)
                         : [k] "r"(k), [x0] "w"(x0), [x1] "w"(x1)
                         : "memory");
        row = w;
        blocks = 0;
    }
#endif
    for (; blocks > 0; blocks--, acc0 += 3, acc1 += 3) {
        const int8_t *w0 = row, *w1 = row + k, *w2 = w1 + k, *c = buf;
#if defined(__GNUC__)
        /* The whole chunks as a low-overhead loop with the accumulators pinned to even registers (GCC otherwise
         * spends as many instructions moving and spilling around the loop as in it). */
        register int32_t a0 __asm__("r0") = 0, a1 __asm__("r2") = 0, b0 __asm__("r4") = 0;
        register int32_t b1 __asm__("r6") = 0, c0 __asm__("r8") = 0, c1 __asm__("r10") = 0;
        __asm__ volatile("wls     lr, %[n], 1f\n"
                         "0:\n\t"
                         "vldrb.8 q0, [%[c]], #16\n\t"
                         "vldrb.8 q1, [%[c]], #16\n\t"
                         "vldrb.8 q2, [%[w0]], #16\n\t"
                         "vmladava.s8 %[a0], q2, q0\n\t"
                         "vmladava.s8 %[a1], q2, q1\n\t"
                         "vldrb.8 q3, [%[w1]], #16\n\t"
                         "vmladava.s8 %[b0], q3, q0\n\t"
                         "vmladava.s8 %[b1], q3, q1\n\t"
                         "vldrb.8 q2, [%[w2]], #16\n\t"
                         "vmladava.s8 %[c0], q2, q0\n\t"
                         "vmladava.s8 %[c1], q2, q1\n\t"
                         "le      lr, 0b\n"
                         "1:"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [c0] "+r"(c0), [c1] "+r"(c1),
                           [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [c] "+r"(c)
                         : [n] "r"(n16)
                         : "lr", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "memory");
#else
        int32_t a0 = 0, a1 = 0, b0 = 0, b1 = 0, c0 = 0, c1 = 0;
        for (n = n16; n > 0; n--) {
            MCC_MVE_CHUNK(MCC_MVE_LOAD);
            w0 += 16;
            w1 += 16;
            w2 += 16;
            c += 32;
        }
#endif
        if (tail) { /* the filter rows end here: predicated loads; zeros meet the columns' unused bytes */
            MCC_MVE_CHUNK(MCC_MVE_LOAD_TAIL);
        }
        acc0[0] = a0;
        acc0[1] = b0;
        acc0[2] = c0;
        acc1[0] = a1;
        acc1[1] = b1;
        acc1[2] = c1;
        row += 3 * k;
    }
    for (n = cout % 3; n > 0; n--, row += k, acc0++, acc1++) { /* the last one or two rows */
        const int8_t *w = row, *c = buf;
        int32_t a0 = 0, a1 = 0, i;
        for (i = n16; i > 0; i--, w += 16, c += 32) {
            const int8x16_t wv = vldrbq_s8(w);
            a0 = vmladavaq_s8(a0, wv, vldrbq_s8(c));
            a1 = vmladavaq_s8(a1, wv, vldrbq_s8(c + 16));
        }
        if (tail) {
            const int8x16_t wv = vldrbq_z_s8(w, pr);
            a0 = vmladavaq_s8(a0, wv, vldrbq_s8(c));
            a1 = vmladavaq_s8(a1, wv, vldrbq_s8(c + 16));
        }
        acc0[0] = a0;
        acc1[0] = a1;
    }
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

/** Requantize, clamp and store four channels of a pixel. */
#define MCC_MVE_OUT(acc, store)                                                                               \
    store(mcc_mve_requant_clamp(vaddq_s32((acc), st), mult, shift, out_offset, vlo, vhi))

/**
 * The outputs of both pixels (the second one only when `two`): raw sums + start values requantized, four
 * channels at a time; the channels' constants are loaded once for both pixels.
 */
static MCC_NOINLINE void requant_rows(const int32_t *acc0, const int32_t *acc1, const int32_t *start,
                                      const int32_t *mp, const int32_t *sp, int32_t n, int32_t two, int32_t out_offset,
                                      int32_t lo, int32_t hi, int8_t *out0, int8_t *out1)
{
    const int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
    int32_t i = 0;
#if defined(__GNUC__)
    if (two && n >= 4) { /* both pixels, whole groups of four channels: one low-overhead loop (mcc_mve.h's steps) */
        const int32_t *a0p = acc0, *a1p = acc1, *stp = start, *m = mp, *sh = sp;
        int8_t *o0 = out0, *o1 = out1;
        int32x4_t st, mult, left, right, x, t;
        __asm__ volatile("dls     lr, %[n]\n"
                         "1:\n\t"
                         "vldrw.32  %q[st], [%[stp]], #16\n\t"
                         "vldrw.32  %q[mult], [%[m]], #16\n\t"
                         "vldrw.32  %q[right], [%[sh]], #16\n\t"
                         "vshr.s32  %q[t], %q[right], #31\n\t"
                         "vbic      %q[left], %q[right], %q[t]\n\t" /* max(shift, 0) */
                         "vand      %q[right], %q[right], %q[t]\n\t" /* min(shift, 0) */
#define MCC_MVE_RQ_ASM(acc, out)                                                                              \
    "vldrw.32  %q[x], [%[" acc "]], #16\n\t"                                                                  \
    "vadd.i32  %q[x], %q[x], %q[st]\n\t"                                                                     \
    "vshl.s32  %q[x], %q[x], %q[left]\n\t"                                                                   \
    "vqrdmulh.s32 %q[x], %q[x], %q[mult]\n\t"                                                                \
    "vand      %q[t], %q[x], %q[right]\n\t"                                                                  \
    "vshr.s32  %q[t], %q[t], #31\n\t"                                                                        \
    "vqadd.s32 %q[x], %q[x], %q[t]\n\t"                                                                      \
    "vrshl.s32 %q[x], %q[x], %q[right]\n\t"                                                                  \
    "vadd.i32  %q[x], %q[x], %[off]\n\t"                                                                     \
    "vmax.s32  %q[x], %q[x], %q[lo]\n\t"                                                                     \
    "vmin.s32  %q[x], %q[x], %q[hi]\n\t"                                                                     \
    "vstrb.32  %q[x], [%[" out "]], #4\n\t"
                         MCC_MVE_RQ_ASM("a0p", "o0") MCC_MVE_RQ_ASM("a1p", "o1")
                         "le      lr, 1b"
                         : [st] "=&w"(st), [mult] "=&w"(mult), [left] "=&w"(left), [right] "=&w"(right),
                           [x] "=&w"(x), [t] "=&w"(t), [a0p] "+r"(a0p), [a1p] "+r"(a1p), [stp] "+r"(stp),
                           [m] "+r"(m), [sh] "+r"(sh), [o0] "+l"(o0), [o1] "+l"(o1)
                         : [n] "r"(n >> 2), [off] "r"(out_offset), [lo] "w"(vlo), [hi] "w"(vhi)
                         : "lr", "memory");
        i = n & ~3;
    }
#endif
    for (; i < n; i += 4) { /* the rest (a last odd pixel, the last n mod 4 channels): predicated */
        const mve_pred16_t pr = vctp32q((uint32_t)(n - i));
        const int32x4_t st = vldrwq_z_s32(start + i, pr), mult = vldrwq_z_s32(mp + i, pr);
        const int32x4_t shift = vldrwq_z_s32(sp + i, pr);
#define MCC_MVE_STORE0P(v) vstrbq_p_s32(out0 + i, v, pr)
#define MCC_MVE_STORE1P(v) vstrbq_p_s32(out1 + i, v, pr)
        MCC_MVE_OUT(vldrwq_z_s32(acc0 + i, pr), MCC_MVE_STORE0P);
        if (two) {
            MCC_MVE_OUT(vldrwq_z_s32(acc1 + i, pr), MCC_MVE_STORE1P);
        }
    }
}

/** Output channels per pass of dots and requant_rows when their raw sums do not fit in the scratch and live on the
 *  stack (a multiple of 3 and 4). */
#define MVE_CHUNK 24

/** Scratch bytes mcc_convolve_s8_mve uses: the two columns (on the stack instead for K <= 16), then one int32 per
 *  output channel. At most the DSP paths' size, 2 * K int16 and 16 bytes per output channel: it never refuses a
 *  call that has that. */
static int32_t scratch_bytes(int32_t k, int32_t cout) { return (k <= 16 ? 0 : columns_bytes(k)) + 4 * cout; }

/* ---- Short filter rows: KW * C_in <= 16, KH <= 3 (a first layer over RGB, 1x1 layers with C_in <= 16) ----
 * No im2col: an output pixel's window rows are loaded straight from the input, one vector each (KW * C_in values,
 * zeros past them), and meet every output channel's filter rows (16 bytes from the row's start: the bytes past
 * the row meet the zeros; the last row may read up to 15 bytes past the filter, never used). The dot products
 * of four channels are requantized as one vector. Window rows outside the input hold the input zero point (as
 * do the columns outside it, the pixel's few edge rows selected lane by lane), so the input offset enters once
 * per channel in its start value. Pixels go in pairs (0 and 1, 2 and 3, ...) whose rows are all loaded before
 * either pixel's outputs are written, as mcc_convolve_s8's im2col pairs do: the planner's rules for writing over
 * the input (codegen/conv_lag.py, lower.py conv_writes_over_input) hold. */
#define ROWS_MAX_KH 3

/** The window rows of output pixel (oy, ox) of one batch into x[0..kh-1] (16 lanes each). */
static MCC_ALWAYS_INLINE void rows_of(const mcc_conv_params *p, const mcc_dims *in_dims, const int8_t *in, int32_t kh,
                                      int32_t kw, int32_t oy, int32_t ox, mve_pred16_t row_pr, int8x16_t zrow,
                                      int8x16_t *x)
{
    const int32_t ch = in_dims->c, iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    if (kh == 1 && kw == 1 && p->pad_h == 0 && p->pad_w == 0) { /* 1x1 without padding: always inside */
        x[0] = vldrbq_z_s8(in + (iy0 * in_dims->w + ix0) * ch, row_pr);
        return;
    }
    const int32_t lo = ix0 < 0 ? -ix0 * ch : 0, hi = (ix0 + kw > in_dims->w ? in_dims->w - ix0 : kw) * ch;
    const mve_pred16_t inside = (mve_pred16_t)(row_pr & vctp8q((uint32_t)(hi > 0 ? hi : 0)) &
                                               (mve_pred16_t)~vctp8q((uint32_t)lo));
    int32_t ky = 0;
    do { /* kh >= 1 */
        const int32_t iy = iy0 + ky * p->dilation_h;
        if (iy < 0 || iy >= in_dims->h || hi <= lo) {
            x[ky] = zrow;
        } else {
            const int8_t *row = in + (iy * in_dims->w + ix0) * ch;
            x[ky] = inside == row_pr ? vldrbq_z_s8(row, row_pr) : vpselq_s8(vldrbq_z_s8(row, inside), zrow, inside);
        }
    } while (++ky < kh);
}

#if defined(__GNUC__)
/* One output channel's window rows (at wa, rlen bytes apart) against the pixel's rows x0.. into `acc`. */
#define ROW_FIRST(acc, x)                                                                                    \
    "vldrb.u8  %q[w], [%[wa]]\n\t"                                                                           \
    "add       %[wa], %[wa], %[rlen]\n\t"                                                                    \
    "vmladav.s8 %[" acc "], %q[w], %q[" x "]\n\t"
#define ROW_NEXT(acc, x)                                                                                     \
    "vldrb.u8  %q[w], [%[wa]]\n\t"                                                                           \
    "add       %[wa], %[wa], %[rlen]\n\t"                                                                    \
    "vmladava.s8 %[" acc "], %q[w], %q[" x "]\n\t"
#define CH3(acc) ROW_FIRST(acc, "x0") ROW_NEXT(acc, "x1") ROW_NEXT(acc, "x2")
/* Requantization of `acc` with the group's constants (t: right shift) and the clamp block at lim; u spare. */
#define RQ_SHIFT(acc, u) "vshl.s32  %q[" acc "], %q[" acc "], %q[" u "]\n\t"
#define RQ_FIX(acc, u)                                                                                       \
    "vand      %q[" u "], %q[" acc "], %q[t]\n\t"                                                            \
    "vshr.s32  %q[" u "], %q[" u "], #31\n\t"                                                                \
    "vqadd.s32 %q[" acc "], %q[" acc "], %q[" u "]\n\t"                                                      \
    "vrshl.s32 %q[" acc "], %q[" acc "], %q[t]\n\t"
/* The channels of one output pixel, four at a time in filter order: channels 0, 1 into lanes 0, 2 (VMOV
 * Qd[2], Qd[0], Rt, Rt2 puts Rt in the lower lane), 2, 3 into lanes 1, 3; the table and the scatter offsets so (0, 2,
 * 1, 3) follow. The group's constants at tab: start, multiplier, left shift, right shift; at lim: lo, hi,
 * output offset. */
#define ROWS_PIXEL(CH)                                                                                       \
    "dls       lr, %[n]\n"                                                                                    \
    "1:\n\t" CH("a0") CH("a1") "vmov      %q[acc][2], %q[acc][0], %[a0], %[a1]\n\t" CH("a0") CH("a1")        \
    "vmov      %q[acc][3], %q[acc][1], %[a0], %[a1]\n\t"                                                     \
    "vldrw.u32 %q[t], [%[tab]], #16\n\t"                                                                     \
    "vadd.i32  %q[acc], %q[acc], %q[t]\n\t"                                                                  \
    "vldrw.u32 %q[t], [%[tab]], #16\n\t"                                                                     \
    "vldrw.u32 %q[u], [%[tab]], #16\n\t" RQ_SHIFT("acc", "u")                                                \
    "vqrdmulh.s32 %q[acc], %q[acc], %q[t]\n\t"                                                               \
    "vldrw.u32 %q[t], [%[tab]], #16\n\t" RQ_FIX("acc", "u")                                                  \
    "vldrw.u32 %q[t], [%[lim], #32]\n\t"                                                                     \
    "vadd.i32  %q[acc], %q[acc], %q[t]\n\t"                                                                  \
    "vldrw.u32 %q[t], [%[lim]]\n\t"                                                                          \
    "vmax.s32  %q[acc], %q[acc], %q[t]\n\t"                                                                  \
    "vldrw.u32 %q[t], [%[lim], #16]\n\t"                                                                     \
    "vmin.s32  %q[acc], %q[acc], %q[t]\n\t"                                                                  \
    "vstrb.32  %q[acc], [%[o], %q[so]]\n\t"                                                                  \
    "adds      %[o], #4\n\t"                                                                                  \
    "le        lr, 1b"
#define ROWS_OPERANDS                                                                                        \
    : [a0] "=&r"(a0), [a1] "=&r"(a1), [w] "=&w"(wv), [acc] "=&w"(acc), [t] "=&w"(t), [u] "=&w"(u),           \
      [wa] "+r"(wa), [tab] "+r"(tab), [o] "+r"(o)                                                             \
    : [n] "r"(n4), [rlen] "r"(rlen), [lim] "r"(lim), [so] "w"(so), [x0] "w"(x0), [x1] "w"(x1),                \
      [x2] "w"(x2)                                                                                          \
    : "lr", "memory"
/* Two pixels (rows xa, xb; KH 1) sharing each filter row load, their outputs at o and ob. */
#define PAIR_CH(a, b)                                                                                        \
    "vldrb.u8  %q[w], [%[wa]]\n\t"                                                                           \
    "add       %[wa], %[wa], %[rlen]\n\t"                                                                    \
    "vmladav.s8 %[" a "], %q[w], %q[xa]\n\t"                                                                 \
    "vmladav.s8 %[" b "], %q[w], %q[xb]\n\t"
#define PAIR_STEP(op, off)                                                                                   \
    "vldrw.u32 %q[t], [%[lim], #" off "]\n\t"                                                                \
    op " %q[acc], %q[acc], %q[t]\n\t" op " %q[accb], %q[accb], %q[t]\n\t"
#define ROWS_PAIR                                                                                            \
    "dls       lr, lr\n"                                                                                      \
    "1:\n\t" PAIR_CH("a0", "b0") PAIR_CH("a1", "b1")                                                         \
    "vmov      %q[acc][2], %q[acc][0], %[a0], %[a1]\n\t"                                                     \
    "vmov      %q[accb][2], %q[accb][0], %[b0], %[b1]\n\t" PAIR_CH("a0", "b0") PAIR_CH("a1", "b1")           \
    "vmov      %q[acc][3], %q[acc][1], %[a0], %[a1]\n\t"                                                     \
    "vmov      %q[accb][3], %q[accb][1], %[b0], %[b1]\n\t"                                                   \
    "vldrw.u32 %q[t], [%[tab]], #16\n\t"                                                                     \
    "vadd.i32  %q[acc], %q[acc], %q[t]\n\t"                                                                  \
    "vadd.i32  %q[accb], %q[accb], %q[t]\n\t"                                                                \
    "vldrw.u32 %q[t], [%[tab]], #16\n\t"                                                                     \
    "vldrw.u32 %q[w], [%[tab]], #16\n\t" RQ_SHIFT("acc", "w") RQ_SHIFT("accb", "w")                          \
    "vqrdmulh.s32 %q[acc], %q[acc], %q[t]\n\t"                                                               \
    "vqrdmulh.s32 %q[accb], %q[accb], %q[t]\n\t"                                                             \
    "vldrw.u32 %q[t], [%[tab]], #16\n\t" RQ_FIX("acc", "w") RQ_FIX("accb", "w")                              \
    PAIR_STEP("vadd.i32 ", "32") PAIR_STEP("vmax.s32 ", "0") PAIR_STEP("vmin.s32 ", "16")                    \
    "vstrb.32  %q[acc], [%[o], %q[so]]\n\t"                                                                  \
    "vstrb.32  %q[accb], [%[ob], %q[so]]\n\t"                                                                \
    "adds      %[o], #4\n\t"                                                                                  \
    "adds      %[ob], #4\n\t"                                                                                 \
    "le        lr, 1b"

/** Every output pixel through its window rows (KH 1 or 3, C_out a multiple of 4; `table` of 16 bytes per output
 *  channel: the requantization constants by groups of four, in the lanes' channel order 0, 2, 1, 3). */
static MCC_NOINLINE void conv_rows(const mcc_conv_params *p, const mcc_dims *in_dims, const int8_t *in,
                                   const mcc_dims *filter_dims, const int8_t *filter, const int32_t *table,
                                   const mcc_dims *out_dims, int8_t *out)
{
    const int32_t kh = filter_dims->h, kw = filter_dims->w, rlen = kw * in_dims->c;
    const int32_t cout = out_dims->c, n4 = cout >> 2, total = out_dims->h * out_dims->w;
    const mve_pred16_t row_pr = vctp8q((uint32_t)rlen);
    const int8x16_t zrow = vdupq_m_n_s8(vdupq_n_s8(0), (int8_t)(-p->input_offset), row_pr);
    static const uint32_t so_lanes[4] = {0, 2, 1, 3}; /* channel offset of each lane */
    const uint32x4_t so = vldrwq_u32(so_lanes);
    int32_t lim[12], b, oy, ox, pix, n, j;
    vstrwq_s32(lim, vdupq_n_s32(p->act_min));
    vstrwq_s32(lim + 4, vdupq_n_s32(p->act_max));
    vstrwq_s32(lim + 8, vdupq_n_s32(p->output_offset));
    for (b = 0; b < out_dims->n; b++) {
        const int8_t *in_b = in + b * in_dims->h * in_dims->w * in_dims->c;
        for (pix = 0, oy = 0, ox = 0; pix < total; pix += n, out += n * cout) {
            int8x16_t x[ROWS_MAX_KH], xq[ROWS_MAX_KH], x0, x1, x2, wv;
            register int32_t a0 __asm__("r0"), a1 __asm__("r2");
            int32x4_t acc, t, u;
            const int8_t *wa = filter;
            const int32_t *tab = table;
            int8_t *o = out;
            rows_of(p, in_dims, in_b, kh, kw, oy, ox, row_pr, zrow, x);
            if (++ox == out_dims->w) {
                ox = 0;
                oy++;
            }
            n = 1;
            xq[0] = x[0];
            if (pix + 1 < total) { /* the next pixel's rows too, before either pixel is written */
                rows_of(p, in_dims, in_b, kh, kw, oy, ox, row_pr, zrow, xq);
                if (++ox == out_dims->w) {
                    ox = 0;
                    oy++;
                }
                n = 2;
            }
            if (kh == 1) { /* the two pixels together (a last odd one twice, both stores alike) */
                register int32_t b0 __asm__("r4"), b1 __asm__("r6");
                register int32_t cnt __asm__("lr") = n4;
                int8_t *ob = out + (n - 1) * cout;
                int32x4_t accb;
                __asm__ volatile(ROWS_PAIR
                                 : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [w] "=&w"(wv),
                                   [acc] "=&w"(acc), [accb] "=&w"(accb), [t] "=&w"(t), [wa] "+r"(wa),
                                   [tab] "+r"(tab), [o] "+r"(o), [ob] "+r"(ob), "+r"(cnt)
                                 : [rlen] "r"(rlen), [lim] "r"(lim), [so] "w"(so), [xa] "w"(x[0]), [xb] "w"(xq[0])
                                 : "memory");
                continue;
            }
            for (j = 0; j < n; j++) {
                x0 = j ? xq[0] : x[0];
                x1 = j ? xq[1] : x[1];
                x2 = j ? xq[2] : x[2];
                wa = filter;
                tab = table;
                o = out + j * cout;
                __asm__ volatile(ROWS_PIXEL(CH3) ROWS_OPERANDS);
            }
        }
    }
}
#endif

mcc_status mcc_convolve_s8_mve(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                               const int8_t *in, const mcc_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, const mcc_dims *out_dims, int8_t *out, void *scratch,
                               int32_t size)
{
    const int32_t k = filter_dims->h * filter_dims->w * in_dims->c, cout = out_dims->c;
    const int32_t batch_stride = in_dims->h * in_dims->w * in_dims->c;
    const int32_t total = out_dims->n * out_dims->h * out_dims->w;
    const int32_t pointwise = filter_dims->h == 1 && filter_dims->w == 1 && p->pad_h == 0 && p->pad_w == 0;
    int32_t stack0[MVE_CHUNK], stack1[MVE_CHUNK];
    int8_t small[32]; /* the columns of K <= 16 */
    int8_t *buf = k <= 16 ? small : (int8_t *)scratch;
    int32_t *start = (int32_t *)(void *)((int8_t *)scratch + (k <= 16 ? 0 : columns_bytes(k)));
    int32_t *acc0 = stack0, *acc1 = stack1, chunk = MVE_CHUNK, oc, pix, b = 0, oy = 0, ox = 0;
    if (scratch == NULL || size < scratch_bytes(k, cout)) {
        return MCC_NOT_BUILT;
    }
#if defined(__GNUC__)
    if (filter_dims->w * in_dims->c <= 16 && (filter_dims->h == 1 || filter_dims->h == 3) && p->dilation_w == 1 &&
        (cout & 3) == 0 && size >= 16 * cout) { /* the window rows: the constants by groups of four channels */
        int32_t *table = (int32_t *)scratch;
        for (oc = 0; oc < cout; oc++) {
            const int32_t g = (oc & ~3) * 4 + ((oc & 1) << 1) + ((oc >> 1) & 1), sh = q->shift[oc]; /* lanes 0 2 1 3 */
            table[g] = (bias != NULL ? bias[oc] : 0) + p->input_offset * row_sum(filter + oc * k, k);
            table[g + 4] = q->multiplier[oc];
            table[g + 8] = sh > 0 ? sh : 0;
            table[g + 12] = sh < 0 ? sh : 0;
        }
        conv_rows(p, in_dims, in, filter_dims, filter, table, out_dims, out);
        return MCC_OK;
    }
#endif
    if (!pointwise && !MVE_IM2COL) {
        return MCC_NOT_BUILT; /* the build left the im2col out (mcc_variants.h) */
    }
    if (size >= scratch_bytes(k, cout) + 8 * cout) { /* room for every channel's raw sums: one pass */
        acc0 = start + cout;
        acc1 = acc0 + cout;
        chunk = cout;
    }
    for (oc = 0; oc < cout; oc++) {
        start[oc] = (bias != NULL ? bias[oc] : 0) + p->input_offset * row_sum(filter + oc * k, k);
    }
    for (pix = 0; pix < total; pix += 2) {
        const int32_t two = pix + 1 < total;
        int8_t *out0 = out + pix * cout;
        int32_t s;
        for (s = 0; s <= two; s++) {
            if (pointwise) { /* 1x1, no padding: the column is the pixel's C_in values */
                put(buf, s, 0, in + b * batch_stride + (oy * p->stride_h * in_dims->w + ox * p->stride_w) * k, 0, k);
            } else if (MVE_IM2COL) {
                im2col(p, in_dims, in + b * batch_stride, filter_dims, oy, ox, buf, s);
            }
            if (++ox == out_dims->w) {
                ox = 0;
                if (++oy == out_dims->h) {
                    oy = 0;
                    ++b;
                }
            }
        }
        for (oc = 0; oc < cout; oc += chunk) {
            const int32_t n = cout - oc < chunk ? cout - oc : chunk;
            dots(filter + oc * k, k, n, buf, acc0, acc1);
            requant_rows(acc0, acc1, start + oc, q->multiplier + oc, q->shift + oc, n, two, p->output_offset,
                         p->act_min, p->act_max, out0 + oc, out0 + cout + oc);
        }
    }
    return MCC_OK;
}

#else
typedef int mcc_convolve_mve_unused; /* ISO C: a translation unit is not empty */
#endif /* MCC_MVE */
