/**
 * @file mcc_matmul.c
 * @brief The output-channel side of CONV_2D as a matrix product over int16 columns (see mcc_matmul.h):
 *        mcc_mm_run and its specialized pair loops, compiled once for every convolution kernel of an image
 *        (they were static in the header, so each kernel carried its own copy).
 */
/* mcc-build: -fno-schedule-insns */
/* GCC's scheduler before register allocation hoists the unrolled multiply-accumulate loops' loads far ahead of
 * their use and then spills the accumulators; the generated build files turn it off for this file. */
#include <stddef.h>
#include <stdint.h>

#include "mcc_matmul.h"
#include "mcc_variants.h"

#if defined(MCC_DSP)
/** One group of four values at filter byte offset `wo` and column int16 offset 8 * `g`: eight SMLAD. */
#define MCC_MM_GROUP(w0, w1, c, wo, g, a00, a01, a10, a11)                                                  \
    do {                                                                                                     \
        const int32_t wa_ = mcc_read_s8x4((w0) + (wo)), wb_ = mcc_read_s8x4((w1) + (wo));                    \
        const int32_t wa02_ = mcc_sxtb16(wa_), wa13_ = mcc_sxtb16_ror8(wa_);                                 \
        const int32_t wb02_ = mcc_sxtb16(wb_), wb13_ = mcc_sxtb16_ror8(wb_);                                 \
        int32_t xa_, xb_;                                                                                    \
        MCC_LDRD(c, 16 * (g), xa_, xb_);                                                                     \
        a00 = mcc_smlad(wa02_, xa_, a00);                                                                    \
        a00 = mcc_smlad(wa13_, xb_, a00);                                                                    \
        a10 = mcc_smlad(wb02_, xa_, a10);                                                                    \
        a10 = mcc_smlad(wb13_, xb_, a10);                                                                    \
        MCC_LDRD(c, 16 * (g) + 8, xa_, xb_);                                                                 \
        a01 = mcc_smlad(wa02_, xa_, a01);                                                                    \
        a01 = mcc_smlad(wa13_, xb_, a01);                                                                    \
        a11 = mcc_smlad(wb02_, xa_, a11);                                                                    \
        a11 = mcc_smlad(wb13_, xb_, a11);                                                                    \
    } while (0)
#endif

#if defined(MCC_DSP)
/** One group of four values of a dual-row pair at byte offset `wo`, column int16 offset 8 * `g`: two SXTB16 and
 *  eight SMLAD into the raw sums (r0, r1: 256 * B + A) and A's sums (l0, l1) of columns 0 and 1. */
#define MCC_MM_DUAL_GROUP(w, c, wo, g, r0, l0, r1, l1)                                                       \
    do {                                                                                                     \
        int32_t h02_, h13_, xa_, xb_;                                                                        \
        MCC_LDRD(w, wo, h02_, h13_);                                                                         \
        {                                                                                                    \
            const int32_t a02_ = mcc_sxtb16(h02_), a13_ = mcc_sxtb16(h13_);                                  \
            MCC_LDRD(c, 16 * (g), xa_, xb_);                                                                 \
            r0 = mcc_smlad(h02_, xa_, r0);                                                                   \
            l0 = mcc_smlad(a02_, xa_, l0);                                                                   \
            r0 = mcc_smlad(h13_, xb_, r0);                                                                   \
            l0 = mcc_smlad(a13_, xb_, l0);                                                                   \
            MCC_LDRD(c, 16 * (g) + 8, xa_, xb_);                                                             \
            r1 = mcc_smlad(h02_, xa_, r1);                                                                   \
            l1 = mcc_smlad(a02_, xa_, l1);                                                                   \
            r1 = mcc_smlad(h13_, xb_, r1);                                                                   \
            l1 = mcc_smlad(a13_, xb_, l1);                                                                   \
        }                                                                                                    \
    } while (0)
#endif

/**
 * acc[0..3] += (A . col0, A . col1, B . col0, B . col1) over the k4 grouped values of the dual-row pair at w
 * (mcc_matmul.h; w word-aligned).
 */
