/**
 * @file mcc_fully_connected_s8.c
 * @brief FULLY_CONNECTED int8 (bit-exact with TFLM's reference_integer_ops::FullyConnected, per-tensor
 *        or per-channel requantization). Needs no scratch memory.
 *
 * With the DSP extension, a scratch buffer (mcc_fully_connected_s8_get_buffer_size(): the input row as
 * int16) and at least four outputs, each batch row is widened once with the input offset added, then multiplied with four filter rows at a time:
 * per four inputs one LDRD of input pairs, and per row one filter load, two SXTAB16 (filter offset
 * added) and two SMLAD, 21 instructions per 16 MACs on Cortex-M4. Per-tensor requantization takes
 * the precomputed form of mcc_requant.h.
 *
 * Dual-row filters (p->dual_rows, mcc_matmul.h: two outputs per int16 half-word) take the same widened row, two
 * pairs of outputs at a time: per four inputs one LDRD of input pairs and per pair one LDRD of filter words, two
 * SXTB16 and four SMLAD, 15 instructions per 16 MACs. Without the DSP extension they are decoded value by value.
 * The lean layout (dual_rows = 3: the pairs of each block of three interleaved group by group, written where the
 * code generator proves the accumulators small and the layer has one fast requantization that folds the output
 * offset and the full clamp range) takes three pairs at a time with one weight pointer, 22 instructions per 24
 * MACs, the bias in the accumulators' start and the SMMLAR requantization (mcc_rq2): ad01 1.05 instructions per
 * MAC on Cortex-M4.
 *
 * Otherwise each batch row is multiplied with two filter rows at a time (two int32 accumulators
 * share every input load). With the DSP extension four input bytes become two int16 pairs with the input
 * offset added in the same instruction (SXTAB16), filter bytes likewise with the filter offset, and SMLAD
 * does two MACs: 13 instructions per 8 MACs before loop overhead. Accumulators are int32 and, as in TFLM,
 * must not overflow.
 */
/* mcc-build: -fno-schedule-insns */
/* GCC's scheduler before register allocation hoists the unrolled multiply-accumulate loops' loads far ahead of
 * their use and then spills the accumulators; the generated build files turn it off for this file. */
#include <stddef.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_matmul.h"
#include "mcc_mve_kernels.h"
#include "mcc_nn.h"
#include "mcc_requant.h"
#include "mcc_variants.h"

/** acc[0..1] += sum (x + in_off) * (w0|w1 + f_off) over k values. */
static void dot_2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t k, int32_t in_off, int32_t f_off,
                  int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1];
    int32_t n;
#if defined(MCC_DSP)
    const int32_t in2 = (int32_t)(((uint32_t)in_off & 0xFFFFu) | ((uint32_t)in_off << 16));
    const int32_t f2 = (int32_t)(((uint32_t)f_off & 0xFFFFu) | ((uint32_t)f_off << 16));
    for (n = k >> 2; n > 0; n--) {
        const int32_t xv = mcc_read_s8x4(x), wa = mcc_read_s8x4(w0), wb = mcc_read_s8x4(w1);
        const int32_t x02 = mcc_sxtab16(in2, xv), x13 = mcc_sxtab16_ror8(in2, xv);
        x += 4;
        w0 += 4;
        w1 += 4;
        a0 = mcc_smlad(x02, mcc_sxtab16(f2, wa), a0);
        a0 = mcc_smlad(x13, mcc_sxtab16_ror8(f2, wa), a0);
        a1 = mcc_smlad(x02, mcc_sxtab16(f2, wb), a1);
        a1 = mcc_smlad(x13, mcc_sxtab16_ror8(f2, wb), a1);
    }
    k &= 3;
#endif
    if (f_off == 0) {
        for (n = 0; n < k; n++) {
            const int32_t xv = *x++ + in_off;
            a0 += xv * *w0++;
            a1 += xv * *w1++;
        }
    } else {
        for (n = 0; n < k; n++) {
            const int32_t xv = *x++ + in_off;
            a0 += xv * (*w0++ + f_off);
            a1 += xv * (*w1++ + f_off);
        }
    }
    acc[0] = a0;
    acc[1] = a1;
}

/**
 * Scratch size of mcc_fully_connected_s8: one input row as int16, rounded up to four values.
 * @param in_dims c = input depth
 * @return bytes (the buffer must be 4-byte aligned)
 */
int32_t mcc_fully_connected_s8_get_buffer_size(const mcc_dims *in_dims)
{
    return ((in_dims->c + 3) & ~3) * (int32_t)sizeof(int16_t);
}

/** 1 when the call's parameters allow the lean loop (fc_row_dual_lean) that dual_rows = 3 filters take: a bias, one
 *  requantization for all outputs whose fast form folds the output offset, the full clamp range. */
static int32_t fc_dual_lean(const mcc_fc_params *p, const mcc_per_channel_quant *q, const int32_t *bias)
{
    return bias != NULL && !p->per_channel && p->act_min == -128 && p->act_max == 127 &&
           mcc_rq_fast(q->multiplier[0], q->shift[0]) && mcc_rq_foldable(q->multiplier[0], q->shift[0]);
}

