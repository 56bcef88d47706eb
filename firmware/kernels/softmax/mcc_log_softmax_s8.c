/**
 * @file mcc_log_softmax_s8.c
 * @brief LOG_SOFTMAX int8 over the last axis (bit-exact with TFLM's LOG_SOFTMAX for int8). No scratch.
 *
 * Per row: differences to the row maximum scaled to Q5.26 (as SOFTMAX), their gemmlowp exps summed in Q12.19,
 * ln of the sum in Q5.26 (TFLite's log_x_for_x_greater_than_or_equal_to_1: a power-of-two split and a rational
 * approximation), then (diff - ln sum) rounded to 16/256 units around zero point 127. Differences too negative
 * for the bound derived from ln sum give -128. Outputs are written after the row is read: out may alias in.
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

#define MCC_LOG_2_Q31 1488522236
#define MCC_SQRT_SQRT_HALF_Q31 1805811301
#define MCC_SQRT_HALF_Q31 1518500250
#define MCC_QUARTER_Q31 536870912
#define MCC_ALPHA_N_Q31 117049297  /* 11/240 * 2^(1/4) */
#define MCC_ALPHA_D_Q31 127690142  /* 1/20 * 2^(1/4) */
#define MCC_ALPHA_I_Q31 1057819769 /* 2 / 2^(1/4) - 2^(1/4) */
#define MCC_ALPHA_F_Q31 638450708  /* 1/4 * 2^(1/4) */

static int32_t sat_i64(int64_t v) { return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v); }

static int32_t mul(int32_t a, int32_t b) { return mcc_sat_rounding_doubling_high_mul(a, b); }

/** ln(z) in Q5.26 for z >= 1 in Q12.19 (accumulated in Q6.25). */
static int32_t log_q12_to_q5(int32_t z)
{
    const int32_t accum_bits = 6, in_bits = 12;
    const int32_t quarter = mcc_saturating_rounding_multiply_by_pot(MCC_QUARTER_Q31, -accum_bits);
    const int32_t head_a = mcc_clz_u32((uint32_t)z);
    const int32_t r_a = mcc_saturating_rounding_multiply_by_pot(
        mul(mcc_saturating_rounding_multiply_by_pot(z, head_a - 1), MCC_SQRT_HALF_Q31), 1);
    const int32_t k_a = sat_i64((int64_t)mcc_saturating_rounding_multiply_by_pot(in_bits - head_a, 31 - accum_bits) +
                                quarter);
    const int32_t head_b = mcc_clz_u32((uint32_t)mul(z, MCC_SQRT_HALF_Q31)) - 1;
    const int32_t r_b = mcc_saturating_rounding_multiply_by_pot(z, head_b);
    const int32_t k_b = sat_i64((int64_t)mcc_saturating_rounding_multiply_by_pot(in_bits - head_b, 31 - accum_bits) -
                                quarter);
    const int32_t r = r_a < r_b ? r_a : r_b, k = k_a > k_b ? k_a : k_b;
    const int32_t p = mcc_rounding_half_sum(r, MCC_SQRT_SQRT_HALF_Q31);
    int32_t q = mcc_wrap_sub(r, MCC_SQRT_SQRT_HALF_Q31), q2, num, denom_minus_one, total;
    q = mcc_wrap_add(q, q);
    q2 = mul(q, q);
    num = mcc_wrap_add(mul(q, r), mul(mul(q, q2), MCC_ALPHA_N_Q31));
    denom_minus_one = mcc_wrap_add(mul(p, mcc_wrap_add(mcc_wrap_add(MCC_ALPHA_I_Q31, q), mul(MCC_ALPHA_D_Q31, q2))),
                                   mul(MCC_ALPHA_F_Q31, q));
    total = mcc_wrap_add(mul(k, MCC_LOG_2_Q31), mul(mcc_saturating_rounding_multiply_by_pot(num, -accum_bits),
                                                    mcc_one_over_one_plus_x_for_x_in_0_1(denom_minus_one)));
    return mcc_saturating_rounding_multiply_by_pot(total, 1);
}

/**
 * LOG_SOFTMAX int8 (see mcc_nn.h).
 * @param p     input_multiplier in [2^30, 2^31), input_left_shift in [0, 30], reverse_scaling_divisor in
 *              [0, 2^31), reverse_scaling_shift in [-31, 0], diff_min < 0
 * @param rows  number of vectors, >= 0
 * @param depth values per vector, in [1, 4096] (the Q12.19 sum of exps cannot overflow)
 * @param in    input
 * @param out   output; may alias in
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_log_softmax_s8(const mcc_log_softmax_params *p, int32_t rows, int32_t depth, const int8_t *in,
                              int8_t *out)
{
    int32_t r, c;
    if (p == NULL || in == NULL || out == NULL || rows < 0 || depth < 1 || depth > 4096) {
        return MCC_ARG_ERROR;
    }
    for (r = 0; r < rows; r++, in += depth, out += depth) {
        int32_t max = -128, sum = 0, log_sum, bound;
        for (c = 0; c < depth; c++) {
            max = in[c] > max ? in[c] : max;
        }
        for (c = 0; c < depth; c++) {
            const int32_t diff = in[c] - max;
            if (diff >= p->diff_min) {
                const int32_t q5 = mcc_multiply_by_quantized_multiplier(diff, p->input_multiplier, p->input_left_shift);
                sum = mcc_wrap_add(sum, mcc_saturating_rounding_multiply_by_pot(mcc_exp_on_negative_values(q5, 5), -12));
            }
        }
        log_sum = log_q12_to_q5(sum);
        bound = mcc_multiply_by_quantized_multiplier(mcc_wrap_add(log_sum, INT32_MIN), p->reverse_scaling_divisor,
                                                     p->reverse_scaling_shift);
        bound = bound > p->diff_min - 1 ? bound : p->diff_min - 1;
        for (c = 0; c < depth; c++) {
            const int32_t diff = in[c] - max;
            int32_t v = -128;
            if (diff > bound) { /* strict, where the sum above used >= */
                const int32_t q5 = mcc_multiply_by_quantized_multiplier(diff, p->input_multiplier, p->input_left_shift);
                v = mcc_clamp_i32(mcc_rounding_divide_by_pot(mcc_wrap_sub(q5, log_sum), 31 - 5 - 4) + 127, -128, 127);
            }
            out[c] = (int8_t)v;
        }
    }
    return MCC_OK;
}
