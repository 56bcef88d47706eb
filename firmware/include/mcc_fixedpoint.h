/**
 * @file mcc_fixedpoint.h
 * @brief Internal header: the integer primitives of TFLite Micro and gemmlowp as static inline C99.
 *
 * Each function reproduces, bit for bit, the C++ of TFLM's default build (double rounding in
 * MultiplyByQuantizedMultiplier) and of gemmlowp's fixedpoint.h, and with them the numpy versions in
 * mcucompress/fixedpoint/{arith,gemmlowp}.py. There is no undefined behaviour: left shifts of signed
 * values go through uint32_t, wrapping additions likewise, and the only implementation-defined
 * operations are the arithmetic right shift of negative values and the conversion of out-of-range
 * uint32_t to int32_t, which every compiler for our targets defines as two's complement.
 * No int64 division, no libm.
 *
 * Not part of the public API: included by the kernel sources only.
 */
#ifndef MCC_FIXEDPOINT_H
#define MCC_FIXEDPOINT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Smaller / larger of two int32 values. */
static inline int32_t mcc_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t mcc_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }

/** Clamp x to [lo, hi] (lo <= hi). */
static inline int32_t mcc_clamp_i32(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/** Two's-complement wrapping a + b and a - b (what int32 arithmetic does on our targets, without UB). */
static inline int32_t mcc_wrap_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t mcc_wrap_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/** x * 2^shift modulo 2^32, shift in [0, 31]. */
static inline int32_t mcc_wrap_shl(int32_t x, int32_t shift) { return (int32_t)((uint32_t)x << shift); }

/** Count of leading zero bits of a 32-bit value (32 for 0). */
static inline int32_t mcc_clz_u32(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return x == 0u ? 32 : (int32_t)__builtin_clz(x);
#else
    int32_t n = 0;
    if (x == 0u) {
        return 32;
    }
    while ((x & 0x80000000u) == 0u) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

/**
 * gemmlowp SaturatingRoundingDoublingHighMul without the saturation: round(a * b / 2^31), halves up.
 * Valid unless a == b == INT32_MIN. TFLite's nudge (+2^30, or 1 - 2^30 for negative products) followed
 * by division truncating toward zero equals floor((a * b + 2^30) / 2^31) for every product, which is
 * one SMLAL on Cortex-M.
 * @param a, b any int32 values, not both INT32_MIN
 */
static inline int32_t mcc_doubling_high_mul_no_sat(int32_t a, int32_t b)
{
    const int64_t ab = (int64_t)a * (int64_t)b + ((int64_t)1 << 30);
    return (int32_t)(ab >> 31);
}

/**
 * gemmlowp SaturatingRoundingDoublingHighMul: the high 32 bits of 2ab, rounded; INT32_MIN^2 saturates.
 * @param a, b any int32 values
 */
static inline int32_t mcc_sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return mcc_doubling_high_mul_no_sat(a, b);
}

/**
 * gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, halves away from zero.
 * @param x        any int32 value
 * @param exponent in [0, 31]
 */
static inline int32_t mcc_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((UINT32_C(1) << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/**
 * TFLite MultiplyByQuantizedMultiplier (double rounding, the TFLM default): x * multiplier * 2^(shift-31).
 * The left shift wraps modulo 2^32 as in TFLite.
 * @param x          any int32 value
 * @param multiplier any int32 value; requantization multipliers are in [2^30, 2^31) or 0
 * @param shift      in [-31, 31], positive = left shift
 */
static inline int32_t mcc_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return mcc_rounding_divide_by_pot(mcc_sat_rounding_doubling_high_mul(mcc_wrap_shl(x, left), multiplier), right);
}

/**
 * TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp: RoundingDivideByPOT(SRDHM(x, m), -shift).
 * @param x          any int32 value
 * @param multiplier in [0, 2^31)
 * @param shift      in [-31, 0]
 */
static inline int32_t mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(int32_t x, int32_t multiplier,
                                                                                  int32_t shift)
{
    return mcc_rounding_divide_by_pot(mcc_sat_rounding_doubling_high_mul(x, multiplier), -shift);
}

/**
 * gemmlowp SaturatingRoundingMultiplyByPOT: x * 2^exponent, saturating for exponent > 0 and rounding
 * (RoundingDivideByPOT) for exponent < 0. Also gemmlowp's Rescale<dst>(FixedPoint<src>) with
 * exponent = src - dst.
 * @param exponent in [-31, 31]
 */
static inline int32_t mcc_saturating_rounding_multiply_by_pot(int32_t x, int32_t exponent)
{
    if (exponent > 0) {
        if (x > (INT32_MAX >> exponent)) {
            return INT32_MAX;
        }
        if (x < (INT32_MIN >> exponent)) {
            return INT32_MIN;
        }
        return mcc_wrap_shl(x, exponent);
    }
    if (exponent < 0) {
        return mcc_rounding_divide_by_pot(x, -exponent);
    }
    return x;
}

/** gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl; a and result are FixedPoint<int32, 0>. */
static inline int32_t mcc_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a)
{
    const int32_t constant_term = 1895147668;    /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883; /* 1/3 */
    const int32_t x = mcc_wrap_add(a, (int32_t)1 << 28);
    const int32_t x2 = mcc_sat_rounding_doubling_high_mul(x, x);
    const int32_t x3 = mcc_sat_rounding_doubling_high_mul(x2, x);
    const int32_t x4 = mcc_sat_rounding_doubling_high_mul(x2, x2);
    const int32_t x4_over_4 = mcc_rounding_divide_by_pot(x4, 2);
    const int32_t poly = mcc_rounding_divide_by_pot(
        mcc_wrap_add(mcc_sat_rounding_doubling_high_mul(mcc_wrap_add(x4_over_4, x3), constant_1_over_3), x2), 1);
    return mcc_wrap_add(constant_term, mcc_sat_rounding_doubling_high_mul(constant_term, mcc_wrap_add(x, poly)));
}

/**
 * gemmlowp exp_on_negative_values: exp(a) for a <= 0.
 * @param a        FixedPoint<int32, int_bits> raw value, <= 0
 * @param int_bits integer bits of a, in [1, 29] (SOFTMAX uses 5, LOGISTIC/TANH 4 or 5)
 * @return FixedPoint<int32, 0> raw value (INT32_MAX stands for 1.0)
 */
static inline int32_t mcc_exp_on_negative_values(int32_t a, int32_t int_bits)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t frac_bits = 31 - int_bits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
    const uint32_t remainder = (uint32_t)mcc_wrap_sub(a_mod_quarter_minus_one_quarter, a);
    int32_t result = mcc_exp_on_interval_between_negative_one_quarter_and_0_excl(
        mcc_saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, int_bits));
    int32_t i;
    for (i = 0; i < 7; i++) {
        const int32_t exponent = i - 2;
        if (int_bits > exponent && (remainder & (UINT32_C(1) << (frac_bits + exponent))) != 0u) {
            result = mcc_sat_rounding_doubling_high_mul(result, barrel[i]);
        }
    }
    if (int_bits > 5 && a < -((int32_t)1 << (36 - int_bits))) {
        result = 0;
    }
    return a == 0 ? INT32_MAX : result;
}

