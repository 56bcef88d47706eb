/**
 * @file mcc_unstructured_s8.c
 * @brief CONV_2D and FULLY_CONNECTED int8 with unstructured sparse filters (the step-stream format of
 *        mcc_sparse.h): every zero weight is skipped; bit-exact with the dense kernels and TFLM.
 *
 * Why this shape: QEMU (and a Cortex-M4 alike) pays per executed instruction and the dense conv core needs
 * ~1.1 instructions per MAC, so a zero-skipping kernel must spend well under two instructions per
 * non-zero MAC. Per block of four output pixels the receptive fields are written once as int16 (input
 * offset added) with the four pixels' values of filter index k side by side (8 bytes per k: one LDRD).
 * Each output channel then walks its non-zeros four at a time: one LDRD (post-increment) fetches four
 * int8 weights and four byte steps, two SXTB16 split the weights into int16 lanes, and per non-zero one
 * UXTAB advances the column pointer by its step, one LDRD loads the four pixels' inputs and four
 * SMLABB/SMLABT/SMLATB/SMLATT accumulate: 29 instructions per four non-zeros and four pixels (about 1.8 per
 * non-zero MAC), so the kernel wins from about 45% sparsity on a large layer and halves the multiply
 * work at 70%. The fully connected kernel with one batch row uses a plain int16 row (2 bytes per k):
 * per non-zero UXTAB, LDRSH and one SMLAxB (about 4.25 per non-zero with the quad overhead); several
 * batch rows take the conv path with rows as pixels.
 *
 * The packed stream (mcc_convolve_us_packed_s8, 4-bit steps) runs the same loop two quads at a time: one LDRD
 * fetches the pair's gap word and the first quad's weights, one LDR the second's, and one AND with a shifted
 * operand per quad (the mask 0x78787878 in a register) turns the gap word's low or high nibbles into the four step
 * bytes (times the stride 8): 58 instructions a pair, as with byte steps.
 *
 * Portable path (no DSP): the same stream and column layout with plain multiply-adds; bit-exact, the cost
 * model in mcucompress/codegen/sparse.py decides whether it is used.
 *
 * Scratch (caller-owned): a requantization table (16 bytes per output channel), the column buffer, and a
 * row of C_in input zero points that padded taps read (it widens to 0).
 */
/* mcc-build: -fno-schedule-insns */
/* GCC's scheduler before register allocation hoists the unrolled multiply-accumulate loops' loads far ahead of
 * their use and then spills the accumulators; the generated build files turn it off for this file. */
#include <stddef.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"
#include "mcc_requant.h"
#include "mcc_sparse.h"
#include "mcc_variants.h"

#define US_PIX 4     /* output pixels (or FC rows) per block */
#define US_STRIDE4 8 /* column bytes per filter index for a block */
#define US_STRIDE1 2 /* column bytes per filter index for one FC row */

/** Bytes of the zero-point row (padded taps). */
static int32_t us_zrow_bytes(int32_t cin) { return (cin + 3) & ~3; }

int32_t mcc_convolve_us_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims)
{
    const int32_t k = filter_dims->h * filter_dims->w * in_dims->c;
    return 16 * filter_dims->n + US_STRIDE4 * k + us_zrow_bytes(in_dims->c);
}

int32_t mcc_fully_connected_us_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims)
{
    const int32_t k = in_dims->c;
    if (in_dims->n > 1) {
        return 16 * filter_dims->n + US_STRIDE4 * k + us_zrow_bytes(k);
    }
    return 16 * filter_dims->n + ((US_STRIDE1 * k + 3) & ~3);
}

/** Output of the lean paths: fast requantization, SSAT, and the clamp when lean = 2. */
static MCC_ALWAYS_INLINE int8_t us_lean_out(const mcc_rq *rq, int32_t acc, int32_t lean, int32_t lo, int32_t hi)
{
    int32_t v = mcc_ssat8(mcc_rq_apply_post(rq, acc));
    if (lean == 2) {
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
    }
    return (int8_t)v;
}

/** What the channel loops need besides the stream and the columns. */
typedef struct {
    const int32_t *bias;
    const mcc_rq *rq;
    const mcc_per_channel_quant *q;
    int32_t fast, pc, out_off, lo, hi, cout;
} us_outs;

