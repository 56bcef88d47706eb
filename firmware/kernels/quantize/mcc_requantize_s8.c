/**
 * @file mcc_requantize_s8.c
 * @brief QUANTIZE int8 -> int8 and RELU int8 (bit-exact with TFLM's Requantize and ReluQuantized).
 *        No scratch.
 *
 * out = clamp(zp_out + MultiplyByQuantizedMultiplier(x - zp_in, multiplier, shift), act_min, act_max).
 * Long tensors go through a 256-entry table (mcc_unary.h).
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"
#include "mcc_unary.h"

/** Requantization of one input value. */
static int8_t requantize_one(const void *params, int32_t x)
{
    const mcc_requant_params *p = (const mcc_requant_params *)params;
    const int32_t v =
        mcc_multiply_by_quantized_multiplier(x - p->input_zero_point, p->multiplier, p->shift) + p->output_zero_point;
    return (int8_t)mcc_clamp_i32(v, mcc_max_i32(p->act_min, -128), mcc_min_i32(p->act_max, 127));
}

/**
 * QUANTIZE int8 -> int8 / RELU int8 (see mcc_nn.h).
 * @param p    zero points in [-128, 127], multiplier in [0, 2^31), shift in [-31, 30], act_min <= act_max
 *             (intersected with [-128, 127]; RELU: act_min = max(-128, output zero point))
 * @param size number of values, >= 0
 * @param in   input
 * @param out  output; may alias in
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_requantize_s8(const mcc_requant_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    if (p == NULL || in == NULL || out == NULL || size < 0) {
        return MCC_ARG_ERROR;
    }
    mcc_unary_apply(p, requantize_one, size, 400, in, out);
    return MCC_OK;
}
