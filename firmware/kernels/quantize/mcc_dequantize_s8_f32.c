/**
 * @file mcc_dequantize_s8_f32.c
 * @brief DEQUANTIZE int8 -> float32 (bit-exact with TFLM's Dequantize: one float32 multiply). No scratch.
 */
#include <stddef.h>

#include "mcc_nn.h"

/**
 * DEQUANTIZE int8 -> float32 (see mcc_nn.h).
 * @param p    scale (the input's float32 scale), zero_point in [-128, 127]
 * @param size number of values, >= 0
 * @param in   int8 input
 * @param out  float32 output
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_dequantize_s8_f32(const mcc_affine_quant_params *p, int32_t size, const int8_t *in, float *out)
{
    int32_t i;
    if (p == NULL || in == NULL || out == NULL || size < 0) {
        return MCC_ARG_ERROR;
    }
    for (i = 0; i < size; i++) {
        out[i] = (float)(in[i] - p->zero_point) * p->scale;
    }
    return MCC_OK;
}