/** Requantized, clamped output of channel oc. */
static MCC_ALWAYS_INLINE int8_t us_out(const us_outs *u, int32_t oc, int32_t acc)
{
    const int32_t v = u->fast ? mcc_rq_apply_post(&u->rq[oc], acc)
                              : mcc_rq_generic(acc, u->q->multiplier[oc * u->pc], u->q->shift[oc * u->pc], u->out_off);
    return mcc_rq_clamp(v, u->lo, u->hi);
}

/* ------------------------------------------------------------------------------------------ channel loops */

#if defined(MCC_DSP)
/** lo, hi = the next two words of the stream; s advances by 8 (one LDRD with post-increment). */
#if defined(__GNUC__) && defined(__thumb2__) && !defined(MCC_EMULATE_DSP)
#define US_NEXT(s, lo, hi)                                                                                  \
    __asm__("ldrd %0, %1, [%2], #8" : "=r"(lo), "=r"(hi), "+r"(s) : "m"(*(const uint8_t(*)[8])(s)))
#else
#define US_NEXT(s, lo, hi)                                                                                  \
    do {                                                                                                     \
        (lo) = mcc_read_s32(s);                                                                              \
        (hi) = mcc_read_s32((s) + 4);                                                                        \
        (s) += 8;                                                                                            \
    } while (0)
#endif

/** x + byte `rot` / 8 of steps: one UXTAB (with rotation) on Armv7E-M; GCC would use UBFX and ADD. */
#if defined(__GNUC__) && defined(__thumb2__) && !defined(MCC_EMULATE_DSP)
#define US_STEP(x, steps, rot)                                                                              \
    __extension__({                                                                                          \
        const uint8_t *r_;                                                                                   \
        __asm__("uxtab %0, %1, %2, ror #%c3" : "=r"(r_) : "r"(x), "r"(steps), "n"(rot));                     \
        r_;                                                                                                  \
    })
#else
#define US_STEP(x, steps, rot) ((x) + (((uint32_t)(steps) >> (rot)) & 0xFFu))
#endif

/** Four pixels' inputs at x times the bottom (TOP = 0) or top (TOP = 1) int16 lane of w. */
#define US_MAC4(x, w, TOP, a0, a1, a2, a3)                                                                  \
    do {                                                                                                     \
        int32_t xa_, xb_;                                                                                    \
        MCC_LDRD(x, 0, xa_, xb_);                                                                            \
        if (TOP) {                                                                                           \
            a0 = mcc_smlatb(w, xa_, a0);                                                                     \
            a1 = mcc_smlatt(w, xa_, a1);                                                                     \
            a2 = mcc_smlatb(w, xb_, a2);                                                                     \
            a3 = mcc_smlatt(w, xb_, a3);                                                                     \
        } else {                                                                                             \
            a0 = mcc_smlabb(w, xa_, a0);                                                                     \
            a1 = mcc_smlabt(w, xa_, a1);                                                                     \
            a2 = mcc_smlabb(w, xb_, a2);                                                                     \
            a3 = mcc_smlabt(w, xb_, a3);                                                                     \
        }                                                                                                    \
    } while (0)

/** The step bytes (gap x 8) of a packed pair's quad A (low nibbles of its gap word) and quad B (high nibbles):
 * one AND with a shifted operand each, the mask in a register. */
#if defined(__GNUC__) && defined(__thumb2__) && !defined(MCC_EMULATE_DSP)
#define USP_STEPS_A(g)                                                                                      \
    __extension__({                                                                                          \
        uint32_t r_;                                                                                         \
        __asm__("and %0, %1, %2, lsl #3" : "=r"(r_) : "r"(usp_mask), "r"(g));                                \
        r_;                                                                                                  \
    })
#define USP_STEPS_B(g)                                                                                      \
    __extension__({                                                                                          \
        uint32_t r_;                                                                                         \
        __asm__("and %0, %1, %2, lsr #1" : "=r"(r_) : "r"(usp_mask), "r"(g));                                \
        r_;                                                                                                  \
    })
