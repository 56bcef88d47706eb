/**
 * @file mcc_mul_s8.c
 * @brief MUL int8 with 4-D broadcasting (bit-exact with TFLM's reference_integer_ops::Mul for int8).
 *
 * out = clamp(output_offset + MultiplyByQuantizedMultiplier((in1 + offset1) * (in2 + offset2))).
 * Broadcasting merges trailing dimensions into long runs (mcc_broadcast.h).
 */
#include <stddef.h>

#include "mcc_broadcast.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/** out[i] = in1[i * s1] * in2[i * s2], n values. */
static void mul_run(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2, int8_t *out,
                    int32_t n)
{
    const mcc_mul_params *p = (const mcc_mul_params *)params;
    const int32_t off1 = p->input1_offset, off2 = p->input2_offset, offo = p->output_offset;
    const int32_t m = p->output_multiplier, sh = p->output_shift, lo = p->act_min, hi = p->act_max;
    int32_t i;
    for (i = 0; i < n; i++, in1 += s1, in2 += s2) {
        const int32_t prod = (*in1 + off1) * (*in2 + off2);
        const int32_t v = mcc_multiply_by_quantized_multiplier(prod, m, sh) + offo;
        out[i] = (int8_t)mcc_clamp_i32(v, lo, hi);
    }
}

/**
 * MUL int8 (see mcc_nn.h): out = in1 * in2 with 4-D broadcasting; out may alias an input of the output's shape.
 * @param p   input offsets in [-127, 128], output_offset in [-128, 127], output_multiplier in [0, 2^31),
 *            output_shift in [-31, 30], -128 <= act_min <= act_max <= 127
 * @param d   shapes: each input dimension equals the output's or is 1
 * @param in1 first input
 * @param in2 second input
 * @param out output
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_mul_s8(const mcc_mul_params *p, const mcc_broadcast_dims *d, const int8_t *in1, const int8_t *in2,
                      int8_t *out)
{
    if (p == NULL || d == NULL || in1 == NULL || in2 == NULL || out == NULL) {
        return MCC_ARG_ERROR;
    }
    return mcc_broadcast_apply(d, in1, in2, out, mul_run, p);
}