#if defined(MCC_DSP)
/**
 * Widen x (k values) with the input offset added: groups of four as (x0, x2, x1, x3) with DSP, zero-padded.
 * Last group first: the int16 group i lands at bytes [2i, 2i + 8), at or beyond every byte of x not read
 * yet, so xw may start at x itself (the planner then lets the scratch overlap a dead input: one buffer).
 */
static void widen_row(const int8_t *x, int32_t k, int32_t in_off, int16_t *xw)
{
    const int32_t k4 = k & ~3;
    int32_t i;
    const int32_t off2 = (int32_t)(((uint32_t)in_off & 0xFFFFu) | ((uint32_t)in_off << 16));
    if (k4 < k) { /* tail group, zero-padded, in the same lane order */
        int16_t t[4] = {0, 0, 0, 0};
        for (i = k4; i < k; i++) {
            t[i - k4] = (int16_t)(x[i] + in_off);
        }
        xw[k4] = t[0];
        xw[k4 + 1] = t[2];
        xw[k4 + 2] = t[1];
        xw[k4 + 3] = t[3];
    }
    for (i = k4 - 4; i >= 0; i -= 4) {
        const int32_t v = mcc_read_s8x4(x + i);
        mcc_write_s16x2(xw + i, mcc_sxtab16(off2, v));
        mcc_write_s16x2(xw + i + 2, mcc_sxtab16_ror8(off2, v));
    }
}

/** Requantized, clamped output: the fast form when rq is not NULL, else the generic code. */
static MCC_ALWAYS_INLINE int8_t fc_out(const mcc_rq *rq, int32_t post, int32_t acc, int32_t mult, int32_t shift,
                                       int32_t out_off, int32_t lo, int32_t hi)
{
    const int32_t v = rq != NULL ? mcc_rq_apply(rq, acc) + post : mcc_rq_generic(acc, mult, shift, out_off);
    return mcc_rq_clamp(v, lo, hi);
}

/**
 * One widened batch row xw (k4 = k rounded up to 4 values, zero-padded) times all filter rows; the filter
 * tail beyond k is read as values times zero. rq: the per-tensor fast form, or NULL for the generic code.
 */
static MCC_NOINLINE void fc_row_widened(const mcc_fc_params *p, const mcc_per_channel_quant *q,
                                                     const mcc_rq *rq, int32_t post, const int16_t *xw, int32_t k,
                                                     const int8_t *filter, const int32_t *bias, int32_t out_ch,
                                                     int8_t *o)
{
    const int32_t k4 = k & ~3, kt = k - k4, f_off = p->filter_offset;
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t pc = p->per_channel;
    const int32_t f2 = (int32_t)(((uint32_t)f_off & 0xFFFFu) | ((uint32_t)f_off << 16));
    int32_t oc = 0, n, t, r;
    for (; oc + 4 <= out_ch; oc += 4) {
        const int8_t *w0 = filter + oc * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
        const int16_t *xp = xw;
        int32_t a0 = bias != NULL ? bias[oc] : 0, a1 = bias != NULL ? bias[oc + 1] : 0;
        int32_t a2 = bias != NULL ? bias[oc + 2] : 0, a3 = bias != NULL ? bias[oc + 3] : 0;
        int32_t acc[4];
        for (n = k4 >> 2; n > 0; n--, xp += 4) {
            int32_t xa, xb, wv;
            MCC_LDRD(xp, 0, xa, xb);
            wv = mcc_read_s8x4(w0);
            w0 += 4;
            a0 = mcc_smlad(mcc_sxtab16(f2, wv), xa, a0);
            a0 = mcc_smlad(mcc_sxtab16_ror8(f2, wv), xb, a0);
            wv = mcc_read_s8x4(w1);
            w1 += 4;
            a1 = mcc_smlad(mcc_sxtab16(f2, wv), xa, a1);
            a1 = mcc_smlad(mcc_sxtab16_ror8(f2, wv), xb, a1);
            wv = mcc_read_s8x4(w2);
            w2 += 4;
            a2 = mcc_smlad(mcc_sxtab16(f2, wv), xa, a2);
            a2 = mcc_smlad(mcc_sxtab16_ror8(f2, wv), xb, a2);
            wv = mcc_read_s8x4(w3);
            w3 += 4;
            a3 = mcc_smlad(mcc_sxtab16(f2, wv), xa, a3);
            a3 = mcc_smlad(mcc_sxtab16_ror8(f2, wv), xb, a3);
        }
        for (t = 0; t < kt; t++) { /* the input tail, stored in lane order */
            static const int8_t lane[4] = {0, 2, 1, 3};
            const int32_t xv = xp[lane[t]];
            a0 += xv * (w0[t] + f_off);
            a1 += xv * (w1[t] + f_off);
            a2 += xv * (w2[t] + f_off);
            a3 += xv * (w3[t] + f_off);
        }
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
        if (rq != NULL) {
            for (r = 0; r < 4; r++) {
                o[oc + r] = mcc_rq_clamp(mcc_rq_apply(rq, acc[r]) + post, lo, hi);
            }
        } else {
            for (r = 0; r < 4; r++) {
                const int32_t qi = pc ? oc + r : 0;
                o[oc + r] = fc_out(rq, post, acc[r], q->multiplier[qi], q->shift[qi], out_off, lo, hi);
            }
        }
    }
    for (; oc < out_ch; oc++) {
        const int8_t *w = filter + oc * k;
        const int32_t qi = pc ? oc : 0;
        int32_t a = bias != NULL ? bias[oc] : 0;
        for (n = 0; n < k4; n += 4) {
            int32_t xa, xb;
            const int32_t wv = mcc_read_s8x4(w + n);
            MCC_LDRD(xw + n, 0, xa, xb);
            a = mcc_smlad(mcc_sxtab16(f2, wv), xa, a);
            a = mcc_smlad(mcc_sxtab16_ror8(f2, wv), xb, a);
        }
        for (t = 0; t < kt; t++) {
            static const int8_t lane[4] = {0, 2, 1, 3};
            a += xw[k4 + lane[t]] * (w[k4 + t] + f_off);
        }
        o[oc] = fc_out(rq, post, a, q->multiplier[qi], q->shift[qi], out_off, lo, hi);
    }
}