#else
#define USP_STEPS_A(g) (((uint32_t)(g) << 3) & usp_mask)
#define USP_STEPS_B(g) (((uint32_t)(g) >> 1) & usp_mask)
#endif

/** One quad of four entries: weights wd (four int8), step bytes st (entry j in byte j); x, a0-a3 advance. */
#define US_QUAD4(x, wd, st, a0, a1, a2, a3)                                                                  \
    do {                                                                                                     \
        const uint32_t st_ = (uint32_t)(st);                                                                 \
        const int32_t w02_ = mcc_sxtb16(wd), w13_ = mcc_sxtb16_ror8(wd);                                     \
        x = US_STEP(x, st_, 0);                                                                              \
        US_MAC4(x, w02_, 0, a0, a1, a2, a3);                                                                 \
        x = US_STEP(x, st_, 8);                                                                              \
        US_MAC4(x, w13_, 0, a0, a1, a2, a3);                                                                 \
        x = US_STEP(x, st_, 16);                                                                             \
        US_MAC4(x, w02_, 1, a0, a1, a2, a3);                                                                 \
        x = US_STEP(x, st_, 24);                                                                             \
        US_MAC4(x, w13_, 1, a0, a1, a2, a3);                                                                 \
    } while (0)

/** w = the next word of the stream; s advances by 4 (one LDR with post-increment). */
#define US_NEXT1(s, w)                                                                                      \
    do {                                                                                                     \
        (w) = mcc_read_s32(s);                                                                               \
        (s) += 4;                                                                                            \
    } while (0)

/**
 * Every output channel of a block of n <= 4 pixels whose columns (stride 8) are at cols. `lean` = 1 promises
 * n = 4, a bias, the fast requantization table and the full int8 clamp range: each output is then the table
 * entry's two SMLAL, shifts and one SSAT; `lean` = 2 the same with any clamp range (two compares more).
 */
static MCC_ALWAYS_INLINE void us_channels_p4_impl(const int8_t *s, const uint8_t *cols, const us_outs *u, int8_t *o,
                                                  int32_t n, int32_t lean, int32_t packed)
{
    const int32_t cout = u->cout;
    const int32_t *bias = u->bias;
    const mcc_rq *rq = u->rq;
    int32_t oc;
    for (oc = 0; oc < cout; oc++, o++) {
        int32_t nq = mcc_read_s32(s);
        const uint8_t *x = cols;
        int32_t a0 = lean ? bias[oc] : (bias != NULL ? bias[oc] : 0), a1 = a0, a2 = a0, a3 = a0;
        s += 4;
        if (packed) {
            const uint32_t usp_mask = 0x78787878u;
            int32_t pairs;
            for (pairs = nq >> 1; pairs > 0; pairs--) { /* a pair: gap word, quad A's weights, quad B's weights */
                int32_t g, wd;
                US_NEXT(s, g, wd);
                US_QUAD4(x, wd, USP_STEPS_A(g), a0, a1, a2, a3);
                US_NEXT1(s, wd);
                US_QUAD4(x, wd, USP_STEPS_B(g), a0, a1, a2, a3);
            }
            if (nq & 1) { /* a lone last quad: gap word (low nibbles) and weights */
                int32_t g, wd;
                US_NEXT(s, g, wd);
                US_QUAD4(x, wd, USP_STEPS_A(g), a0, a1, a2, a3);
            }
        } else {
            for (; nq > 0; nq--) {
                int32_t wd, st;
                US_NEXT(s, wd, st);
                US_QUAD4(x, wd, st, a0, a1, a2, a3);
            }
        }
        if (lean) {
            o[0] = us_lean_out(&rq[oc], a0, lean, u->lo, u->hi);
            o[cout] = us_lean_out(&rq[oc], a1, lean, u->lo, u->hi);
            o[2 * cout] = us_lean_out(&rq[oc], a2, lean, u->lo, u->hi);
            o[3 * cout] = us_lean_out(&rq[oc], a3, lean, u->lo, u->hi);
            continue;
        }
        o[0] = us_out(u, oc, a0);
        if (n > 1) {
            o[cout] = us_out(u, oc, a1);
            if (n > 2) {
                o[2 * cout] = us_out(u, oc, a2);
                if (n > 3) {
                    o[3 * cout] = us_out(u, oc, a3);
                }
            }
        }
    }
}