/** gemmlowp RoundingHalfSum for int32: (a + b) / 2 rounded to nearest, halves away from zero. */
static inline int32_t mcc_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t t = sum + (sum >= 0 ? 1 : -1);
    return (int32_t)((t + (t < 0 ? 1 : 0)) >> 1); /* t / 2, truncating toward zero */
}

/** gemmlowp's Newton-Raphson for 1 / half_denominator, as FixedPoint<int32, 2> (3 steps from 48/17 - 32/17 d). */
static inline int32_t mcc_newton_reciprocal_of_half_denominator(int32_t half_denominator)
{
    int32_t x = mcc_wrap_add(1515870810, mcc_sat_rounding_doubling_high_mul(half_denominator, -1010580540));
    int32_t i;
    for (i = 0; i < 3; i++) {
        const int32_t half_denominator_times_x = mcc_sat_rounding_doubling_high_mul(half_denominator, x);
        const int32_t one_minus = mcc_wrap_sub((int32_t)1 << 29, half_denominator_times_x);
        x = mcc_wrap_add(x, mcc_saturating_rounding_multiply_by_pot(mcc_sat_rounding_doubling_high_mul(x, one_minus), 2));
    }
    return x;
}

/**
 * gemmlowp one_over_one_plus_x_for_x_in_0_1: 1 / (1 + a).
 * @param a FixedPoint<int32, 0> raw value in [0, 2^31)
 * @return FixedPoint<int32, 0> raw value
 */
static inline int32_t mcc_one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    const int32_t x = mcc_newton_reciprocal_of_half_denominator(mcc_rounding_half_sum(a, INT32_MAX));
    /* ExactMulByPot<-1> relabels x as FixedPoint<1> (raw unchanged); Rescale<0> doubles it, saturating. */
    return mcc_saturating_rounding_multiply_by_pot(x, 1);
}

/**
 * gemmlowp one_minus_x_over_one_plus_x_for_x_in_0_1: (1 - a) / (1 + a).
 * @param a FixedPoint<int32, 0> raw value in [0, 2^31)
 * @return FixedPoint<int32, 0> raw value
 */
static inline int32_t mcc_one_minus_x_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    const int32_t x = mcc_newton_reciprocal_of_half_denominator(mcc_rounding_half_sum(a, INT32_MAX));
    return mcc_saturating_rounding_multiply_by_pot(mcc_wrap_sub(x, (int32_t)1 << 29), 2);
}

