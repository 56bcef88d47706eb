/**
 * @file mcc_sub_s8.c
 * @brief SUB int8 with 4-D broadcasting (bit-exact with TFLM's reference_integer_ops / reference_ops
 *        SubElementwise for int8).
 *
 * Both inputs get their offset, are shifted left by left_shift (20 in TFLM) and rescaled to a common
 * scale with MultiplyByQuantizedMultiplierSmallerThanOneExp; the difference is rescaled to the output the
 * same way, offset and clamped. Broadcasting merges trailing dimensions into long runs (mcc_broadcast.h).
 */
#include <stddef.h>

#include "mcc_broadcast.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/** out[i] = in1[i * s1] - in2[i * s2], n values. */
static void sub_run(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2, int8_t *out,
                    int32_t n)
{
    const mcc_add_params *p = (const mcc_add_params *)params;
    const int32_t ls = p->left_shift;
    const int32_t off1 = p->input1_offset, m1 = p->input1_multiplier, sh1 = p->input1_shift;
    const int32_t off2 = p->input2_offset, m2 = p->input2_multiplier, sh2 = p->input2_shift;
    const int32_t offo = p->output_offset, mo = p->output_multiplier, sho = p->output_shift;
    const int32_t lo = p->act_min, hi = p->act_max;
    int32_t i;
    for (i = 0; i < n; i++, in1 += s1, in2 += s2) {
        const int32_t a = mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(
            mcc_wrap_shl(*in1 + off1, ls), m1, sh1);
        const int32_t b = mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(
            mcc_wrap_shl(*in2 + off2, ls), m2, sh2);
        const int32_t v = mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(a - b, mo, sho) + offo;
        out[i] = (int8_t)mcc_clamp_i32(v, lo, hi);
    }
}

/**
 * SUB int8 (see mcc_nn.h): out = in1 - in2 with 4-D broadcasting; out may alias an input of the output's shape.
 * @param p   left_shift in [0, 22] (20 from TFLM's Prepare), input offsets in [-127, 128], input and output
 *            multipliers in [0, 2^31) with shifts in [-31, 0], output_offset in [-128, 127],
 *            -128 <= act_min <= act_max <= 127
 * @param d   shapes: each input dimension equals the output's or is 1
 * @param in1 first input
 * @param in2 second input
 * @param out output
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_sub_s8(const mcc_add_params *p, const mcc_broadcast_dims *d, const int8_t *in1, const int8_t *in2,
                      int8_t *out)
{
    if (p == NULL || d == NULL || in1 == NULL || in2 == NULL || out == NULL) {
        return MCC_ARG_ERROR;
    }
    return mcc_broadcast_apply(d, in1, in2, out, sub_run, p);
}