/* One function per output path and stream layout (plain, packed): each keeps its accumulators in registers. */
#define US_CHANNEL_LOOPS(prefix, packed)                                                                    \
    static MCC_UNUSED MCC_NOINLINE void prefix##_lean(const int8_t *s, const uint8_t *cols, const us_outs *u, \
                                                      int8_t *o)                                             \
    {                                                                                                        \
        us_channels_p4_impl(s, cols, u, o, US_PIX, 1, packed);                                               \
    }                                                                                                        \
    static MCC_UNUSED MCC_NOINLINE void prefix##_clamp(const int8_t *s, const uint8_t *cols, const us_outs *u, \
                                                       int8_t *o)                                            \
    {                                                                                                        \
        us_channels_p4_impl(s, cols, u, o, US_PIX, 2, packed);                                               \
    }                                                                                                        \
    static MCC_UNUSED MCC_NOINLINE void prefix##_any(const int8_t *s, const uint8_t *cols, const us_outs *u,  \
                                                     int8_t *o, int32_t n)                                   \
    {                                                                                                        \
        us_channels_p4_impl(s, cols, u, o, n, 0, packed);                                                    \
    }

US_CHANNEL_LOOPS(us_channels_p4, 0)
US_CHANNEL_LOOPS(usp_channels_p4, 1)

/** The lean output path that applies (see us_channels_p4_impl): 1, 2, or 0 for none. */
static int32_t us_lean(const us_outs *u)
{
    return !u->fast || u->bias == NULL ? 0 : (u->lo == -128 && u->hi == 127 ? 1 : 2);
}

/** x's int16 value (2-byte aligned). */
static MCC_ALWAYS_INLINE int32_t us_s16(const uint8_t *x) { return *(const int16_t *)(const void *)x; }

/** Every output of one FC row whose int16 values (stride 2) are at cols; `lean` as in us_channels_p4_impl. */
static MCC_ALWAYS_INLINE void us_row_p1_impl(const int8_t *s, const uint8_t *cols, const us_outs *u, int8_t *o,
                                             int32_t lean)
{
    const int32_t cout = u->cout;
    const int32_t *bias = u->bias;
    int32_t oc;
    for (oc = 0; oc < cout; oc++) {
        int32_t nq = mcc_read_s32(s);
        const uint8_t *x = cols;
        int32_t a = lean ? bias[oc] : (bias != NULL ? bias[oc] : 0);
        s += 4;
        for (; nq > 0; nq--) {
            int32_t wd, st, w02, w13;
            US_NEXT(s, wd, st);
            w02 = mcc_sxtb16(wd);
            w13 = mcc_sxtb16_ror8(wd);
            x = US_STEP(x, st, 0);
            a = mcc_smlabb(w02, us_s16(x), a);
            x = US_STEP(x, st, 8);
            a = mcc_smlabb(w13, us_s16(x), a);
            x = US_STEP(x, st, 16);
            a = mcc_smlatb(w02, us_s16(x), a);
            x = US_STEP(x, st, 24);
            a = mcc_smlatb(w13, us_s16(x), a);
        }
        o[oc] = lean ? us_lean_out(&u->rq[oc], a, lean, u->lo, u->hi) : us_out(u, oc, a);
    }
}

static MCC_NOINLINE void us_row_p1_lean(const int8_t *s, const uint8_t *cols, const us_outs *u, int8_t *o)
{
    us_row_p1_impl(s, cols, u, o, 1);
}

static MCC_NOINLINE void us_row_p1_clamp(const int8_t *s, const uint8_t *cols, const us_outs *u,
                                                       int8_t *o)
{
    us_row_p1_impl(s, cols, u, o, 2);
}

static MCC_NOINLINE void us_row_p1_any(const int8_t *s, const uint8_t *cols, const us_outs *u, int8_t *o)
{
    us_row_p1_impl(s, cols, u, o, 0);
}
#endif

/** Portable channel loop: `pix` (1 or 4) interleaved columns, outputs of the first n; out stride cout; `packed`:
 * the stream has the packed layout (mcc_sparse.h). */
