/**
 * @file mcc_compare_s8.c
 * @brief EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL of int8 inputs with 4-D broadcasting,
 * bool (one byte, 0 or 1) output, bit-exact with TFLM's ComparisonWithScaling. No scratch.
 *
 * Each input is brought to a common scale on its own: ((q + offset) << left_shift) times its scale as a
 * multiplier smaller than one, so inputs of different quantizations compare by real value.
 */
#include <stddef.h>

#include "mcc_broadcast.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

static int32_t scaled(int32_t q, int32_t offset, int32_t left_shift, int32_t multiplier, int32_t shift)
{
    return mcc_multiply_by_quantized_multiplier_smaller_than_one_exp((q + offset) * (1 << left_shift), multiplier,
                                                                     shift);
}

/** out[i] = in1[i * s1] <op> in2[i * s2] as 0 or 1, n values (the output bytes are written through int8_t). */
static void compare_run(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2,
                        int8_t *out, int32_t n)
{
    const mcc_compare_params *p = (const mcc_compare_params *)params;
    int32_t i;
    for (i = 0; i < n; i++, in1 += s1, in2 += s2) {
        const int32_t a = scaled(*in1, p->input1_offset, p->left_shift, p->input1_multiplier, p->input1_shift);
        const int32_t b = scaled(*in2, p->input2_offset, p->left_shift, p->input2_multiplier, p->input2_shift);
        int32_t r;
        switch (p->op) {
        case MCC_CMP_EQUAL: r = a == b; break;
        case MCC_CMP_NOT_EQUAL: r = a != b; break;
        case MCC_CMP_LESS: r = a < b; break;
        case MCC_CMP_LESS_EQUAL: r = a <= b; break;
        case MCC_CMP_GREATER: r = a > b; break;
        default: r = a >= b; break;
        }
        out[i] = (int8_t)r;
    }
}

/**
 * Comparison of two int8 tensors (see mcc_nn.h).
 * @param p   the comparison (MCC_CMP_*), per-input offsets, multipliers and shifts (<= 0), left_shift 8
 * @param d   shapes: each input dimension equals the output's or is 1, all >= 1
 * @param in1 first input
 * @param in2 second input
 * @param out bool output, one byte per value (0 or 1)
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_compare_s8(const mcc_compare_params *p, const mcc_broadcast_dims *d, const int8_t *in1,
                          const int8_t *in2, uint8_t *out)
{
    if (p == NULL || d == NULL || in1 == NULL || in2 == NULL || out == NULL || p->op < MCC_CMP_EQUAL ||
        p->op > MCC_CMP_GREATER_EQUAL) {
        return MCC_ARG_ERROR;
    }
    return mcc_broadcast_apply(d, in1, in2, (int8_t *)out, compare_run, p);
}
