/**
 * @file mcc_mve.h
 * @brief Internal header: Helium (M-profile Vector Extension, integer MVE) helpers for the kernels' MVE paths.
 *
 * MCC_MVE is defined when the target has integer MVE (__ARM_FEATURE_MVE bit 0: Cortex-M55, M85 built with
 * -mcpu=cortex-m55 and a hard-float ABI or +mve). Kernels with an MVE path then dispatch to it (files
 * named *_mve.c); everything else keeps the DSP or portable C code. Defining MCC_NO_MVE turns the MVE paths off
 * (the DSP paths then run on an MVE target: for comparisons).
 *
 * Requantization on four int32 lanes, bit-exact with TFLite's MultiplyByQuantizedMultiplier (x * 2^left, then
 * SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT):
 *  - VQRDMULH computes sat((2 * a * b + 2^31) >> 32) = floor((a * b + 2^30) / 2^31), saturated: TFLite's
 *    SRDHM, whose truncating division with the nudge 1 - 2^30 for negative products is the same floor;
 *  - VRSHL by -e adds 2^(e-1) then shifts: it rounds halves up, TFLite's RoundingDivideByPOT rounds them away
 *    from zero. Subtracting 1 from negative values first (saturating: INT32_MIN stays, and it is divisible)
 *    moves exactly the negative halves down and leaves every other value's result unchanged;
 *  - the left shift wraps like TFLite's x * (1 << left) (VSHL, not saturating).
 *
 * Not part of the public API: included by the kernel sources only.
 */
#ifndef MCC_MVE_H
#define MCC_MVE_H

#include <stdint.h>

#include "mcc_compiler.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(MCC_NO_MVE)

#include <arm_mve.h>

#define MCC_MVE 1

/** TFLite MultiplyByQuantizedMultiplier on four lanes: multiplier in [0, 2^31), shift in [-31, 30] per lane. */
static MCC_ALWAYS_INLINE int32x4_t mcc_mve_requant(int32x4_t acc, int32x4_t mult, int32x4_t shift)
{
    const int32x4_t zero = vdupq_n_s32(0);
    const int32x4_t right = vminq_s32(shift, zero); /* -e, e >= 0 */
    int32x4_t x = vshlq_s32(acc, vmaxq_s32(shift, zero));
    x = vqrdmulhq_s32(x, mult);
    /* -1 where x < 0 and e > 0 (both sign bits set), else 0 */
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right), 31));
    return vrshlq_s32(x, right);
}

/** mcc_mve_requant plus the output offset, clamped to [lo, hi]. */
static MCC_ALWAYS_INLINE int32x4_t mcc_mve_requant_clamp(int32x4_t acc, int32x4_t mult, int32x4_t shift,
                                                         int32_t out_offset, int32x4_t lo, int32x4_t hi)
{
    const int32x4_t v = vaddq_n_s32(mcc_mve_requant(acc, mult, shift), out_offset);
    return vminq_s32(vmaxq_s32(v, lo), hi);
}

#endif /* MVE */

#endif /* MCC_MVE_H */