/**
 * TFLite GetReciprocal: 1 / x for x > 0 given with x_integer_digits integer bits.
 * @param x                  > 0
 * @param x_integer_digits   integer bits of x (SOFTMAX: 12)
 * @param num_bits_over_unit receives x_integer_digits - (leading zeros of x)
 * @return FixedPoint<int32, 0> raw reciprocal of x scaled into [0.5, 1)
 */
static inline int32_t mcc_get_reciprocal(int32_t x, int32_t x_integer_digits, int32_t *num_bits_over_unit)
{
    const int32_t headroom_plus_one = mcc_clz_u32((uint32_t)x);
    const int32_t shifted_sum_minus_one =
        (int32_t)(((uint32_t)x << headroom_plus_one) - (UINT32_C(1) << 31));
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    return mcc_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

/**
 * gemmlowp logistic: 1 / (1 + exp(-a)).
 * @param a        FixedPoint<int32, int_bits> raw value
 * @param int_bits in [1, 28]
 * @return FixedPoint<int32, 0> raw value
 */
static inline int32_t mcc_logistic(int32_t a, int32_t int_bits)
{
    const int32_t abs_a = a > 0 ? a : mcc_wrap_sub(0, a);
    const int32_t if_positive =
        mcc_one_over_one_plus_x_for_x_in_0_1(mcc_exp_on_negative_values(mcc_wrap_sub(0, abs_a), int_bits));
    if (a == 0) {
        return (int32_t)1 << 30;
    }
    return a > 0 ? if_positive : mcc_wrap_sub(INT32_MAX, if_positive);
}

/**
 * gemmlowp tanh.
 * @param a        FixedPoint<int32, int_bits> raw value
 * @param int_bits in [1, 27]
 * @return FixedPoint<int32, 0> raw value
 */
static inline int32_t mcc_tanh(int32_t a, int32_t int_bits)
{
    const int32_t neg_abs = a < 0 ? a : mcc_wrap_sub(0, a);
    /* neg_tanh_on_negative_values: ExactMulByPot<1> reads the same raw value with one more integer bit */
    const int32_t t =
        mcc_one_minus_x_over_one_plus_x_for_x_in_0_1(mcc_exp_on_negative_values(neg_abs, int_bits + 1));
    if (a == 0) {
        return 0;
    }
    return a < 0 ? mcc_wrap_sub(0, t) : t;
}

/* ---- int16 fixed point (HARD_SWISH): int16 operands promoted to int, results narrowed back to int16_t ---- */

/** Two's-complement narrowing of an int32 to the int16 range (as a conversion to int16_t does on our targets). */
static inline int32_t mcc_wrap_i16(int32_t x)
{
    return (int32_t)(((uint32_t)x & 0xFFFFu) ^ 0x8000u) - 0x8000;
}

/**
 * gemmlowp SaturatingRoundingDoublingHighMul for int16: round(a * b / 2^15), halves up; -32768^2 saturates.
 * @param a, b int16 values
 */
static inline int32_t mcc_sat_rounding_doubling_high_mul_i16(int32_t a, int32_t b)
{
    if (a == -32768 && b == -32768) {
        return 32767;
    }
    return (a * b + (1 << 14)) >> 15; /* = TFLite's nudged division truncating toward zero */
}

/**
 * TFLite SaturatingDoublingHighMul for int16 (ARM SQDMULH): a * b / 2^15 truncated toward zero.
 * @param a, b int16 values
 */
static inline int32_t mcc_sat_doubling_high_mul_i16(int32_t a, int32_t b)
{
    const int32_t ab = a * b;
    if (a == -32768 && b == -32768) {
        return 32767;
    }
    return (ab + (ab < 0 ? (1 << 15) - 1 : 0)) >> 15;
}

/**
 * gemmlowp RoundingDivideByPOT for int16: as the int32 version with the mask, threshold and result
 * narrowed to int16 as C++ does.
 * @param x        int16 value
 * @param exponent in [0, 31]
 */
static inline int32_t mcc_rounding_divide_by_pot_i16(int32_t x, int32_t exponent)
{
    const int32_t mask = mcc_wrap_i16((int32_t)((UINT32_C(1) << exponent) - 1u));
    const int32_t threshold = mcc_wrap_i16((mask >> 1) + (x < 0 ? 1 : 0));
    return mcc_wrap_i16((x >> exponent) + ((x & mask) > threshold ? 1 : 0));
}

/** x * 2^shift clamped to the int16 range; shift in [0, 31]. */
static inline int32_t mcc_saturating_left_shift_i16(int32_t x, int32_t shift)
{
    const int64_t v = (int64_t)x * ((int64_t)1 << shift);
    return v > 32767 ? 32767 : (v < -32768 ? -32768 : (int32_t)v);
}

#ifdef __cplusplus
}
#endif

#endif /* MCC_FIXEDPOINT_H */