/** acc + the widened row xw (k values, lane order) times the plain int8 row w: the odd last output of dual-row
 *  filters. */
static int32_t dual_last_row(const int16_t *xw, int32_t k, const int8_t *w, int32_t acc)
{
    static const int8_t lane[4] = {0, 2, 1, 3}; /* the input tail, stored in lane order */
    const int32_t k4 = k & ~3;
    int32_t n, t;
    for (n = 0; n < k4; n += 4) {
        int32_t xa, xb;
        const int32_t wv = mcc_read_s8x4(w + n);
        MCC_LDRD(xw + n, 0, xa, xb);
        acc = mcc_smlad(mcc_sxtb16(wv), xa, acc);
        acc = mcc_smlad(mcc_sxtb16_ror8(wv), xb, acc);
    }
    for (t = 0; t < k - k4; t++) {
        acc += xw[k4 + lane[t]] * w[k4 + t];
    }
    return acc;
}

/** One pair's share of a dual-row group: the two words of weights at byte offset wo of wp against xa, xb. */
#define FC_DUAL_PAIR(wp, wo, xa, xb, r, l)                                                                   \
    do {                                                                                                     \
        int32_t h02_, h13_;                                                                                  \
        MCC_LDRD(wp, wo, h02_, h13_);                                                                        \
        r = mcc_smlad(h02_, xa, r);                                                                          \
        l = mcc_smlad(mcc_sxtb16(h02_), xa, l);                                                              \
        r = mcc_smlad(h13_, xb, r);                                                                          \
        l = mcc_smlad(mcc_sxtb16(h13_), xb, l);                                                              \
    } while (0)

/** One dual-row group (four inputs at int16 offset 4 * `g` of the row, byte offset `wo` of each pair) for two pairs
 *  of outputs: raw sums r0, r1 (256 * B + A) and A's sums l0, l1. */
#define FC_DUAL_GROUP(w0, w1, xp, wo, g, r0, l0, r1, l1)                                                     \
    do {                                                                                                     \
        int32_t xa_, xb_;                                                                                    \
        MCC_LDRD(xp, 8 * (g), xa_, xb_);                                                                     \
        FC_DUAL_PAIR(w0, wo, xa_, xb_, r0, l0);                                                              \
        FC_DUAL_PAIR(w1, wo, xa_, xb_, r1, l1);                                                              \
    } while (0)

/**
 * One widened batch row xw (k4 = k rounded up to 4 values, zero-padded) times dual-row filters (mcc_matmul.h):
 * two pairs of outputs at a time (a last single pair computed twice, stored once), then an odd last output's
 * plain row. rq: the per-tensor fast form, or NULL for the generic code.
 */
