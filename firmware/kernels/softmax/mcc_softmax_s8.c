/**
 * @file mcc_softmax_s8.c
 * @brief SOFTMAX int8 -> int8 over the last axis (bit-exact with TFLM's reference_ops::Softmax for int8,
 *        gemmlowp fixed point). No scratch.
 *
 * Per row: the maximum is subtracted; differences >= diff_min are scaled by beta (input_multiplier,
 * input_left_shift) into FixedPoint<int32, 5> and exponentiated (gemmlowp exp_on_negative_values); the
 * exponentials, rescaled to 12 integer bits, are summed; the reciprocal of the sum (GetReciprocal)
 * scales each exponential, recomputed as in TFLM, to the output (scale 1/256, zero point -128).
 * Differences below diff_min give -128.
 */
/* mcc-build: -Os */
/* Runs once per inference over the classes: built for size (316 fewer bytes of code on a Cortex-M4). */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUMULATION_INTEGER_BITS 12

/** exp of a scaled difference, FixedPoint<int32, 0>. */
static inline int32_t exp_of_diff(int32_t diff, int32_t multiplier, int32_t left_shift)
{
    /* MultiplyByQuantizedMultiplierGreaterThanOne; diff >= diff_min keeps diff * 2^left_shift in range */
    const int32_t rescaled = mcc_sat_rounding_doubling_high_mul(mcc_wrap_shl(diff, left_shift), multiplier);
    return mcc_exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS);
}

/**
 * SOFTMAX int8 (see mcc_nn.h).
 * @param p     input_multiplier in [2^30, 2^31), input_left_shift in [0, 30], diff_min <= 0 (from TFLM's
 *              Prepare with 5 integer bits for the scaled difference)
 * @param rows  number of vectors, >= 0
 * @param depth values per vector, in [1, 4096) (the exponential sum must stay below 2^31)
 * @param in    input [rows, depth]
 * @param out   output [rows, depth], scale 1/256, zero point -128; may alias in
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_softmax_s8(const mcc_softmax_params *p, int32_t rows, int32_t depth, const int8_t *in, int8_t *out)
{
    int32_t r, c;
    if (p == NULL || in == NULL || out == NULL || rows < 0 || depth < 1) {
        return MCC_ARG_ERROR;
    }
    for (r = 0; r < rows; r++, in += depth, out += depth) {
        const int32_t mult = p->input_multiplier, ls = p->input_left_shift, diff_min = p->diff_min;
        int32_t max_in = -128, sum = 0, num_bits_over_unit = 0, shifted_scale = 0, exponent = 0, pass;
        for (c = 0; c < depth; c++) {
            max_in = mcc_max_i32(max_in, in[c]);
        }
        /* pass 0 sums the exponentials, pass 1 scales them: one inlined exp_of_diff (code size) */
        for (pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                shifted_scale = mcc_get_reciprocal(sum, ACCUMULATION_INTEGER_BITS, &num_bits_over_unit);
                exponent = num_bits_over_unit + 31 - 8;
            }
            for (c = 0; c < depth; c++) {
                const int32_t diff = in[c] - max_in;
                int32_t v = -128;
                if (diff >= diff_min) {
                    const int32_t e = exp_of_diff(diff, mult, ls);
                    if (pass == 0) {
                        sum += mcc_rounding_divide_by_pot(e, ACCUMULATION_INTEGER_BITS);
                        continue;
                    }
                    {
                        const int32_t scaled = mcc_sat_rounding_doubling_high_mul(shifted_scale, e);
                        /* scaled >= 0; a shift beyond 31 (sums >= 2^30) leaves 0, as the int64 reference does */
                        const int32_t unsat = exponent > 31 ? 0 : mcc_rounding_divide_by_pot(scaled, exponent);
                        v = mcc_clamp_i32(unsat - 128, -128, 127);
                    }
                }
                if (pass == 1) {
                    out[c] = (int8_t)v;
                }
            }
        }
    }
    return MCC_OK;
}
