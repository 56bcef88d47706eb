/**
 * @file mcc_squared_difference_s8.c
 * @brief SQUARED_DIFFERENCE int8 with 4-D broadcasting (bit-exact with TFLM's SQUARED_DIFFERENCE for int8).
 *        No scratch.
 *
 * Each input, offset and shifted left by 7, is rescaled to the common scale 2 * max(scale1, scale2); the
 * difference (at most 255 * 2^6 in magnitude) is squared in int32 and rescaled once to the output.
 * Broadcasting merges trailing dimensions into long runs (mcc_broadcast.h).
 */
#include <stddef.h>

#include "mcc_broadcast.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/** out[i] = (in1[i * s1] - in2[i * s2])^2, n values. */
static void squared_difference_run(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2,
                                   int8_t *out, int32_t n)
{
    const mcc_squared_difference_params *p = (const mcc_squared_difference_params *)params;
    int32_t i;
    for (i = 0; i < n; i++, in1 += s1, in2 += s2) {
        const int32_t a = mcc_multiply_by_quantized_multiplier((*in1 + p->input1_offset) * (1 << p->left_shift),
                                                               p->input1_multiplier, p->input1_shift);
        const int32_t b = mcc_multiply_by_quantized_multiplier((*in2 + p->input2_offset) * (1 << p->left_shift),
                                                               p->input2_multiplier, p->input2_shift);
        const int32_t diff = a - b;
        const int32_t v = mcc_multiply_by_quantized_multiplier(diff * diff, p->output_multiplier, p->output_shift);
        out[i] = (int8_t)mcc_clamp_i32(v + p->output_offset, -128, 127);
    }
}

/**
 * SQUARED_DIFFERENCE int8 (see mcc_nn.h); out may alias an input of the output's shape.
 * @param p   left_shift 7, input offsets in [-127, 128], input multipliers in [0, 2^31) with shifts in [-31, 0],
 *            output_offset in [-128, 127], output_multiplier in [0, 2^31), output_shift in [-31, 30]
 * @param d   shapes: each input dimension equals the output's or is 1, all >= 1
 * @param in1 first input
 * @param in2 second input
 * @param out output
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_squared_difference_s8(const mcc_squared_difference_params *p, const mcc_broadcast_dims *d,
                                     const int8_t *in1, const int8_t *in2, int8_t *out)
{
    if (p == NULL || d == NULL || in1 == NULL || in2 == NULL || out == NULL) {
        return MCC_ARG_ERROR;
    }
    return mcc_broadcast_apply(d, in1, in2, out, squared_difference_run, p);
}
