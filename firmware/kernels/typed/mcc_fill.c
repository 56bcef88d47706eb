/**
 * @file mcc_fill.c
 * @brief FILL (one value repeated, any element size: int8, int32, float32) and ZEROS_LIKE (raw zero bytes,
 * as TFLM writes for every type). No scratch.
 */
#include <stddef.h>
#include <string.h>

#include "mcc_nn.h"

/**
 * FILL: `count` copies of the `elem_bytes`-byte value at `value`.
 * @param value      one element (read before anything is written; may lie in flash or the arena)
 * @param elem_bytes 1, 2 or 4
 * @param count      number of elements, >= 1
 * @param out        count * elem_bytes bytes, not overlapping `value`
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_fill(const void *value, int32_t elem_bytes, int32_t count, void *out)
{
    uint8_t v[4];
    uint8_t *o = (uint8_t *)out;
    int32_t i;
    if (value == NULL || out == NULL || count < 1 || elem_bytes < 1 || elem_bytes > 4) {
        return MCC_ARG_ERROR;
    }
    memcpy(v, value, (size_t)elem_bytes);
    for (i = 0; i < count; i++, o += elem_bytes) {
        memcpy(o, v, (size_t)elem_bytes);
    }
    return MCC_OK;
}

/**
 * ZEROS_LIKE: `bytes` zero bytes (0 of int8, int32 and float32 alike).
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_zeros(int32_t bytes, void *out)
{
    if (out == NULL || bytes < 1) {
        return MCC_ARG_ERROR;
    }
    memset(out, 0, (size_t)bytes);
    return MCC_OK;
}