static MCC_UNUSED void us_channels_c(const int8_t *s, const int16_t *cols, int32_t pix, const us_outs *u,
                                     int8_t *o, int32_t n, int32_t packed)
{
    const int32_t cout = u->cout;
    int32_t oc, j, p;
    for (oc = 0; oc < cout; oc++) {
        int32_t nq = mcc_read_s32(s), q = 0, acc[US_PIX];
        const int16_t *x = cols;
        for (p = 0; p < US_PIX; p++) {
            acc[p] = u->bias != NULL ? u->bias[oc] : 0;
        }
        for (s += 4; nq > 0; nq--) {
            /* plain: 4 weights, 4 step bytes; packed: a pair's gap word (quad A low nibbles, B high), then A's
             * weights and B's (a lone last quad: gap word and weights) */
            const uint8_t *w = (const uint8_t *)s + 4;
            const uint8_t *g = (const uint8_t *)s;
            int32_t shift = 0, scale = 1;
            if (!packed) {
                w = (const uint8_t *)s;
                g = w + 4;
                s += 8;
            } else if ((q & 1) == 0) { /* quad A of a pair, or the lone last quad */
                s += 8;
                scale = US_STRIDE4 / 2;
            } else { /* quad B: its weights at s, its gap word 8 bytes back */
                w = (const uint8_t *)s;
                g = w - 8;
                s += 4;
                shift = 4;
                scale = US_STRIDE4 / 2;
            }
            for (j = 0; j < 4; j++) {
                x += (((uint32_t)g[j] >> shift) & (packed ? 15u : 255u)) * (uint32_t)scale / (packed ? 1u : 2u);
                for (p = 0; p < pix; p++) {
                    acc[p] += (int8_t)w[j] * x[p];
                }
            }
            q++;
        }
        for (p = 0; p < n; p++) {
            o[p * cout + oc] = us_out(u, oc, acc[p]);
        }
    }
}

/* -------------------------------------------------------------------------------------------- columns */

/**
 * The columns of a block of four output pixels (b[p], y[p], x[p]): value k of pixel p at int16 index 4 k + p,
 * input offset added; padded taps read zrow (C_in input zero points, which widen to 0).
 */
