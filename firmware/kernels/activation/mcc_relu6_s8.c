/**
 * @file mcc_relu6_s8.c
 * @brief RELU6 int8 (TFLM's Relu6 for int8: a clamp of the raw values, no rescale). No scratch.
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/**
 * RELU6 int8 (see mcc_nn.h).
 * @param p    zero = the input zero point, six = the quantized 6.0 clamped to [-128, 127]
 * @param size number of values, >= 0
 * @param in   input
 * @param out  output (same quantization as the input); may alias in
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_relu6_s8(const mcc_relu6_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    int32_t i;
    if (p == NULL || in == NULL || out == NULL || size < 0) {
        return MCC_ARG_ERROR;
    }
    for (i = 0; i < size; i++) {
        out[i] = (int8_t)mcc_min_i32(mcc_max_i32(in[i], p->zero), p->six);
    }
    return MCC_OK;
}
