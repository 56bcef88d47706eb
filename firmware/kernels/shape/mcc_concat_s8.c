/**
 * @file mcc_concat_s8.c
 * @brief CONCATENATION int8 along one axis (TFLM's Concatenation for int8, plus the fused activation
 *        clamp of the reference executor). No scratch.
 *
 * The tensors are viewed as [outer, axis, inner]: for each outer index, input k contributes a
 * contiguous block of axis_sizes[k] * inner values. Blocks are copied with memcpy when the clamp is
 * the full int8 range, else clamped value by value.
 */
#include <stddef.h>
#include <string.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/**
 * CONCATENATION int8 (see mcc_nn.h). Inputs share the output's quantization (as TFLM requires for int8).
 * @param num_inputs >= 1
 * @param inputs     num_inputs pointers to the input tensors
 * @param axis_sizes num_inputs sizes along the concatenation axis, each >= 0
 * @param outer      product of the dimensions before the axis, >= 1
 * @param inner      product of the dimensions after the axis, >= 1
 * @param act_min    clamp, -128 <= act_min <= act_max <= 127
 * @param act_max    clamp
 * @param out        output [outer, sum(axis_sizes), inner]; must not overlap the inputs
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_concat_s8(int32_t num_inputs, const int8_t *const *inputs, const int32_t *axis_sizes,
                         int32_t outer, int32_t inner, int32_t act_min, int32_t act_max, int8_t *out)
{
    int32_t o, k, i;
    const int32_t clamp = act_min > -128 || act_max < 127;
    if (num_inputs < 1 || inputs == NULL || axis_sizes == NULL || out == NULL || outer < 1 || inner < 1 ||
        act_min > act_max) {
        return MCC_ARG_ERROR;
    }
    for (k = 0; k < num_inputs; k++) {
        if (axis_sizes[k] < 0 || (inputs[k] == NULL && axis_sizes[k] > 0)) {
            return MCC_ARG_ERROR;
        }
    }
    for (o = 0; o < outer; o++) {
        for (k = 0; k < num_inputs; k++) {
            const int32_t block = axis_sizes[k] * inner;
            const int8_t *src = inputs[k] + o * block;
            if (block == 0) {
                continue;
            }
            if (!clamp) {
                memcpy(out, src, (size_t)block);
            } else {
                for (i = 0; i < block; i++) {
                    out[i] = (int8_t)mcc_clamp_i32(src[i], act_min, act_max);
                }
            }
            out += block;
        }
    }
    return MCC_OK;
}