static MCC_NOINLINE void fc_row_dual(const mcc_fc_params *p, const mcc_per_channel_quant *q, const mcc_rq *rq,
                                     int32_t post, const int16_t *xw, int32_t k, const int8_t *filter,
                                     const int32_t *bias, int32_t out_ch, int8_t *o)
{
    static const int8_t lane[4] = {0, 2, 1, 3}; /* the input tail, stored in lane order */
    const int32_t k4 = k & ~3, kt = k - k4, stride = mcc_mm_dual_stride(k);
    const int32_t lo = p->act_min, hi = p->act_max;
    const int8_t *w0 = filter;
    int32_t oc = 0, n, t;
    for (; oc + 2 <= out_ch; oc += 4, w0 += 2 * stride) {
        const int32_t outs = oc + 4 <= out_ch ? 4 : 2;
        const int8_t *w1 = outs == 4 ? w0 + stride : w0, *p0 = w0, *p1 = w1;
        const int16_t *xp = xw;
        int32_t r0 = 0, l0 = 0, r1 = 0, l1 = 0, acc[4];
        for (n = k4 >> 4; n > 0; n--, xp += 16, p0 += 32, p1 += 32) { /* sixteen inputs per iteration */
            FC_DUAL_GROUP(p0, p1, xp, 0, 0, r0, l0, r1, l1);
            FC_DUAL_GROUP(p0, p1, xp, 8, 1, r0, l0, r1, l1);
            FC_DUAL_GROUP(p0, p1, xp, 16, 2, r0, l0, r1, l1);
            FC_DUAL_GROUP(p0, p1, xp, 24, 3, r0, l0, r1, l1);
        }
        for (n = (k4 >> 2) & 3; n > 0; n--, xp += 4, p0 += 8, p1 += 8) {
            FC_DUAL_GROUP(p0, p1, xp, 0, 0, r0, l0, r1, l1);
        }
        acc[0] = l0;
        acc[1] = (int32_t)((uint32_t)r0 - (uint32_t)l0) >> 8; /* exact: mcc_matmul.h */
        acc[2] = l1;
        acc[3] = (int32_t)((uint32_t)r1 - (uint32_t)l1) >> 8;
        for (t = 0; t < kt; t++) { /* tails of A then B, after each pair's groups */
            const int32_t xv = xp[lane[t]];
            acc[0] += xv * p0[t];
            acc[1] += xv * p0[kt + t];
            acc[2] += xv * p1[t];
            acc[3] += xv * p1[kt + t];
        }
        if (outs == 4 && bias != NULL && rq != NULL && lo == -128 && hi == 127) { /* the common case, unrolled */
            o[oc] = (int8_t)mcc_ssat8(mcc_rq_apply(rq, acc[0] + bias[oc]) + post);
            o[oc + 1] = (int8_t)mcc_ssat8(mcc_rq_apply(rq, acc[1] + bias[oc + 1]) + post);
            o[oc + 2] = (int8_t)mcc_ssat8(mcc_rq_apply(rq, acc[2] + bias[oc + 2]) + post);
            o[oc + 3] = (int8_t)mcc_ssat8(mcc_rq_apply(rq, acc[3] + bias[oc + 3]) + post);
            continue;
        }
        if (bias != NULL) {
            for (t = 0; t < outs; t++) {
                acc[t] += bias[oc + t];
            }
        }
        if (rq != NULL && lo == -128 && hi == 127) {
            for (t = 0; t < outs; t++) {
                o[oc + t] = (int8_t)mcc_ssat8(mcc_rq_apply(rq, acc[t]) + post);
            }
        } else if (rq != NULL) {
            for (t = 0; t < outs; t++) {
                o[oc + t] = mcc_rq_clamp(mcc_rq_apply(rq, acc[t]) + post, lo, hi);
            }
        } else {
            for (t = 0; t < outs; t++) {
                const int32_t qi = p->per_channel ? oc + t : 0;
                o[oc + t] = fc_out(NULL, 0, acc[t], q->multiplier[qi], q->shift[qi], p->output_offset, lo, hi);
            }
        }
    }
    if (out_ch & 1) { /* an odd last output: a plain row */
        const int32_t qi = p->per_channel ? out_ch - 1 : 0;
        const int32_t a = dual_last_row(xw, k, filter + (out_ch >> 1) * stride, bias != NULL ? bias[out_ch - 1] : 0);
        o[out_ch - 1] = fc_out(rq, post, a, q->multiplier[qi], q->shift[qi], p->output_offset, lo, hi);
    }
}

#if MCC_FC_DUAL_LEAN
/** The pair of dual-row filters at w (groups 8 bytes apart, then the tails) times the widened row xw, from the bias
 *  pair bias[0..1]: twice A's sum in *a2, twice B's in *b2 (fc_row_dual_lean's pairs outside the blocks). */
static void dual_pair_lean(const int16_t *xw, int32_t k, const int8_t *w, const int32_t *bias, int32_t *a2,
                           int32_t *b2)
{
    static const int8_t lane[4] = {0, 2, 1, 3}; /* the input tail, stored in lane order */
    const int32_t k4 = k & ~3, kt = k - k4;
    int32_t l = bias[0], r = (int32_t)((uint32_t)bias[0] + ((uint32_t)bias[1] << 8)), n, t, a, d;
#define FC_PAIR_GROUP(g)                                                                                     \
    do {                                                                                                     \
        int32_t xa, xb, h02, h13;                                                                            \
        MCC_LDRD(xw, 8 * (g), xa, xb);                                                                       \
        MCC_LDRD(w, 8 * (g), h02, h13);                                                                      \
        r = mcc_smlad(h02, xa, r);                                                                           \
        l = mcc_smlad(mcc_sxtb16(h02), xa, l);                                                               \
        r = mcc_smlad(h13, xb, r);                                                                           \
        l = mcc_smlad(mcc_sxtb16(h13), xb, l);                                                               \
    } while (0)
    for (n = k4 >> 4; n > 0; n--, xw += 16, w += 32) { /* sixteen inputs per iteration */
        FC_PAIR_GROUP(0);
        FC_PAIR_GROUP(1);
        FC_PAIR_GROUP(2);
        FC_PAIR_GROUP(3);
    }
    for (n = (k4 >> 2) & 3; n > 0; n--, xw += 4, w += 8) {
        FC_PAIR_GROUP(0);
    }
#undef FC_PAIR_GROUP
    a = l;
    d = (int32_t)((uint32_t)r - (uint32_t)l) >> 8; /* exact: the generator's bound */
    for (t = 0; t < kt; t++) {
        const int32_t xv = xw[lane[t]];
        a += xv * w[t];
        d += xv * w[kt + t];
    }
    *a2 = 2 * a;
    *b2 = 2 * d;
}

