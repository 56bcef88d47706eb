/**
 * @file mcc_requant.h
 * @brief Internal header: per-channel requantization in one multiply-accumulate, for the kernels' hot loops.
 *
 * TFLite's MultiplyByQuantizedMultiplier for a right shift e = -shift >= 1 rounds twice: t = SRDHM(acc, m)
 * = floor((acc * m + 2^30) / 2^31), then RoundingDivideByPOT(t, e) = floor((t + 2^(e-1) - [t < 0]) / 2^e).
 * Since floor(floor(a / b) / c) = floor(a / (b * c)) and t < 0 only if acc < 0 (while t = 0 gives 0
 * either way), both roundings fold into one 64-bit sum:
 *
 *     acc * m + K - [acc < 0] * 2^31,   K = 2^30 + 2^(30+e) (+ output_offset * 2^(31+e), see below),
 *
 * whose bits 31+e and up are the requantized value. Its high word is floor(acc * m / 2^32) + 2^(e-2) +
 * small, within 32 bits for every e <= 31, so the result is that word shifted right by e - 1: two SMLAL
 * and a shift per output on Cortex-M3/M4/M7 instead of about twenty instructions. The output offset
 * folds into K as well when e <= 22 (the high word then gains output_offset * 2^(e-1) and still fits);
 * kernels fold it when every channel allows and otherwise add it after the shift. A zero multiplier
 * gives 0 for any e >= 1, so it takes e = 1. Only channels with no right shift (scale >= 0.5) and a
 * non-zero multiplier have no fast form: mcc_rq_init returns 0 and kernels use the generic code.
 *
 * Not part of the public API: included by the kernel sources only.
 */
#ifndef MCC_REQUANT_H
#define MCC_REQUANT_H

#include <stdint.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Precomputed requantization of one output channel (fast form). */
typedef struct {
    uint32_t k_lo; /* low word of K */
    int32_t k_hi;  /* high word of K */
    int32_t mult;  /* multiplier m */
    int32_t sh;    /* e - 1 */
} mcc_rq;

/** Largest right shift that can fold the output offset into K. */
#define MCC_RQ_MAX_FOLD_SHIFT 22

/** 1 when the channel (multiplier, shift) has a fast form. */
static inline int32_t mcc_rq_fast(int32_t mult, int32_t shift)
{
    return mult == 0 || (mult > 0 && shift <= -1 && shift >= -31);
}

/** 1 when the channel's fast form can also fold the output offset (mcc_rq_fast must hold). */
static inline int32_t mcc_rq_foldable(int32_t mult, int32_t shift)
{
    return mult == 0 || shift >= -MCC_RQ_MAX_FOLD_SHIFT;
}

/**
 * Fill `r` for a channel with multiplier m and shift (TFLite convention: negative = right shift); the
 * channel must satisfy mcc_rq_fast, and mcc_rq_foldable too when fold_offset is not 0.
 * @param fold_offset the output offset to fold into the result, or 0 (the caller then adds it)
 */
static inline void mcc_rq_init(mcc_rq *r, int32_t mult, int32_t shift, int32_t fold_offset)
{
    const int32_t e = mult == 0 ? 1 : -shift;
    /* uint64_t arithmetic: a negative offset term wraps into two's complement */
    const uint64_t k = ((uint64_t)1 << 30) + ((uint64_t)1 << (30 + e)) + ((uint64_t)(int64_t)fold_offset << (31 + e));
    r->k_lo = (uint32_t)k;
    r->k_hi = (int32_t)(uint32_t)(k >> 32);
    r->mult = mult;
    r->sh = e - 1;
}

/**
 * The high word of K + acc * mult - [acc < 0] * 2^31, and the entry's shift word in *sh. The sign term is a
 * second multiply-accumulate, (acc >> 31, logical) * INT32_MIN: with the two LDRD of the constants this is
 * LDRD, LDRD, SMLAL, LSR, SMLAL on Armv7-M.
 */
static MCC_ALWAYS_INLINE int32_t mcc_rq_high(const mcc_rq *r, int32_t acc, int32_t *sh)
{
    int32_t k_lo, k_hi, mult, shift, min = INT32_MIN, neg = (int32_t)((uint32_t)acc >> 31);
    int64_t v;
    MCC_LDRD(r, 0, k_lo, k_hi);
    MCC_LDRD(r, 8, mult, shift);
    /* register operands of unknown value: the compiler would otherwise rewrite the product as shifts */
    MCC_OPAQUE(min);
    MCC_OPAQUE(neg);
    v = (int64_t)(((uint64_t)(uint32_t)k_hi << 32) | (uint32_t)k_lo);
    v += (int64_t)acc * mult;
    v += (int64_t)neg * min;
    *sh = shift;
    return (int32_t)(v >> 32);
}

/** Requantized value (plus the output offset if folded), before clamping (fast form). */
static MCC_ALWAYS_INLINE int32_t mcc_rq_apply(const mcc_rq *r, int32_t acc)
{
    int32_t sh;
    const int32_t high = mcc_rq_high(r, acc, &sh);
    return high >> sh;
}

/**
 * Pack an output offset `post` in [-128, 127] that could not be folded into K into the entry's shift
 * word: sh becomes (e - 1) + 256 * post. Its low byte stays e - 1, which is all an Arm register-shifted
 * ASR reads, and sh >> 8 is post: mcc_rq_apply_post then costs one ADD more than mcc_rq_apply.
 */
static inline void mcc_rq_pack_post(mcc_rq *r, int32_t post) { r->sh += (int32_t)((uint32_t)post << 8); }