static MCC_ALWAYS_INLINE void mcc_mm_dot_dual(const int8_t *w, const int16_t *c, int32_t k4, int32_t *acc)
{
    int32_t n;
#if defined(MCC_DSP)
    int32_t r0 = 0, l0 = 0, r1 = 0, l1 = 0;
    if (k4 & 4) {
        MCC_MM_DUAL_GROUP(w, c, 0, 0, r0, l0, r1, l1);
        w += 8;
        c += 8;
    }
    if (k4 & 8) {
        MCC_MM_DUAL_GROUP(w, c, 0, 0, r0, l0, r1, l1);
        MCC_MM_DUAL_GROUP(w, c, 8, 1, r0, l0, r1, l1);
        w += 16;
        c += 16;
    }
    for (n = k4 >> 4; n > 0; n--) { /* sixteen values per iteration */
        MCC_MM_DUAL_GROUP(w, c, 0, 0, r0, l0, r1, l1);
        MCC_MM_DUAL_GROUP(w, c, 8, 1, r0, l0, r1, l1);
        MCC_MM_DUAL_GROUP(w, c, 16, 2, r0, l0, r1, l1);
        MCC_MM_DUAL_GROUP(w, c, 24, 3, r0, l0, r1, l1);
        w += 32;
        c += 32;
    }
    acc[0] += l0;
    acc[1] += l1;
    /* 256 * B's sum + A's sum, minus A's sum: exact modulo 2^32, and B's sum fits in 24 bits */
    acc[2] += (int32_t)((uint32_t)r0 - (uint32_t)l0) >> 8;
    acc[3] += (int32_t)((uint32_t)r1 - (uint32_t)l1) >> 8;
#else
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    for (n = k4 >> 2; n > 0; n--, w += 8, c += 8) {
        int32_t r;
        for (r = 0; r < 4; r++) {
            int32_t wa, wb;
            const int32_t x0 = c[r], x1 = c[4 + r];
            mcc_dual_weights(w, r, &wa, &wb);
            a00 += wa * x0;
            a01 += wa * x1;
            a10 += wb * x0;
            a11 += wb * x1;
        }
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
#endif
}

/** acc[0], acc[2] += (A . c, B . c) over the k4 grouped values of the dual-row pair at w, for one column c (buf
 *  for slot 0, buf + 4 for slot 1): the general loop's, for a pixel alone or a product without the lean loops. */
static MCC_ALWAYS_INLINE void mcc_mm_dot_dual_1(const int8_t *w, const int16_t *c, int32_t k4, int32_t *acc)
{
    int32_t n;
#if defined(MCC_DSP)
    int32_t raw = 0, lo = 0;
    for (n = k4 >> 2; n > 0; n--, w += 8, c += 8) {
        const int32_t h02 = mcc_read_s32(w), h13 = mcc_read_s32(w + 4);
        raw = mcc_smlad(h02, mcc_read_s16x2(c), raw);
        lo = mcc_smlad(mcc_sxtb16(h02), mcc_read_s16x2(c), lo);
        raw = mcc_smlad(h13, mcc_read_s16x2(c + 2), raw);
        lo = mcc_smlad(mcc_sxtb16(h13), mcc_read_s16x2(c + 2), lo);
    }
    acc[0] += lo;
    acc[2] += (int32_t)((uint32_t)raw - (uint32_t)lo) >> 8;
#else
    for (n = k4 >> 2; n > 0; n--, w += 8, c += 8) {
        int32_t r;
        for (r = 0; r < 4; r++) {
            int32_t wa, wb;
            mcc_dual_weights(w, r, &wa, &wb);
            acc[0] += wa * c[r];
            acc[2] += wb * c[r];
        }
    }
#endif
}

/** acc[0..3] += (w0 . col0, w0 . col1, w1 . col0, w1 . col1) over the k4 grouped values. */
static MCC_ALWAYS_INLINE void mcc_mm_dot_2x2(const int8_t *w0, const int8_t *w1, const int16_t *c, int32_t k4,
                                             int32_t *acc)
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t n;
#if defined(MCC_DSP)
    if (k4 & 4) {
        MCC_MM_GROUP(w0, w1, c, 0, 0, a00, a01, a10, a11);
        w0 += 4;
        w1 += 4;
        c += 8;
    }
    if (k4 & 8) {
        MCC_MM_GROUP(w0, w1, c, 0, 0, a00, a01, a10, a11);
        MCC_MM_GROUP(w0, w1, c, 4, 1, a00, a01, a10, a11);
        w0 += 8;
        w1 += 8;
        c += 16;
    }
    for (n = k4 >> 4; n > 0; n--) { /* sixteen values per iteration */
        MCC_MM_GROUP(w0, w1, c, 0, 0, a00, a01, a10, a11);
        MCC_MM_GROUP(w0, w1, c, 4, 1, a00, a01, a10, a11);
        MCC_MM_GROUP(w0, w1, c, 8, 2, a00, a01, a10, a11);
        MCC_MM_GROUP(w0, w1, c, 12, 3, a00, a01, a10, a11);
        w0 += 16;
        w1 += 16;
        c += 32;
    }
#else
    for (n = k4 >> 2; n > 0; n--, w0 += 4, w1 += 4, c += 8) {
        int32_t r;
        for (r = 0; r < 4; r++) {
            const int32_t x0 = c[r], x1 = c[4 + r], wa = w0[r], wb = w1[r];
            a00 += wa * x0;
            a01 += wa * x1;
            a10 += wb * x0;
            a11 += wb * x1;
        }
    }
#endif
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/** acc + row w . the column of slot 0 (c = buf) or slot 1 (c = buf + 4) over the k4 grouped values. */
static MCC_ALWAYS_INLINE int32_t mcc_mm_dot_1(const int8_t *w, const int16_t *c, int32_t k4, int32_t acc)
{
    int32_t n;
    for (n = k4 >> 2; n > 0; n--, w += 4, c += 8) {
#if defined(MCC_DSP)
        const int32_t wv = mcc_read_s8x4(w);
        acc = mcc_smlad(mcc_sxtb16(wv), mcc_read_s16x2(c), acc);
        acc = mcc_smlad(mcc_sxtb16_ror8(wv), mcc_read_s16x2(c + 2), acc);
#else
        acc += w[0] * c[0] + w[1] * c[1] + w[2] * c[2] + w[3] * c[3];
#endif
    }
    return acc;
}

/** Requantized, clamped output of channel oc (acc with its bias): fast table (either form) or generic code. */
static MCC_ALWAYS_INLINE int8_t mcc_mm_out(const mcc_mm *m, int32_t oc, int32_t acc)
{
    int32_t v;
    if (m->rq2) {
        const mcc_rq2 *r = (const mcc_rq2 *)(const void *)m->rq + oc;
        v = mcc_rq2_apply((int32_t)((uint32_t)acc << 1), r->mult, r->k, r->e);
    } else {
        v = m->rq != NULL ? mcc_rq_apply_post(&m->rq[oc], acc)
                          : mcc_rq_generic(acc, m->mult[oc], m->shift[oc], m->out_offset);
    }
    return mcc_rq_clamp(v, m->lo, m->hi);
}

/**
 * The channel pairs of both slots with the table, a bias and the full int8 clamp range: a lean
 * requantization (mcc_rq_apply, or mcc_rq_apply_post when `packed`) and pointer-walking loops that keep
 * the per-pair bookkeeping small. `simple` = 1 promises K % 16 = 0 (no partial groups, no tail);
 * `kconst` > 0 promises K = kconst (small first layers: the loops then unroll completely).
 * Returns the number of channels done (cout rounded down to even).
 */
static MCC_ALWAYS_INLINE int32_t mcc_mm_pairs_lean(const mcc_mm *m, const int16_t *buf, int8_t *o, int8_t *out1,
                                                   int32_t packed, int32_t simple, int32_t kconst, int32_t dual,
                                                   int32_t rq2)
{
    const int32_t k = kconst > 0 ? kconst : m->k, k4 = simple ? k & ~15 : k & ~3, kt = simple ? 0 : k - k4;
    const int32_t d = (int32_t)(out1 - o);
    const int32_t pair_stride = dual ? mcc_mm_dual_stride(k) : 2 * k;
    /* tails of channels A and B: after the pair's groups (dual), or after each row's K4 values */
    const int32_t tail_a = dual ? 2 * k4 : k4, tail_b = dual ? 2 * k4 + kt : k + k4;
    const int16_t *tail0 = buf + 2 * k4;
    const int8_t *w0 = m->filter;
    const int32_t *bias = m->bias;
    const mcc_rq *rq = m->rq, *const rq_end = m->rq + (m->cout & ~1);
    int32_t t;
    for (; rq != rq_end; rq += 2, o += 2, w0 += pair_stride, bias += 2) {
        int32_t acc[4];
        acc[0] = acc[1] = rq2 ? 0 : bias[0]; /* rq2: the doubled bias comes with the table entry */
        acc[2] = acc[3] = rq2 ? 0 : bias[1];
        if (dual) {
            mcc_mm_dot_dual(w0, buf, k4, acc);
        } else {
            mcc_mm_dot_2x2(w0, w0 + k, buf, k4, acc);
        }
        for (t = 0; t < kt; t++) {
            const int32_t wa = w0[tail_a + t], wb = w0[tail_b + t], x0 = tail0[t], x1 = tail0[kt + t];
            acc[0] += wa * x0;
            acc[1] += wa * x1;
            acc[2] += wb * x0;
            acc[3] += wb * x1;
        }
        if (rq2) {
            const mcc_rq2 *r = (const mcc_rq2 *)(const void *)rq;
            int32_t mult, kk, e, bias2; /* kk: the entry's k (K is k here) */
            MCC_LDRD(r, 0, mult, kk);
            MCC_LDRD(r, 8, e, bias2);
            o[0] = (int8_t)mcc_ssat8(mcc_rq2_apply(bias2 + (int32_t)((uint32_t)acc[0] << 1), mult, kk, e));
            o[d] = (int8_t)mcc_ssat8(mcc_rq2_apply(bias2 + (int32_t)((uint32_t)acc[1] << 1), mult, kk, e));
            MCC_LDRD(r, 16, mult, kk);
            MCC_LDRD(r, 24, e, bias2);
            o[1] = (int8_t)mcc_ssat8(mcc_rq2_apply(bias2 + (int32_t)((uint32_t)acc[2] << 1), mult, kk, e));
            o[d + 1] = (int8_t)mcc_ssat8(mcc_rq2_apply(bias2 + (int32_t)((uint32_t)acc[3] << 1), mult, kk, e));
        } else if (packed) {
            o[0] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[0], acc[0]));
            o[d] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[0], acc[1]));
            o[1] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[1], acc[2]));
            o[d + 1] = (int8_t)mcc_ssat8(mcc_rq_apply_post(&rq[1], acc[3]));
        } else {
            o[0] = (int8_t)mcc_ssat8(mcc_rq_apply(&rq[0], acc[0]));
            o[d] = (int8_t)mcc_ssat8(mcc_rq_apply(&rq[0], acc[1]));
            o[1] = (int8_t)mcc_ssat8(mcc_rq_apply(&rq[1], acc[2]));
            o[d + 1] = (int8_t)mcc_ssat8(mcc_rq_apply(&rq[1], acc[3]));
        }
    }
    return m->cout & ~1;
}

