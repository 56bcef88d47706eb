/**
 * @file mcc_lookup_s8.c
 * @brief Element-wise int8 ops evaluated through a 256-entry table: ELU, RSQRT (bit-exact with TFLM). No scratch.
 *
 * An int8 input has 256 values, so an op whose TFLM arithmetic depends on the value alone (ELU's float32 table,
 * RSQRT's fixed-point Newton iteration) is evaluated for each of them at compile time by the code generator,
 * with the reference executor's arithmetic, and the table placed in flash; the kernel looks values up.
 */
#include <stddef.h>

#include "mcc_nn.h"

/**
 * Table lookup (see mcc_nn.h).
 * @param table 256 outputs, entry x + 128 for input value x
 * @param size  number of values, >= 0
 * @param in    input
 * @param out   output; may alias in
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_lookup_s8(const int8_t *table, int32_t size, const int8_t *in, int8_t *out)
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