/**
 * Fill table[0..n) for the fast requantization of n channels whose multiplier and shift sit at index
 * oc * stride (stride 0: one per-tensor pair), with out_offset folded in or packed as a post-add. Returns 1,
 * or 0 with the table untouched when some channel lacks the fast form (callers then use mcc_rq_generic).
 */
static inline int32_t mcc_rq_prepare_table(mcc_rq *table, const int32_t *mult, const int32_t *shift, int32_t n,
                                           int32_t stride, int32_t out_offset)
{
    int32_t oc;
    for (oc = 0; oc < n; oc++) {
        if (!mcc_rq_fast(mult[oc * stride], shift[oc * stride])) {
            return 0;
        }
    }
    for (oc = 0; oc < n; oc++) {
        const int32_t m = mult[oc * stride], s = shift[oc * stride];
        const int32_t fold = mcc_rq_foldable(m, s);
        mcc_rq_init(&table[oc], m, s, fold ? out_offset : 0);
        if (!fold) {
            mcc_rq_pack_post(&table[oc], out_offset);
        }
    }
    return 1;
}

/** x >> (sh mod 256), sh mod 256 <= 31: one register-shifted ASR on Arm. */
static MCC_ALWAYS_INLINE int32_t mcc_asr_low8(int32_t x, int32_t sh)
{
#if defined(__GNUC__) && defined(__thumb2__) && !defined(MCC_EMULATE_DSP)
    int32_t r;
    __asm__("asr %0, %1, %2" : "=r"(r) : "r"(x), "r"(sh));
    return r;
#else
    return x >> (sh & 0xFF);
#endif
}

/** mcc_rq_apply for an entry that may carry a packed output offset (mcc_rq_pack_post). */
static MCC_ALWAYS_INLINE int32_t mcc_rq_apply_post(const mcc_rq *r, int32_t acc)
{
    int32_t sh;
    const int32_t high = mcc_rq_high(r, acc, &sh);
    return mcc_asr_low8(high, sh) + (sh >> 8);
}

/**
 * The SMMLAR form of a fast channel whose shift folds the output offset (e <= MCC_RQ_MAX_FOLD_SHIFT), for
 * accumulators known to satisfy |2 acc| < 2^31 (the code generator checks it per layer): with
 * k = 2^(e-1) + output_offset * 2^e,
 *
 *     SMMLAR(2 acc, m, k) = floor((acc * m + 2^30 + k * 2^31) / 2^31),
 *
 * and (that - [acc < 0]) >> e is mcc_rq_apply's floor((acc * m + K - [acc < 0] * 2^31) / 2^(31 + e)) with the
 * offset folded: SMMLAR, ADD (with ASR #31), ASR and SSAT per output, the constants loaded once per channel
 * (mcc_rq's sum needs a fresh copy of K for each output). The entry carries the channel's bias doubled.
 */
typedef struct {
    int32_t mult; /* m */
    int32_t k;    /* 2^(e-1) + output_offset * 2^e */
    int32_t e;    /* right shift, 1..MCC_RQ_MAX_FOLD_SHIFT (a zero multiplier takes 1) */
    int32_t bias2; /* 2 * bias */
} mcc_rq2;

/** Fill `r` (the channel must satisfy mcc_rq_fast and mcc_rq_foldable; |bias| < 2^30). */
static inline void mcc_rq2_init(mcc_rq2 *r, int32_t mult, int32_t shift, int32_t out_offset, int32_t bias)
{
    const int32_t e = mult == 0 ? 1 : -shift;
    r->mult = mult;
    r->k = (int32_t)(((uint32_t)1 << (e - 1)) + ((uint32_t)out_offset << e));
    r->e = e;
    r->bias2 = (int32_t)((uint32_t)bias << 1);
}

/** SMMLAR: acc + a * b / 2^32, rounded (the high word of acc * 2^32 + a * b + 2^31). */
static MCC_ALWAYS_INLINE int32_t mcc_smmlar(int32_t a, int32_t b, int32_t acc)
{
#if defined(__GNUC__) && defined(__thumb2__) && defined(MCC_DSP) && !defined(MCC_EMULATE_DSP)
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
#else
    const uint64_t v = ((uint64_t)(uint32_t)acc << 32) + (uint64_t)((int64_t)a * b) + 0x80000000u;
    return (int32_t)(uint32_t)(v >> 32);
#endif
}

/** Requantized value with the offset (before clamping) of acc2 = 2 acc, constants in registers. */
static MCC_ALWAYS_INLINE int32_t mcc_rq2_apply(int32_t acc2, int32_t mult, int32_t k, int32_t e)
{
    return (mcc_smmlar(acc2, mult, k) + (acc2 >> 31)) >> e;
}

/** v saturated to [-128, 127] (SSAT on Cortex-M3 and later). */
static inline int32_t mcc_ssat8(int32_t v)
{
#if defined(__ARM_FEATURE_SAT) && defined(__GNUC__)
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(v));
    return r;
#else
    return v < -128 ? -128 : (v > 127 ? 127 : v);
#endif
}

/**
 * Clamp to [lo, hi] (-128 <= lo <= hi <= 127). Callers specialise the full int8 range by passing the
 * constants -128 and 127, which leaves a single SSAT.
 */
static inline int8_t mcc_rq_clamp(int32_t v, int32_t lo, int32_t hi)
{
    v = mcc_ssat8(v);
    if (lo > -128) {
        v = v < lo ? lo : v;
    }
    if (hi < 127) {
        v = v > hi ? hi : v;
    }
    return (int8_t)v;
}

/** The exact generic requantization (any multiplier and shift) plus the output offset, before clamping. */
static inline int32_t mcc_rq_generic(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset)
{
    return mcc_multiply_by_quantized_multiplier(acc, mult, shift) + out_offset;
}

#ifdef __cplusplus
}
#endif

#endif /* MCC_REQUANT_H */
