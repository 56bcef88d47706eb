/**
 * @file mcc_arg_min_max_s8.c
 * @brief ARG_MAX and ARG_MIN of int8 values along one axis, int32 indices (bit-exact with TFLM). No scratch.
 *
 * The tensor is seen as [outer, axis_size, inner]. The running best is replaced only by a strictly larger
 * (smaller) value, so ties give the lowest index, as TFLM's ArgMinMax. The raw int8 order is the order of
 * the real values whatever the quantization, so no offsets are needed.
 */
#include <stddef.h>

#include "mcc_nn.h"

static mcc_status arg_extreme(int32_t outer, int32_t axis_size, int32_t inner, const int8_t *in, int32_t *out,
                              int32_t want_max)
{
    int32_t o, i, k;
    if (in == NULL || out == NULL || outer < 1 || axis_size < 1 || inner < 1) {
        return MCC_ARG_ERROR;
    }
    for (o = 0; o < outer; o++) {
        const int8_t *base = in + (size_t)o * (size_t)axis_size * (size_t)inner;
        for (i = 0; i < inner; i++) {
            int32_t best = base[i];
            int32_t index = 0;
            for (k = 1; k < axis_size; k++) {
                const int32_t v = base[(size_t)k * (size_t)inner + (size_t)i];
                if (want_max ? v > best : v < best) {
                    best = v;
                    index = k;
                }
            }
            out[(size_t)o * (size_t)inner + (size_t)i] = index;
        }
    }
    return MCC_OK;
}

/**
 * ARG_MAX int8 (see mcc_nn.h).
 * @param outer     product of the dimensions before the axis, >= 1
 * @param axis_size extent of the reduced axis, >= 1
 * @param inner     product of the dimensions after the axis, >= 1
 * @param in        outer * axis_size * inner values
 * @param out       outer * inner int32 indices in [0, axis_size)
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_arg_max_s8(int32_t outer, int32_t axis_size, int32_t inner, const int8_t *in, int32_t *out)
{
    return arg_extreme(outer, axis_size, inner, in, out, 1);
}

/** ARG_MIN int8: as mcc_arg_max_s8 with the smallest value. */
mcc_status mcc_arg_min_s8(int32_t outer, int32_t axis_size, int32_t inner, const int8_t *in, int32_t *out)
{
    return arg_extreme(outer, axis_size, inner, in, out, 0);
}