/** One output from twice its sum (mcc_rq2_apply, the full clamp range). */
#define FC_LEAN_OUT(acc2) ((int8_t)mcc_ssat8(mcc_rq2_apply((acc2), mult, kq, e)))

/** o[i] = FC_LEAN_OUT(acc2), o then opaque to the compiler: byte stores, not merged into words built with BFI
 *  (two instructions more per four outputs). */
#define FC_LEAN_STORE(i, acc2)                                                                               \
    do {                                                                                                     \
        o[i] = FC_LEAN_OUT(acc2);                                                                            \
        MCC_OPAQUE(o);                                                                                       \
    } while (0)

/** The accumulators of a pair from its bias pair at byte offset `off` of b: A's in l, 256 * B's + A's in r
 *  (wrapping). */
#define FC_LEAN_START(b, off, l, r)                                                                          \
    do {                                                                                                     \
        MCC_LDRD(b, off, l, r);                                                                              \
        r = (int32_t)((uint32_t)(l) + ((uint32_t)(r) << 8));                                                 \
    } while (0)

/** Twice B's sum: (r - l) / 128, exact (r - l = 256 * B's, below 2^31 in magnitude by the generator's bound). */
#define FC_LEAN_B2(r, l) ((int32_t)((uint32_t)(r) - (uint32_t)(l)) >> 7)

/** One dual-row group (four inputs at int16 offset 4 * `g` of the row) for the three pairs of a block, whose groups
 *  sit at byte offsets wo, wo + 8 and wo + 16 of wp. */
#define FC_LEAN_GROUP(wp, xp, wo, g)                                                                         \
    do {                                                                                                     \
        int32_t xa_, xb_;                                                                                    \
        MCC_LDRD(xp, 8 * (g), xa_, xb_);                                                                     \
        FC_DUAL_PAIR(wp, wo, xa_, xb_, r0, l0);                                                              \
        FC_DUAL_PAIR(wp, (wo) + 8, xa_, xb_, r1, l1);                                                        \
        FC_DUAL_PAIR(wp, (wo) + 16, xa_, xb_, r2, l2);                                                       \
    } while (0)

/**
 * The lean loop over dual-row filters in blocks of three pairs (p->dual_rows = 3, fc_dual_lean): one widened batch
 * row xw times the six outputs of a block at a time, one weight pointer for the block, then the pairs after the
 * blocks and an odd last output's plain row. Each pair's accumulators start from its bias, A's in l and 256 * B's +
 * A's in r, so r - l = 256 * (B's sum + bias) exactly (the generator bounds it below 2^23 in magnitude, tails
 * included; r may wrap); the sums, doubled, meet the per-tensor requantization in mcc_rq2's SMMLAR form (rq2:
 * mult, k, e).
 * Thirty-two inputs per iteration of the product: per four inputs and 24 MACs one LDRD of inputs and per pair one
 * LDRD of weights, two SXTB16 and four SMLAD. K = 8 keeps the widened row in registers.
 */