/* Each lean variant is its own function: register allocation of one does not disturb the others. */
#define MCC_MM_LEAN_VARIANT(name, packed, simple, kconst, dual, rq2)                                        \
    static MCC_UNUSED MCC_NOINLINE int32_t name(const mcc_mm *m, const int16_t *buf, int8_t *o,   \
                                                            int8_t *out1)                                     \
    {                                                                                                        \
        return mcc_mm_pairs_lean(m, buf, o, out1, packed, simple, kconst, dual, rq2);                        \
    }
MCC_MM_LEAN_VARIANT(mcc_mm_lean_packed_simple, 1, 1, 0, 0, 0)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_packed, 1, 0, 0, 0, 0)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_simple, 0, 1, 0, 0, 0)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_any, 0, 0, 0, 0, 0)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_k8, 0, 0, 8, 0, 0)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_k16, 0, 1, 16, 0, 0)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_k27, 0, 0, 27, 0, 0)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_dual_packed_simple, 1, 1, 0, 1, 0)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_dual_packed, 1, 0, 0, 1, 0)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_dual_simple, 0, 1, 0, 1, 0)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_dual_any, 0, 0, 0, 1, 0)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_dual_rq2_simple, 0, 1, 0, 1, 1)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_dual_rq2_any, 0, 0, 0, 1, 1)
MCC_MM_LEAN_VARIANT(mcc_mm_lean_dual_rq2_k28, 0, 0, 28, 1, 1)

