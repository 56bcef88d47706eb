/**
 * @file mcc_requantize_s16.c
 * @brief QUANTIZE int8 -> int16 and int16 -> int8 (bit-exact with TFLM's Requantize). No scratch.
 *
 * out = clamp(zp_out + MultiplyByQuantizedMultiplier(x - zp_in, multiplier, shift)) to the output type.
 * Both run in place when out starts at in: widening goes from the last element down, narrowing from the
 * first up, so no input value is overwritten before it is read.
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

static int32_t requantize_one(const mcc_requant_params *p, int32_t x)
{
    return mcc_multiply_by_quantized_multiplier(x - p->input_zero_point, p->multiplier, p->shift) +
           p->output_zero_point;
}

/**
 * QUANTIZE int8 -> int16 (see mcc_nn.h).
 * @param p    input zero point in [-128, 127], output zero point 0, multiplier in [0, 2^31), shift in [-31, 30]
 * @param size number of values, >= 0
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_requantize_s8_s16(const mcc_requant_params *p, int32_t size, const int8_t *in, int16_t *out)
{
    int32_t i;
    if (p == NULL || in == NULL || out == NULL || size < 0) {
        return MCC_ARG_ERROR;
    }
    for (i = size - 1; i >= 0; i--) {
        out[i] = (int16_t)mcc_clamp_i32(requantize_one(p, in[i]), -32768, 32767);
    }
    return MCC_OK;
}

/**
 * QUANTIZE int16 -> int8 (see mcc_nn.h).
 * @param p    input zero point 0, output zero point in [-128, 127], multiplier in [0, 2^31), shift in [-31, 30]
 * @param size number of values, >= 0
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_requantize_s16_s8(const mcc_requant_params *p, int32_t size, const int16_t *in, int8_t *out)
{
    int32_t i;
    if (p == NULL || in == NULL || out == NULL || size < 0) {
        return MCC_ARG_ERROR;
    }
    for (i = 0; i < size; i++) {
        out[i] = (int8_t)mcc_clamp_i32(requantize_one(p, in[i]), -128, 127);
    }
    return MCC_OK;
}
