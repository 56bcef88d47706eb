/*
 * mcc_copy_s8: a RESHAPE the memory planner could not alias (input and output in different caller
 * buffers) becomes a plain copy.
 */
#include "mcc_nn.h"

mcc_status mcc_copy_s8(const int8_t *in, int8_t *out, int32_t size)
{
    int32_t i;
    if (size < 0) {
        return MCC_ARG_ERROR;
    }
    if (in == out) {
        return MCC_OK;
    }
    for (i = 0; i < size; i++) {
        out[i] = in[i];
    }
    return MCC_OK;
}