static MCC_NOINLINE void us_cols_p4(const mcc_conv_params *cp, const mcc_dims *in_dims,
                                                 const int8_t *in, int32_t kh, int32_t kw, const int32_t *pb,
                                                 const int32_t *py, const int32_t *px, const int8_t *zrow,
                                                 int16_t *cols)
{
    const int32_t h = in_dims->h, w = in_dims->w, ch = in_dims->c, off = cp->input_offset;
    int32_t ky, kx, c, p;
#if defined(MCC_DSP)
    const int32_t off2 = (int32_t)(((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16));
#endif
    for (ky = 0; ky < kh; ky++) {
        for (kx = 0; kx < kw; kx++) {
            const int8_t *src[US_PIX];
            for (p = 0; p < US_PIX; p++) {
                const int32_t iy = py[p] * cp->stride_h - cp->pad_h + ky * cp->dilation_h;
                const int32_t ix = px[p] * cp->stride_w - cp->pad_w + kx * cp->dilation_w;
                src[p] = iy >= 0 && iy < h && ix >= 0 && ix < w ? in + ((pb[p] * h + iy) * w + ix) * ch : zrow;
            }
#if defined(MCC_DSP)
            if ((ch & 3) == 0) { /* four channels of four pixels: 4 LDR, 8 SXTAB16, 8 PKH, 4 STRD */
                const int8_t *s0 = src[0], *s1 = src[1], *s2 = src[2], *s3 = src[3];
                for (c = ch >> 2; c > 0; c--, cols += 16) {
                    const int32_t v0 = mcc_read_s8x4(s0), v1 = mcc_read_s8x4(s1);
                    const int32_t v2 = mcc_read_s8x4(s2), v3 = mcc_read_s8x4(s3);
                    const int32_t a0 = mcc_sxtab16(off2, v0), a1 = mcc_sxtab16(off2, v1); /* (x0, x2) */
                    const int32_t a2 = mcc_sxtab16(off2, v2), a3 = mcc_sxtab16(off2, v3);
                    const int32_t b0 = mcc_sxtab16_ror8(off2, v0), b1 = mcc_sxtab16_ror8(off2, v1); /* (x1, x3) */
                    const int32_t b2 = mcc_sxtab16_ror8(off2, v2), b3 = mcc_sxtab16_ror8(off2, v3);
                    s0 += 4;
                    s1 += 4;
                    s2 += 4;
                    s3 += 4;
                    MCC_STRD(cols, 0, mcc_pkhbt_lsl16(a0, a1), mcc_pkhbt_lsl16(a2, a3));
                    MCC_STRD(cols, 8, mcc_pkhbt_lsl16(b0, b1), mcc_pkhbt_lsl16(b2, b3));
                    MCC_STRD(cols, 16, mcc_pkhtb_asr16(a1, a0), mcc_pkhtb_asr16(a3, a2));
                    MCC_STRD(cols, 24, mcc_pkhtb_asr16(b1, b0), mcc_pkhtb_asr16(b3, b2));
                }
                continue;
            }
#endif
            for (c = 0; c < ch; c++, cols += US_PIX) {
                for (p = 0; p < US_PIX; p++) {
                    cols[p] = (int16_t)(src[p][c] + off);
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------- kernels */

/** Blocks of four output pixels of an out_h x out_w image per batch (FC rows: out_h rows, out_w = 1). */
static MCC_ALWAYS_INLINE void us_conv_core(const mcc_conv_params *cp, const mcc_dims *in_dims, const int8_t *in, int32_t kh,
                         int32_t kw, int32_t batches, int32_t out_h, int32_t out_w, const int8_t *stream,
                         const us_outs *u, void *buf, int8_t *out, int32_t packed)
{
    const int32_t k = kh * kw * in_dims->c, cout = u->cout, total = batches * out_h * out_w;
    int16_t *cols = (int16_t *)(void *)((int8_t *)buf + 16 * cout);
    int8_t *zrow = (int8_t *)cols + US_STRIDE4 * k;
    int32_t pb[US_PIX], py[US_PIX], px[US_PIX];
    int32_t pix, s, b = 0, oy = 0, ox = 0;
#if defined(MCC_DSP)
    const int32_t lean = us_lean(u);
#endif
    for (s = 0; s < in_dims->c; s++) {
        zrow[s] = (int8_t)(-cp->input_offset);
    }
    for (pix = 0; pix < total; pix += US_PIX) {
        int32_t n = total - pix < US_PIX ? total - pix : US_PIX;
#if defined(MCC_DSP)
        if (n < US_PIX && total >= US_PIX) {
            /* a partial last block computes the last four pixels again (the output never overlaps the input:
             * the planner runs no sparse layer in place), so the 4-pixel loops take it too */
            pix = total - US_PIX;
            n = US_PIX;
            b = pix / (out_h * out_w);
            oy = pix % (out_h * out_w) / out_w;
            ox = pix % out_w;
        }
#endif
        for (s = 0; s < US_PIX; s++) { /* positions of the block; missing pixels repeat the last one */
            pb[s] = b;
            py[s] = oy;
            px[s] = ox;
            if (s + 1 < n && ++ox == out_w) {
                ox = 0;
                if (++oy == out_h) {
                    oy = 0;
                    ++b;
                }
            }
        }
        if (++ox == out_w) { /* step past the block's last valid pixel */
            ox = 0;
            if (++oy == out_h) {
                oy = 0;
                ++b;
            }
        }
        us_cols_p4(cp, in_dims, in, kh, kw, pb, py, px, zrow, cols);
#if defined(MCC_DSP)
        if (n == US_PIX && lean == 1) {
            (packed ? usp_channels_p4_lean : us_channels_p4_lean)(stream, (const uint8_t *)cols, u, out + pix * cout);
        }
#if MCC_US_CLAMPED
        else if (n == US_PIX && lean == 2) {
            (packed ? usp_channels_p4_clamp : us_channels_p4_clamp)(stream, (const uint8_t *)cols, u,
                                                                    out + pix * cout);
        }
#endif
#if MCC_US_ANY
        else {
            (packed ? usp_channels_p4_any : us_channels_p4_any)(stream, (const uint8_t *)cols, u, out + pix * cout, n);
        }
#endif
#else
        us_channels_c(stream, cols, US_PIX, u, out + pix * cout, n, packed);
#endif
    }
}

/** The conv kernels' checks and set-up, then the blocks over the plain (packed = 0) or packed stream. */
static MCC_ALWAYS_INLINE mcc_status us_convolve(const mcc_context *ctx, const mcc_conv_params *p,
                                                const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                                                const int8_t *in, const mcc_dims *filter_dims,
                                                const mcc_us_filter *filter, const int32_t *bias,
                                                const mcc_dims *out_dims, int8_t *out, int32_t packed)
{
    us_outs u;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        filter->stream == NULL || out_dims == NULL || out == NULL || filter->stride != US_STRIDE4 ||
        filter_dims->c != in_dims->c || out_dims->c != filter_dims->n || out_dims->n != in_dims->n ||
        p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1 || p->pad_h < 0 ||
        p->pad_w < 0) {
        return MCC_ARG_ERROR;
    }
    if (ctx == NULL || ctx->buf == NULL || ctx->size < mcc_convolve_us_s8_get_buffer_size(in_dims, filter_dims)) {
        return MCC_NO_BUFFER;
    }
    u.bias = bias;
    u.rq = (const mcc_rq *)ctx->buf;
    u.q = q;
    u.pc = 1;
    u.out_off = p->output_offset;
    u.lo = p->act_min;
    u.hi = p->act_max;
    u.cout = out_dims->c;
    u.fast = mcc_rq_prepare_table((mcc_rq *)ctx->buf, q->multiplier, q->shift, u.cout, 1, p->output_offset);
#if defined(MCC_DSP) && !MCC_US_ANY
    if (out_dims->n * out_dims->h * out_dims->w < US_PIX || us_lean(&u) == 0 ||
        (us_lean(&u) == 2 && !MCC_US_CLAMPED)) {
        return MCC_NOT_BUILT; /* the build left the loop for any block out (mcc_variants.h) */
    }
#endif
    us_conv_core(p, in_dims, in, filter_dims->h, filter_dims->w, out_dims->n, out_dims->h, out_dims->w,
                 filter->stream, &u, ctx->buf, out, packed);
    return MCC_OK;
}

/**
 * CONV_2D int8 with an unstructured sparse filter (see mcc_sparse.h).
 * @param ctx         scratch of mcc_convolve_us_s8_get_buffer_size() bytes, 4-byte aligned
 * @param p           as mcc_convolve_s8: input_offset in [-127, 128], output_offset in [-128, 127],
 *                    stride >= 1, dilation >= 1, pad >= 0, -128 <= act_min <= act_max <= 127
 * @param q           per-output-channel multiplier in [0, 2^31) and shift in [-31, 30]
 * @param in_dims     [N, H, W, C_in]
 * @param filter_dims [C_out, KH, KW, C_in] (of the dense filter)
 * @param filter      stride 8 and the stream
 * @param bias        [C_out] int32, or NULL
 * @param out_dims    [N, OH, OW, C_out]
 * @param out         output tensor, NHWC, not overlapping the input
 * @return MCC_OK, MCC_ARG_ERROR, MCC_NO_BUFFER, or MCC_NOT_BUILT when the call needs the loop for any block
 *         (no fast requantization table or no bias, fewer than 4 output pixels) and the build left it out
 */
mcc_status mcc_convolve_us_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                              const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                              const mcc_us_filter *filter, const int32_t *bias, const mcc_dims *out_dims,
                              int8_t *out)
{
    return us_convolve(ctx, p, q, in_dims, in, filter_dims, filter, bias, out_dims, out, 0);
}

/**
 * CONV_2D int8 with an unstructured sparse filter in the packed layout (4-bit steps, mcc_sparse.h); parameters,
 * scratch and results as mcc_convolve_us_s8.
 */
mcc_status mcc_convolve_us_packed_s8(const mcc_context *ctx, const mcc_conv_params *p,
                                     const mcc_per_channel_quant *q, const mcc_dims *in_dims, const int8_t *in,
                                     const mcc_dims *filter_dims, const mcc_us_filter *filter, const int32_t *bias,
                                     const mcc_dims *out_dims, int8_t *out)
{
    return us_convolve(ctx, p, q, in_dims, in, filter_dims, filter, bias, out_dims, out, 1);
}

/**
 * FULLY_CONNECTED int8 with an unstructured sparse filter (see mcc_sparse.h).
 * @param ctx         scratch of mcc_fully_connected_us_s8_get_buffer_size() bytes, 4-byte aligned
 * @param p           as mcc_fully_connected_s8, with filter_offset = 0
 * @param q           one entry per output (per_channel = 1) or a single entry (per_channel = 0)
 * @param in_dims     n = batches, c = input depth
 * @param filter_dims n = output depth, c = input depth
 * @param filter      stride 2 (one batch row) or 8 (several) and the stream
 * @param bias        [output depth] int32, or NULL
 * @param out_dims    n = batches, c = output depth
 * @return MCC_OK, MCC_ARG_ERROR or MCC_NO_BUFFER
 */
mcc_status mcc_fully_connected_us_s8(const mcc_context *ctx, const mcc_fc_params *p, const mcc_per_channel_quant *q,
                                     const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                     const mcc_us_filter *filter, const int32_t *bias, const mcc_dims *out_dims,
                                     int8_t *out)
{
    us_outs u;
    int32_t k, i;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        filter->stream == NULL || out_dims == NULL || out == NULL || p->filter_offset != 0 ||
        filter->stride != (in_dims->n > 1 ? US_STRIDE4 : US_STRIDE1) || filter_dims->c != in_dims->c ||
        out_dims->c != filter_dims->n || out_dims->n != in_dims->n) {
        return MCC_ARG_ERROR;
    }
    if (ctx == NULL || ctx->buf == NULL ||
        ctx->size < mcc_fully_connected_us_s8_get_buffer_size(in_dims, filter_dims)) {
        return MCC_NO_BUFFER;
    }
    k = in_dims->c;
    u.bias = bias;
    u.rq = (const mcc_rq *)ctx->buf;
    u.q = q;
    u.pc = p->per_channel ? 1 : 0;
    u.out_off = p->output_offset;
    u.lo = p->act_min;
    u.hi = p->act_max;
    u.cout = out_dims->c;
    u.fast = mcc_rq_prepare_table((mcc_rq *)ctx->buf, q->multiplier, q->shift, u.cout, u.pc, p->output_offset);
    if (in_dims->n > 1) { /* rows as the pixels of a 1x1 conv over a [1, batches, 1, depth] image */
        mcc_conv_params cp;
        mcc_dims img;
        cp.input_offset = p->input_offset;
        cp.output_offset = p->output_offset;
        cp.stride_h = cp.stride_w = cp.dilation_h = cp.dilation_w = cp.depth_multiplier = 1;
        cp.pad_h = cp.pad_w = 0;
        cp.act_min = p->act_min;
        cp.act_max = p->act_max;
        cp.dual_rows = 0;
        cp.small_acc = 0;
        img.n = 1;
        img.h = in_dims->n;
        img.w = 1;
        img.c = k;
        us_conv_core(&cp, &img, in, 1, 1, 1, in_dims->n, 1, filter->stream, &u, ctx->buf, out, 0);
        return MCC_OK;
    }
    {
        int16_t *row = (int16_t *)(void *)((int8_t *)ctx->buf + 16 * u.cout);
        for (i = 0; i < k; i++) {
            row[i] = (int16_t)(in[i] + p->input_offset);
        }
#if defined(MCC_DSP)
        if (us_lean(&u) == 1) {
            us_row_p1_lean(filter->stream, (const uint8_t *)row, &u, out);
        } else if (us_lean(&u) == 2) {
            us_row_p1_clamp(filter->stream, (const uint8_t *)row, &u, out);
        } else {
            us_row_p1_any(filter->stream, (const uint8_t *)row, &u, out);
        }
#else
        us_channels_c(filter->stream, row, 1, &u, out, 1, 0);
#endif
    }
    return MCC_OK;
}
