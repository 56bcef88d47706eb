/**
 * @file mcc_elu_s8.c
 * @brief ELU int8 (bit-exact with TFLM's ELU for int8). No scratch.
 *
 * TFLM evaluates ELU through a 256-entry table that its Prepare() fills in float32; the code generator builds
 * the same table at compile time (with correctly rounded expf) and places it in flash, so the kernel is a lookup.
 */
#include <stddef.h>

#include "mcc_nn.h"

/**
 * ELU int8 (see mcc_nn.h).
 * @param table 256 outputs, entry x + 128 for input value x
 * @param size  number of values, >= 0
 * @param in    input
 * @param out   output; may alias in
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_elu_s8(const int8_t *table, int32_t size, const int8_t *in, int8_t *out)
{
    int32_t i;
    if (table == NULL || in == NULL || out == NULL || size < 0) {
        return MCC_ARG_ERROR;
    }
    for (i = 0; i < size; i++) {
        out[i] = table[in[i] + 128];
    }
    return MCC_OK;
}