static MCC_NOINLINE void fc_row_dual_lean(const int16_t *xw, int32_t k, const int8_t *filter, const int32_t *bias,
                                          int32_t out_ch, int8_t *o, const mcc_rq2 *rq2)
{
    static const int8_t lane[4] = {0, 2, 1, 3}; /* the input tail, stored in lane order */
    const int32_t k4 = k & ~3, kt = k - k4, stride = mcc_mm_dual_stride(k), rest = k4 & 31, odd = k & 31;
    const int32_t tb = stride - 2 * k4, pairs = out_ch >> 1, blocks = pairs / 3;
    const int16_t *const x32 = xw + (k4 & ~31); /* the end of the thirty-two input blocks */
    const int8_t *const block_end = o + 6 * blocks;
    const int8_t *w = filter;
    int32_t n, t, pr, mult, kq, e;
    if (k == 8) { /* the widened row in registers: two groups of four, blocks of 48 bytes */
        int32_t x0, x1, x2, x3;
        MCC_LDRD(xw, 0, x0, x1);
        MCC_LDRD(xw, 8, x2, x3);
        for (; o != block_end; o += 6, bias += 6, w += 48) {
            int32_t l0, r0, l1, r1, l2, r2;
            FC_LEAN_START(bias, 0, l0, r0);
            FC_LEAN_START(bias, 8, l1, r1);
            FC_LEAN_START(bias, 16, l2, r2);
            {
                int32_t h02, h13;
#define FC_LEAN_K8(wo, xa, xb, r, l)                                                                         \
    MCC_LDRD(w, wo, h02, h13);                                                                               \
    r = mcc_smlad(h02, xa, r);                                                                               \
    l = mcc_smlad(mcc_sxtb16(h02), xa, l);                                                                   \
    r = mcc_smlad(h13, xb, r);                                                                               \
    l = mcc_smlad(mcc_sxtb16(h13), xb, l)
                FC_LEAN_K8(0, x0, x1, r0, l0);
                FC_LEAN_K8(8, x0, x1, r1, l1);
                FC_LEAN_K8(16, x0, x1, r2, l2);
                FC_LEAN_K8(24, x2, x3, r0, l0);
                FC_LEAN_K8(32, x2, x3, r1, l1);
                FC_LEAN_K8(40, x2, x3, r2, l2);
#undef FC_LEAN_K8
            }
            mult = rq2->mult;
            kq = rq2->k;
            e = rq2->e;
            FC_LEAN_STORE(0, 2 * l0);
            FC_LEAN_STORE(1, FC_LEAN_B2(r0, l0));
            FC_LEAN_STORE(2, 2 * l1);
            FC_LEAN_STORE(3, FC_LEAN_B2(r1, l1));
            FC_LEAN_STORE(4, 2 * l2);
            FC_LEAN_STORE(5, FC_LEAN_B2(r2, l2));
        }
    }
    for (; o != block_end; o += 6, bias += 6) {
        const int16_t *xp = xw;
        int32_t l0, r0, l1, r1, l2, r2, a0, a1, a2, d0, d1, d2;
        FC_LEAN_START(bias, 0, l0, r0);
        FC_LEAN_START(bias, 8, l1, r1);
        FC_LEAN_START(bias, 16, l2, r2);
        for (; xp != x32; xp += 32, w += 192) {
            FC_LEAN_GROUP(w, xp, 0, 0);
            FC_LEAN_GROUP(w, xp, 24, 1);
            FC_LEAN_GROUP(w, xp, 48, 2);
            FC_LEAN_GROUP(w, xp, 72, 3);
            FC_LEAN_GROUP(w, xp, 96, 4);
            FC_LEAN_GROUP(w, xp, 120, 5);
            FC_LEAN_GROUP(w, xp, 144, 6);
            FC_LEAN_GROUP(w, xp, 168, 7);
        }
        if (odd != 0) { /* K not a multiple of 32: one test per block for the common case */
            if (rest & 16) {
                FC_LEAN_GROUP(w, xp, 0, 0);
                FC_LEAN_GROUP(w, xp, 24, 1);
                FC_LEAN_GROUP(w, xp, 48, 2);
                FC_LEAN_GROUP(w, xp, 72, 3);
                xp += 16;
                w += 96;
            }
            for (n = (rest >> 2) & 3; n > 0; n--, xp += 4, w += 24) {
                FC_LEAN_GROUP(w, xp, 0, 0);
            }
            for (t = 0; t < kt; t++) { /* the tails (each pair's A then B, after the block's groups) into l and r */
                const int32_t xv = xp[lane[t]];
                l0 += xv * w[t];
                r0 = (int32_t)((uint32_t)r0 + (uint32_t)(xv * (w[t] + 256 * w[kt + t])));
                l1 += xv * w[tb + t];
                r1 = (int32_t)((uint32_t)r1 + (uint32_t)(xv * (w[tb + t] + 256 * w[tb + kt + t])));
                l2 += xv * w[2 * tb + t];
                r2 = (int32_t)((uint32_t)r2 + (uint32_t)(xv * (w[2 * tb + t] + 256 * w[2 * tb + kt + t])));
            }
            w += 3 * tb;
        }
        a0 = 2 * l0; /* twice A's sums, then twice B's */
        a1 = 2 * l1;
        a2 = 2 * l2;
        d0 = FC_LEAN_B2(r0, l0);
        d1 = FC_LEAN_B2(r1, l1);
        d2 = FC_LEAN_B2(r2, l2);
        mult = rq2->mult;
        kq = rq2->k;
        e = rq2->e;
        FC_LEAN_STORE(0, a0);
        FC_LEAN_STORE(1, d0);
        FC_LEAN_STORE(2, a1);
        FC_LEAN_STORE(3, d1);
        FC_LEAN_STORE(4, a2);
        FC_LEAN_STORE(5, d2);
    }
    mult = rq2->mult;
    kq = rq2->k;
    e = rq2->e;
    for (pr = 3 * blocks; pr < pairs; pr++, o += 2, bias += 2) { /* the pairs after the blocks */
        int32_t a, d;
        dual_pair_lean(xw, k, filter + pr * stride, bias, &a, &d);
        FC_LEAN_STORE(0, a);
        FC_LEAN_STORE(1, d);
    }
    if (out_ch & 1) { /* an odd last output: a plain row */
        FC_LEAN_STORE(0, 2 * dual_last_row(xw, k, filter + pairs * stride, bias[0]));
    }
}
#undef FC_LEAN_OUT
#undef FC_LEAN_STORE
#undef FC_LEAN_START
#undef FC_LEAN_B2
#undef FC_LEAN_GROUP
#endif

/** Every batch row widened into the scratch, then times the filter (dual-row or plain rows); per-tensor
 *  requantization takes the fast form where it has one. */
