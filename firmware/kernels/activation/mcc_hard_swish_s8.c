/**
 * @file mcc_hard_swish_s8.c
 * @brief HARD_SWISH int8 (bit-exact with TFLite's reference_ops::HardSwish for int8). No scratch.
 *
 * x * relu6(x + 3) / 6 in TFLite's int16 fixed point: the input at 7 extra bits of resolution is scaled
 * to the output (preshift) and, separately, to a "reluish" factor in [0, 1] (Q0.15); their product,
 * truncated, is rounded to the output's scale and offset. Long tensors go through a 256-entry table
 * (mcc_unary.h).
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"
#include "mcc_unary.h"

/** HARD_SWISH of one input value. */
static int8_t hard_swish_one(const void *params, int32_t x)
{
    const mcc_hard_swish_params *p = (const mcc_hard_swish_params *)params;
    const int32_t e = p->reluish_multiplier_exponent;
    const int32_t hires = mcc_wrap_i16((x - p->input_zero_point) * 128);
    const int32_t preshift = mcc_sat_rounding_doubling_high_mul_i16(hires, p->output_multiplier_fixedpoint_int16);
    int32_t reluish = hires, y;
    if (e > 0) {
        reluish = mcc_saturating_left_shift_i16(reluish, e - 1);
    }
    reluish = mcc_sat_rounding_doubling_high_mul_i16(reluish, p->reluish_multiplier_fixedpoint_int16);
    if (e > 0) {
        reluish = mcc_saturating_left_shift_i16(reluish, 1);
    } else if (e < 0) {
        reluish = mcc_rounding_divide_by_pot_i16(reluish, -e);
    }
    reluish = (reluish + (1 << 15)) >> 1; /* [-1, 1] -> [0, 1] in Q0.15 */
    y = mcc_sat_doubling_high_mul_i16(reluish, preshift);
    y = mcc_wrap_i16(mcc_rounding_divide_by_pot_i16(y, -p->output_multiplier_exponent) + p->output_zero_point);
    return (int8_t)mcc_clamp_i32(y, -128, 127);
}

/**
 * HARD_SWISH int8 (see mcc_nn.h).
 * @param p    zero points in [-128, 127], int16 multipliers, reluish exponent in [-31, 31], output exponent
 *             in [-31, 0] (from TFLM's Prepare, hard_swish_common.cc)
 * @param size number of values, >= 0
 * @param in   input
 * @param out  output; may alias in
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_hard_swish_s8(const mcc_hard_swish_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    if (p == NULL || in == NULL || out == NULL || size < 0 || p->output_multiplier_exponent > 0 ||
        p->output_multiplier_exponent < -31 || p->reluish_multiplier_exponent > 31 ||
        p->reluish_multiplier_exponent < -31) {
        return MCC_ARG_ERROR;
    }
    mcc_unary_apply(p, hard_swish_one, size, 300, in, out);
    return MCC_OK;
}