/**
 * The output channels from `oc` on of the pair buffer: out0 from slot 0, out1 (if not NULL) from slot 1
 * (any table, clamp and bias; `oc` even).
 */
static MCC_ALWAYS_INLINE void mcc_mm_run_impl(const mcc_mm *m, const int16_t *buf, int8_t *out0, int8_t *out1,
                                              int32_t oc)
{
    const int32_t k = m->k, k4 = k & ~3, kt = k - k4, cout = m->cout;
    const int16_t *tail0 = buf + 2 * k4, *tail1 = tail0 + kt;
    const int8_t *w0 = m->filter + oc * k;
    const int32_t *bias = m->bias;
    int32_t t;
#if MCC_MM_DUAL
    if (m->dual) { /* channel pairs (their rows share half-words), both slots or slot 0 alone */
        for (; oc + 2 <= cout; oc += 2) {
            const int8_t *w = mcc_mm_row(m, oc), *wa = w + 2 * k4, *wb = wa + kt;
            int32_t acc[4];
            acc[0] = acc[1] = bias != NULL ? bias[oc] : 0;
            acc[2] = acc[3] = bias != NULL ? bias[oc + 1] : 0;
            if (out1 != NULL) { /* one column at a time: the two-column loop is the lean loops' (code size) */
                int32_t acc1[4];
                acc1[0] = acc[1];
                acc1[2] = acc[3];
                mcc_mm_dot_dual_1(w, buf + 4, k4, acc1);
                acc[1] = acc1[0];
                acc[3] = acc1[2];
                for (t = 0; t < kt; t++) {
                    acc[1] += wa[t] * tail1[t];
                    acc[3] += wb[t] * tail1[t];
                }
                out1[oc] = mcc_mm_out(m, oc, acc[1]);
                out1[oc + 1] = mcc_mm_out(m, oc + 1, acc[3]);
            }
            mcc_mm_dot_dual_1(w, buf, k4, acc);
            for (t = 0; t < kt; t++) {
                acc[0] += wa[t] * tail0[t];
                acc[2] += wb[t] * tail0[t];
            }
            out0[oc] = mcc_mm_out(m, oc, acc[0]);
            out0[oc + 1] = mcc_mm_out(m, oc + 1, acc[2]);
        }
        w0 = mcc_mm_row(m, oc); /* an odd last channel: a plain row */
    }
#endif
    if (MCC_MM_GENERAL_PAIRS && out1 != NULL && !m->dual) { /* else the channel-by-channel loop does both slots */
        for (; oc + 2 <= cout; oc += 2, w0 += 2 * k) {
            const int8_t *w1 = w0 + k;
            int32_t acc[4];
            acc[0] = acc[1] = bias != NULL ? bias[oc] : 0;
            acc[2] = acc[3] = bias != NULL ? bias[oc + 1] : 0;
            mcc_mm_dot_2x2(w0, w1, buf, k4, acc);
            for (t = 0; t < kt; t++) {
                const int32_t wa = w0[k4 + t], wb = w1[k4 + t];
                acc[0] += wa * tail0[t];
                acc[1] += wa * tail1[t];
                acc[2] += wb * tail0[t];
                acc[3] += wb * tail1[t];
            }
            out0[oc] = mcc_mm_out(m, oc, acc[0]);
            out1[oc] = mcc_mm_out(m, oc, acc[1]);
            out0[oc + 1] = mcc_mm_out(m, oc + 1, acc[2]);
            out1[oc + 1] = mcc_mm_out(m, oc + 1, acc[3]);
        }
    }
    for (; oc < cout; oc++, w0 += k) {
        const int32_t b = bias != NULL ? bias[oc] : 0;
        int32_t a0 = mcc_mm_dot_1(w0, buf, k4, b);
        for (t = 0; t < kt; t++) {
            a0 += w0[k4 + t] * tail0[t];
        }
        out0[oc] = mcc_mm_out(m, oc, a0);
        if (out1 != NULL) {
            int32_t a1 = mcc_mm_dot_1(w0, buf + 4, k4, b);
            for (t = 0; t < kt; t++) {
                a1 += w0[k4 + t] * tail1[t];
            }
            out1[oc] = mcc_mm_out(m, oc, a1);
        }
    }
}

