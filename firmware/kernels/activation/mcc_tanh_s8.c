/**
 * @file mcc_tanh_s8.c
 * @brief TANH int8 (bit-exact with TFLM's reference_integer_ops::Tanh for int8). No scratch.
 *
 * (x - zp) is rescaled to FixedPoint<int32, 4> (MultiplyByQuantizedMultiplier with a left shift),
 * gemmlowp's tanh gives FixedPoint<int32, 0>, rounded to the output's 1/128 steps.
 * Inputs at or beyond +/- input_range_radius saturate to 127 / -128. Long tensors go through a
 * 256-entry table (mcc_unary.h).
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"
#include "mcc_unary.h"

/** TANH of one input value. */
static int8_t tanh_one(const void *params, int32_t x)
{
    const mcc_tanh_params *p = (const mcc_tanh_params *)params;
    const int32_t d = x - p->input_zero_point;
    int32_t y;
    if (d <= -p->input_range_radius) {
        return -128;
    }
    if (d >= p->input_range_radius) {
        return 127;
    }
    y = mcc_tanh(mcc_multiply_by_quantized_multiplier(d, p->input_multiplier, p->input_left_shift), 4);
    return (int8_t)mcc_clamp_i32(mcc_rounding_divide_by_pot(y, 31 - 7), -128, 127);
}

/**
 * TANH int8 (see mcc_nn.h).
 * @param p    input_zero_point in [-128, 127], input_range_radius >= 0, input_multiplier in [0, 2^31),
 *             input_left_shift in [0, 31] (from TFLM's Prepare: input scale * 2^27 split by frexp)
 * @param size number of values, >= 0
 * @param in   input
 * @param out  output, scale 1/128, zero point 0; may alias in
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_tanh_s8(const mcc_tanh_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    if (p == NULL || in == NULL || out == NULL || size < 0) {
        return MCC_ARG_ERROR;
    }
    mcc_unary_apply(p, tanh_one, size, 260, in, out);
    return MCC_OK;
}
