/**
 * @file mcc_leaky_relu_s8.c
 * @brief LEAKY_RELU int8 (bit-exact with TFLM's reference_integer_ops / reference_ops::QuantizeLeakyRelu).
 *        No scratch.
 *
 * (x - zp_in) >= 0 is rescaled by the identity multiplier, < 0 by the alpha multiplier; a negative
 * alpha multiplier is applied as its magnitude and the product negated, as TFLM does. Long tensors go
 * through a 256-entry table (mcc_unary.h).
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"
#include "mcc_unary.h"

/** LEAKY_RELU of one input value. */
static int8_t leaky_relu_one(const void *params, int32_t x)
{
    const mcc_leaky_relu_params *p = (const mcc_leaky_relu_params *)params;
    const int32_t d = x - p->input_zero_point;
    int64_t v;
    if (d >= 0) {
        v = mcc_multiply_by_quantized_multiplier(d, p->output_multiplier_identity, p->output_shift_identity);
    } else if (p->output_multiplier_alpha < 0) {
        v = -(int64_t)mcc_multiply_by_quantized_multiplier(d, mcc_wrap_sub(0, p->output_multiplier_alpha),
                                                            p->output_shift_alpha);
    } else {
        v = mcc_multiply_by_quantized_multiplier(d, p->output_multiplier_alpha, p->output_shift_alpha);
    }
    v += p->output_zero_point;
    return (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
}

/**
 * LEAKY_RELU int8 (see mcc_nn.h).
 * @param p    zero points in [-128, 127], multipliers any int32 (identity in [0, 2^31)), shifts in [-31, 31]
 * @param size number of values, >= 0
 * @param in   input
 * @param out  output; may alias in
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_leaky_relu_s8(const mcc_leaky_relu_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    if (p == NULL || in == NULL || out == NULL || size < 0) {
        return MCC_ARG_ERROR;
    }
    mcc_unary_apply(p, leaky_relu_one, size, 400, in, out);
    return MCC_OK;
}