/**
 * Fill m's requantization: the fast table in `table` (cout entries, 4-byte aligned) when every channel
 * has a fast form, else the generic code. `table` may be NULL (generic code). Every table entry includes
 * the output offset: folded into K where the shift allows, else packed into its shift word. Once per call:
 * built for size.
 */
MCC_COLD void mcc_mm_prepare(mcc_mm *m, const mcc_per_channel_quant *q, int32_t out_offset, mcc_rq *table)
{
    int32_t oc, fast = table != NULL;
    m->mult = q->multiplier;
    m->shift = q->shift;
    m->out_offset = out_offset;
    for (oc = 0; oc < m->cout && fast; oc++) {
        fast = mcc_rq_fast(q->multiplier[oc], q->shift[oc]);
    }
    m->rq = NULL;
    m->packed = 0;
    m->rq2 = 0;
    /* the SMMLAR form when every shift folds and the build carries a loop for it (mcc_variants.h) */
    if (fast && m->dual && m->small_acc && m->bias != NULL &&
        ((MCC_MM_LEAN_DUAL_RQ2_SIMPLE && (m->k & 15) == 0) || (MCC_MM_LEAN_DUAL_RQ2_K28 && m->k == 28) ||
         MCC_MM_LEAN_DUAL_RQ2_ANY)) {
        int32_t fold = 1;
        for (oc = 0; oc < m->cout && fold; oc++) {
            fold = mcc_rq_foldable(q->multiplier[oc], q->shift[oc]);
        }
        if (fold) {
            mcc_rq2 *t2 = (mcc_rq2 *)(void *)table;
            for (oc = 0; oc < m->cout; oc++) {
                mcc_rq2_init(&t2[oc], q->multiplier[oc], q->shift[oc], out_offset, m->bias[oc]);
            }
            m->rq = table;
            m->rq2 = 1;
            return;
        }
    }
    if (fast) {
        for (oc = 0; oc < m->cout; oc++) {
            const int32_t fold = mcc_rq_foldable(q->multiplier[oc], q->shift[oc]);
            mcc_rq_init(&table[oc], q->multiplier[oc], q->shift[oc], fold ? out_offset : 0);
            if (!fold) {
                mcc_rq_pack_post(&table[oc], out_offset);
                m->packed = 1;
            }
        }
        m->rq = table;
    }
}

