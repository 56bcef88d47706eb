/**
 * @file mcc_binary_s16.c
 * @brief ADD and MUL 16x8 with 4-D broadcasting, bit-exact with TFLM's int16 reference ADD (general scaling,
 *        15 bits of headroom) and reference_integer_ops::Mul. Inputs and output int16, zero point 0.
 *
 * Element i of the output reads the broadcast inputs at their own offsets; in place (out == in1 or in2 of
 * the output's shape) is allowed since each element is read before it is written.
 */
#include <stddef.h>

#include "mcc_nn.h"
#include "mcc_s16.h"

static int32_t add_one(const mcc_add_params *p, int32_t a, int32_t b)
{
    const int32_t sa = mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(
        (a + p->input1_offset) * (1 << p->left_shift), p->input1_multiplier, p->input1_shift);
    const int32_t sb = mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(
        (b + p->input2_offset) * (1 << p->left_shift), p->input2_multiplier, p->input2_shift);
    const int32_t raw = mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(sa + sb, p->output_multiplier,
                                                                                 p->output_shift);
    return mcc_clamp_i32(raw + p->output_offset, p->act_min, p->act_max);
}

static int32_t mul_one(const mcc_mul_params *p, int32_t a, int32_t b)
{
    const int32_t prod = (a + p->input1_offset) * (b + p->input2_offset);
    const int32_t v = mcc_multiply_by_quantized_multiplier(prod, p->output_multiplier, p->output_shift);
    return mcc_clamp_i32(v + p->output_offset, p->act_min, p->act_max);
}

static mcc_status run(const void *params, int32_t is_mul, const mcc_broadcast_dims *d, const int16_t *in1,
                      const int16_t *in2, int16_t *out)
{
    int32_t b, y, x, c;
    if (params == NULL || d == NULL || in1 == NULL || in2 == NULL || out == NULL) {
        return MCC_ARG_ERROR;
    }
    for (b = 0; b < d->out.n; b++) {
        for (y = 0; y < d->out.h; y++) {
            for (x = 0; x < d->out.w; x++) {
                for (c = 0; c < d->out.c; c++) {
                    const int32_t a = in1[mcc_broadcast_offset(&d->in1, b, y, x, c)];
                    const int32_t v = in2[mcc_broadcast_offset(&d->in2, b, y, x, c)];
                    out[((b * d->out.h + y) * d->out.w + x) * d->out.c + c] =
                        (int16_t)(is_mul ? mul_one((const mcc_mul_params *)params, a, v)
                                         : add_one((const mcc_add_params *)params, a, v));
                }
            }
        }
    }
    return MCC_OK;
}

/**
 * ADD 16x8 (see mcc_nn.h).
 * @param p left_shift 15, offsets 0, multipliers in [0, 2^31) with shifts in [-31, 0], clamp in [-32768, 32767]
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_add_s16(const mcc_add_params *p, const mcc_broadcast_dims *d, const int16_t *in1, const int16_t *in2,
                       int16_t *out)
{
    return run(p, 0, d, in1, in2, out);
}

/**
 * MUL 16x8 (see mcc_nn.h): the product of two int16 values fits int32; one requantization.
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_mul_s16(const mcc_mul_params *p, const mcc_broadcast_dims *d, const int16_t *in1, const int16_t *in2,
                       int16_t *out)
{
    return run(p, 1, d, in1, in2, out);
}
