/**
 * @file mcc_abs_s8.c
 * @brief ABS int8 (bit-exact with TFLM's elementwise ABS for int8). No scratch.
 *
 * out = clamp(zp_out + MultiplyByQuantizedMultiplier(|x - zp_in|, multiplier, shift)); with equal scales the
 * multiplier is exactly 2^30 with shift 1, an identity, so TFLM's no-rescale shortcut gives the same bytes.
 * Long tensors go through a 256-entry table (mcc_unary.h).
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"
#include "mcc_unary.h"

/** ABS of one input value. */
static int8_t abs_one(const void *params, int32_t x)
{
    const mcc_requant_params *p = (const mcc_requant_params *)params;
    const int32_t d = x - p->input_zero_point;
    const int32_t v = mcc_multiply_by_quantized_multiplier(d < 0 ? -d : d, p->multiplier, p->shift);
    return (int8_t)mcc_clamp_i32(v + p->output_zero_point, -128, 127);
}

/**
 * ABS int8 (see mcc_nn.h).
 * @param p    zero points in [-128, 127], multiplier in [0, 2^31), shift in [-31, 30]; act_min/act_max unused
 * @param size number of values, >= 0
 * @param in   input
 * @param out  output; may alias in
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_abs_s8(const mcc_requant_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    if (p == NULL || in == NULL || out == NULL || size < 0) {
        return MCC_ARG_ERROR;
    }
    mcc_unary_apply(p, abs_one, size, 400, in, out);
    return MCC_OK;
}