/** Every output channel of the pair buffer (mcc_matmul.h), the lean pair loops where they apply and the build
 * carries them (mcc_variants.h: a variant left out falls through to the next that applies, or the general loop). */
void mcc_mm_run(const mcc_mm *m, const int16_t *buf, int8_t *out0, int8_t *out1)
{
    int32_t oc = 0;
    (void)buf; /* unused in a build that carries no loop at all (a model whose only user is TRANSPOSE_CONV's setup) */
    (void)out0;
    if (out1 != NULL && m->rq != NULL && m->bias != NULL && m->lo == -128 && m->hi == 127) {
        const int32_t simple = (m->k & 15) == 0; /* no partial groups, no tail */
        (void)simple;                             /* unused when the build carries neither variant that asks */
        if (m->dual && m->rq2) {
#if MCC_MM_LEAN_DUAL_RQ2_K28
            if (m->k == 28) { /* 3x3 over RGB, padded (dual_rows = 2) */
                oc = mcc_mm_lean_dual_rq2_k28(m, buf, out0, out1);
            }
#endif
#if MCC_MM_LEAN_DUAL_RQ2_SIMPLE
            if (simple) {
                oc = mcc_mm_lean_dual_rq2_simple(m, buf, out0, out1);
            }
#endif
#if MCC_MM_LEAN_DUAL_RQ2_ANY
            if (oc == 0) {
                oc = mcc_mm_lean_dual_rq2_any(m, buf, out0, out1);
            }
#endif
        } else if (m->dual) {
#if MCC_MM_LEAN_DUAL_PACKED_SIMPLE
            if (m->packed && simple) {
                oc = mcc_mm_lean_dual_packed_simple(m, buf, out0, out1);
            }
#endif
#if MCC_MM_LEAN_DUAL_PACKED
            if (oc == 0 && m->packed) {
                oc = mcc_mm_lean_dual_packed(m, buf, out0, out1);
            }
#endif
#if MCC_MM_LEAN_DUAL_SIMPLE
            if (oc == 0 && !m->packed && simple) {
                oc = mcc_mm_lean_dual_simple(m, buf, out0, out1);
            }
#elif MCC_MM_LEAN_DUAL_PACKED_SIMPLE
            if (oc == 0 && simple) { /* the packed loop takes entries without a packed offset too */
                oc = mcc_mm_lean_dual_packed_simple(m, buf, out0, out1);
            }
#endif
#if MCC_MM_LEAN_DUAL_ANY
            if (oc == 0 && !m->packed) {
                oc = mcc_mm_lean_dual_any(m, buf, out0, out1);
            }
#endif
        } else if (m->packed) { /* the loop for any K also takes K % 16 = 0 when the build has not the simple one */
#if MCC_MM_LEAN_PACKED_SIMPLE
            if (simple) {
                oc = mcc_mm_lean_packed_simple(m, buf, out0, out1);
            }
#endif
#if MCC_MM_LEAN_PACKED
            if (oc == 0) {
                oc = mcc_mm_lean_packed(m, buf, out0, out1);
            }
#endif
        }
#if MCC_MM_LEAN_K8
        else if (m->k == 8) { /* 1x1 after an 8-channel first layer */
            oc = mcc_mm_lean_k8(m, buf, out0, out1);
        }
#endif
#if MCC_MM_LEAN_K16
        else if (m->k == 16) {
            oc = mcc_mm_lean_k16(m, buf, out0, out1);
        }
#endif
#if MCC_MM_LEAN_K27
        else if (m->k == 27) { /* 3x3 over RGB */
            oc = mcc_mm_lean_k27(m, buf, out0, out1);
        }
#endif
#if MCC_MM_LEAN_SIMPLE
        else if (simple) {
            oc = mcc_mm_lean_simple(m, buf, out0, out1);
        }
#endif
#if !MCC_MM_LEAN_SIMPLE && MCC_MM_LEAN_PACKED_SIMPLE
        else if (simple) { /* the packed loop takes entries without a packed offset too (one ADD more an output) */
            oc = mcc_mm_lean_packed_simple(m, buf, out0, out1);
        }
#endif
#if MCC_MM_LEAN_ANY
        else {
            oc = mcc_mm_lean_any(m, buf, out0, out1);
        }
#endif
        if (oc == m->cout) {
            return;
        }
    }
#if MCC_MM_GENERAL
    mcc_mm_run_impl(m, buf, out0, out1, oc);
#endif
}