static void fc_rows_widened(const mcc_context *ctx, const mcc_fc_params *p, const mcc_per_channel_quant *q,
                            const int8_t *in, int32_t batches, int32_t k, const int8_t *filter, const int32_t *bias,
                            int32_t out_ch, int8_t *out, int32_t dual)
{
    mcc_rq rq;
    const mcc_rq *fast = NULL;
    int32_t post = p->output_offset, b;
#if MCC_FC_DUAL_LEAN
    if (dual == 3) { /* fc_dual_lean holds (mcc_fully_connected_s8) */
        mcc_rq2 r2;
        mcc_rq2_init(&r2, q->multiplier[0], q->shift[0], p->output_offset, 0);
        for (b = 0; b < batches; b++) {
            widen_row(in + b * k, k, p->input_offset, (int16_t *)ctx->buf);
            fc_row_dual_lean((const int16_t *)ctx->buf, k, filter, bias, out_ch, out + b * out_ch, &r2);
        }
        return;
    }
#endif
    if (!p->per_channel && mcc_rq_fast(q->multiplier[0], q->shift[0])) {
        const int32_t fold = mcc_rq_foldable(q->multiplier[0], q->shift[0]);
        mcc_rq_init(&rq, q->multiplier[0], q->shift[0], fold ? p->output_offset : 0);
        fast = &rq;
        post = fold ? 0 : p->output_offset;
    }
    for (b = 0; b < batches; b++) {
        const int16_t *xw = (const int16_t *)ctx->buf;
        widen_row(in + b * k, k, p->input_offset, (int16_t *)ctx->buf);
        if (MCC_FC_DUAL && dual) { /* the switches leave a path the build does not carry out of the image */
            fc_row_dual(p, q, fast, post, xw, k, filter, bias, out_ch, out + b * out_ch);
        } else if (MCC_FC_WIDENED) {
            fc_row_widened(p, q, fast, post, xw, k, filter, bias, out_ch, out + b * out_ch);
        }
    }
}
#else
/** Pair `pr` of dual-row filters (k values, `pairs` pairs) in the layout `dual_rows` (1: pair after pair; 3: the
 *  pairs of each whole block of three interleaved group by group, the block's tails after its groups, the pairs
 *  after the blocks as in 1): its first group's bytes, the byte step between its groups and its tails' bytes. */
static const int8_t *fc_dual_pair(const int8_t *filter, int32_t dual_rows, int32_t k, int32_t pairs, int32_t pr,
                                  int32_t *step, const int8_t **tails)
{
    const int32_t k4 = k & ~3, stride = mcc_mm_dual_stride(k);
    if (dual_rows == 3 && pr < pairs - pairs % 3) {
        const int8_t *block = filter + (pr / 3) * 3 * stride;
        *step = 24;
        *tails = block + 6 * k4 + (pr % 3) * (stride - 2 * k4);
        return block + 8 * (pr % 3);
    }
    *step = 8;
    *tails = filter + pr * stride + 2 * k4;
    return filter + pr * stride;
}

/** Dual-row filters without the DSP extension (either layout): each pair's weights decoded value by value
 *  (mcc_dual_weights). */
static void fc_dual_portable(const mcc_fc_params *p, const mcc_per_channel_quant *q, const int8_t *x, int32_t k,
                             const int8_t *filter, const int32_t *bias, int32_t out_ch, int8_t *o)
{
    const int32_t k4 = k & ~3, kt = k - k4, stride = mcc_mm_dual_stride(k);
    int32_t oc, i, t;
    for (oc = 0; oc < out_ch; oc += 2) {
        const int8_t *w = filter + (oc >> 1) * stride;
        const int32_t pair = oc + 1 < out_ch;
        int32_t acc[2];
        acc[0] = bias != NULL ? bias[oc] : 0;
        acc[1] = pair && bias != NULL ? bias[oc + 1] : 0;
        if (pair) {
            int32_t step;
            const int8_t *tails, *groups = fc_dual_pair(filter, p->dual_rows, k, out_ch >> 1, oc >> 1, &step, &tails);
            for (i = 0; i < k4; i++) {
                int32_t wa, wb;
                const int32_t xv = x[i] + p->input_offset;
                mcc_dual_weights(groups + (i >> 2) * step, i & 3, &wa, &wb);
                acc[0] += xv * wa;
                acc[1] += xv * wb;
            }
            for (t = 0; t < kt; t++) {
                const int32_t xv = x[k4 + t] + p->input_offset;
                acc[0] += xv * tails[t];
                acc[1] += xv * tails[kt + t];
            }
        } else { /* an odd last output: a plain row */
            for (i = 0; i < k; i++) {
                acc[0] += (x[i] + p->input_offset) * w[i];
            }
        }
        for (i = 0; i <= pair; i++) {
            const int32_t qi = p->per_channel ? oc + i : 0;
            const int32_t v = mcc_multiply_by_quantized_multiplier(acc[i], q->multiplier[qi], q->shift[qi]);
            o[oc + i] = (int8_t)mcc_clamp_i32(v + p->output_offset, p->act_min, p->act_max);
        }
    }
}
#endif /* MCC_DSP */

