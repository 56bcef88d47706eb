/**
 * @file mcc_l2_normalization_s8.c
 * @brief L2_NORMALIZATION int8 over the last axis (bit-exact with TFLM's L2_NORMALIZATION for int8). No scratch.
 *
 * Each row's integer sum of squared (x - zp) gets TFLite's fixed-point inverse square root (a Newton-Raphson
 * iteration in Q3.28, as a multiplier and a right shift); each value is multiplied by it with the shift
 * raised by 7 (output Q0.7). Output scale 1/128, zero point 0.
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

#define MCC_HALF_SQRT_2_Q31 1518500250 /* sqrt(2) / 2 in Q0.31 */

/** 1/sqrt(x) ~= *multiplier * 2^(*shift - 31) for x >= 0 (x <= 1 as 1), *shift <= 0 a right shift. */
static void inv_sqrt(int32_t x, int32_t *multiplier, int32_t *shift)
{
    const int32_t half_three = (1 << 28) + (1 << 27); /* 1.5 in Q3.28 */
    int32_t right = 11, pairs, half_input, guess = 1 << 28, m, i;
    if (x <= 1) {
        *multiplier = INT32_MAX;
        *shift = 0;
        return;
    }
    while (x >= (1 << 29)) {
        x /= 4;
        right++;
    }
    pairs = (mcc_clz_u32((uint32_t)x) - 1) / 2 - 1; /* brings x into [2^27, 2^29) */
    right -= pairs;
    x <<= 2 * pairs;
    half_input = mcc_rounding_divide_by_pot(x >> 1, 1);
    for (i = 0; i < 5; i++) { /* Newton-Raphson for 1/sqrt, from 1.0 */
        const int32_t cube = mcc_saturating_rounding_multiply_by_pot(
            mcc_sat_rounding_doubling_high_mul(mcc_sat_rounding_doubling_high_mul(guess, guess), guess), 6);
        guess = mcc_saturating_rounding_multiply_by_pot(
            mcc_wrap_sub(mcc_sat_rounding_doubling_high_mul(half_three, guess),
                         mcc_sat_rounding_doubling_high_mul(half_input, cube)), 3);
    }
    m = mcc_sat_rounding_doubling_high_mul(guess, MCC_HALF_SQRT_2_Q31);
    if (right < 0) {
        m = mcc_wrap_shl(m, -right);
        right = 0;
    }
    *multiplier = m;
    *shift = -right;
}

/**
 * L2_NORMALIZATION int8 (see mcc_nn.h).
 * @param input_zero_point in [-128, 127]
 * @param rows             number of vectors, >= 0
 * @param depth            values per vector, in [1, 2^15) (the sum of squares stays below 2^31)
 * @param in               input
 * @param out              output; may alias in
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_l2_normalization_s8(int32_t input_zero_point, int32_t rows, int32_t depth, const int8_t *in,
                                   int8_t *out)
{
    int32_t r, c;
    if (in == NULL || out == NULL || rows < 0 || depth < 1 || depth >= (1 << 15)) {
        return MCC_ARG_ERROR;
    }
    for (r = 0; r < rows; r++, in += depth, out += depth) {
        int32_t sum = 0, m, shift;
        for (c = 0; c < depth; c++) {
            const int32_t d = in[c] - input_zero_point;
            sum += d * d;
        }
        inv_sqrt(sum, &m, &shift);
        for (c = 0; c < depth; c++) {
            /* the * 128 of the Q0.7 output is folded into the shift, as TFLM does (not the same rounding as 128 * d) */
            const int32_t v = mcc_multiply_by_quantized_multiplier(in[c] - input_zero_point, m, shift + 7);
            out[c] = (int8_t)mcc_clamp_i32(v, -128, 127);
        }
    }
    return MCC_OK;
}