/** 1 when mcc_mm_run over `total` output pixels (in pairs) needs no code the build left out: the general loop
 * is built, or a lean loop takes every channel of every pair (callers refuse the call with MCC_NOT_BUILT). */
MCC_COLD int32_t mcc_mm_built(const mcc_mm *m, int32_t total)
{
    const int32_t simple = (m->k & 15) == 0;
    if (MCC_MM_GENERAL && (MCC_MM_DUAL || !m->dual)) {
        return 1;
    }
    if (total % 2 != 0 || m->cout % 2 != 0 || m->rq == NULL || m->bias == NULL || m->lo != -128 || m->hi != 127) {
        return 0;
    }
    if (m->dual && m->rq2) {
        return (MCC_MM_LEAN_DUAL_RQ2_K28 && m->k == 28) || (MCC_MM_LEAN_DUAL_RQ2_SIMPLE && simple) ||
               MCC_MM_LEAN_DUAL_RQ2_ANY;
    }
    if (m->dual) {
        if (m->packed) {
            return MCC_MM_LEAN_DUAL_PACKED || (MCC_MM_LEAN_DUAL_PACKED_SIMPLE && simple);
        }
        return ((MCC_MM_LEAN_DUAL_SIMPLE || MCC_MM_LEAN_DUAL_PACKED_SIMPLE) && simple) || MCC_MM_LEAN_DUAL_ANY;
    }
    if (m->packed) {
        return MCC_MM_LEAN_PACKED || (MCC_MM_LEAN_PACKED_SIMPLE && simple);
    }
    return (MCC_MM_LEAN_K8 && m->k == 8) || (MCC_MM_LEAN_K16 && m->k == 16) || (MCC_MM_LEAN_K27 && m->k == 27) ||
           ((MCC_MM_LEAN_SIMPLE || MCC_MM_LEAN_PACKED_SIMPLE) && simple) || MCC_MM_LEAN_ANY;
}