/**
 * FULLY_CONNECTED int8 (see mcc_nn.h).
 * @param ctx         scratch of mcc_fully_connected_s8_get_buffer_size() bytes, 4-byte aligned, for the
 *                    faster path; NULL or smaller takes the path that needs none
 * @param p           input_offset in [-127, 128], filter_offset in [-127, 128] (0 for symmetric weights),
 *                    output_offset in [-128, 127], per_channel 0 or 1, -128 <= act_min <= act_max <= 127
 * @param q           multiplier in [0, 2^31) and shift in [-31, 30]: one per output (per_channel = 1) or
 *                    a single entry for all outputs (per_channel = 0)
 * @param in_dims     n = batches, c = input depth (h = w = 1)
 * @param in          input [batches, input depth]
 * @param filter_dims n = output depth, c = input depth
 * @param filter      filter [output depth, input depth]
 * @param bias        [output depth] int32, or NULL
 * @param out_dims    n = batches, c = output depth
 * @param out         output [batches, output depth]
 * @return MCC_OK, MCC_ARG_ERROR (also dual_rows with a filter offset, or dual_rows = 3 without a bias, with
 *         per-channel requantization, one without a foldable fast form or a narrower clamp), MCC_NO_BUFFER
 *         (dual_rows with the DSP extension and no scratch), or MCC_NOT_BUILT when the build left out the path the
 *         call needs (mcc_variants.h)
 */
mcc_status mcc_fully_connected_s8(const mcc_context *ctx, const mcc_fc_params *p, const mcc_per_channel_quant *q,
                                  const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                  const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out)
{
    int32_t k, out_ch, batches, b, oc;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        out_dims == NULL || out == NULL || filter_dims->c != in_dims->c || out_dims->c != filter_dims->n ||
        out_dims->n != in_dims->n) {
        return MCC_ARG_ERROR;
    }
#if defined(MCC_MVE)
    if (p->dual_rows) {
        return MCC_ARG_ERROR; /* Helium reads plain filters: the code generator writes no dual rows for it */
    }
    return mcc_fully_connected_s8_mve(p, q, in_dims, in, filter, bias, out_dims, out); /* Helium */
#endif
    k = in_dims->c;
    out_ch = out_dims->c;
    batches = out_dims->n;
    if (p->dual_rows) { /* dual-row filters: symmetric weights, the widened row with the DSP extension */
        if (!MCC_FC_DUAL && !MCC_FC_DUAL_LEAN) {
            return MCC_NOT_BUILT; /* a build without dual-row layers carries none of their code (mcc_variants.h) */
        }
        if (p->filter_offset != 0 || (p->dual_rows != 1 && p->dual_rows != 3) ||
            (p->dual_rows == 3 && !fc_dual_lean(p, q, bias))) {
            return MCC_ARG_ERROR;
        }
#if defined(MCC_DSP)
        if (ctx == NULL || ctx->buf == NULL || ctx->size < mcc_fully_connected_s8_get_buffer_size(in_dims)) {
            return MCC_NO_BUFFER;
        }
        if (p->dual_rows == 3 ? !MCC_FC_DUAL_LEAN : !MCC_FC_DUAL) {
            return MCC_NOT_BUILT;
        }
        fc_rows_widened(ctx, p, q, in, batches, k, filter, bias, out_ch, out, p->dual_rows);
#else
        for (b = 0; b < batches; b++) {
            fc_dual_portable(p, q, in + b * k, k, filter, bias, out_ch, out + b * out_ch);
        }
#endif
        return MCC_OK;
    }
#if defined(MCC_DSP)
    /* widening the input pays off from four filter rows on, with SMLAD (where the build carries it) */
    if (MCC_FC_WIDENED && out_ch >= 4 && ctx != NULL && ctx->buf != NULL &&
        ctx->size >= mcc_fully_connected_s8_get_buffer_size(in_dims)) {
        fc_rows_widened(ctx, p, q, in, batches, k, filter, bias, out_ch, out, 0);
        return MCC_OK;
    }
    if (!MCC_FC_PLAIN) {
        return MCC_NOT_BUILT; /* the build left the plain path out (mcc_variants.h) */
    }
#else
    (void)ctx;
#endif
    for (b = 0; b < batches; b++) {
        const int8_t *x = in + b * k;
        int8_t *o = out + b * out_ch;
        for (oc = 0; oc < out_ch; oc += 2) {
            const int32_t oc1 = oc + 1 < out_ch ? oc + 1 : oc; /* an odd last output is computed twice */
            const int32_t q0 = p->per_channel ? oc : 0, q1 = p->per_channel ? oc1 : 0;
            int32_t acc[2], i;
            acc[0] = bias != NULL ? bias[oc] : 0;
            acc[1] = bias != NULL ? bias[oc1] : 0;
            dot_2(x, filter + oc * k, filter + oc1 * k, k, p->input_offset, p->filter_offset, acc);
            for (i = 0; i < 2; i++) {
                const int32_t qi = i == 0 ? q0 : q1;
                const int32_t v =
                    mcc_multiply_by_quantized_multiplier(acc[i], q->multiplier[qi], q->shift[qi]) + p->output_offset;
                o[i == 0 ? oc : oc1] = (int8_t)mcc_clamp_i32(v, p->act_min, p->act_max);
            }
        }
    }
    return MCC_OK;
}
