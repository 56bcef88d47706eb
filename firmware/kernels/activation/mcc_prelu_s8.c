/**
 * @file mcc_prelu_s8.c
 * @brief PRELU int8 with alpha broadcast over a 4-D input (bit-exact with TFLM's PRELU for int8). No scratch.
 *
 * With x' = x + input_offset: x' >= 0 gives MultiplyByQuantizedMultiplier(x', m1, s1), x' < 0 gives
 * MultiplyByQuantizedMultiplier(x' * (alpha + alpha_offset), m2, s2); then + output_offset, clamped to int8.
 * Broadcasting (alpha per channel, usually) merges trailing dimensions into long runs (mcc_broadcast.h).
 */
#include <stddef.h>

#include "mcc_broadcast.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/** out[i] = prelu(in[i * s1], alpha[i * s2]), n values. */
static void prelu_run(const void *params, const int8_t *in, int32_t s1, const int8_t *alpha, int32_t s2, int8_t *out,
                      int32_t n)
{
    const mcc_prelu_params *p = (const mcc_prelu_params *)params;
    int32_t i;
    for (i = 0; i < n; i++, in += s1, alpha += s2) {
        const int32_t x = *in + p->input_offset;
        int32_t v;
        if (x >= 0) {
            v = mcc_multiply_by_quantized_multiplier(x, p->output_multiplier_1, p->output_shift_1);
        } else {
            v = mcc_multiply_by_quantized_multiplier(x * (*alpha + p->alpha_offset), p->output_multiplier_2,
                                                     p->output_shift_2);
        }
        out[i] = (int8_t)mcc_clamp_i32(v + p->output_offset, -128, 127);
    }
}

/**
 * PRELU int8 (see mcc_nn.h); out may alias in.
 * @param p     input_offset and alpha_offset in [-127, 128], output_offset in [-128, 127], multipliers in
 *              [0, 2^31), shifts in [-31, 30]
 * @param d     shapes: in1 = the input (= out), in2 = alpha, each of its dimensions equal to the input's or 1
 * @param in    input
 * @param alpha alpha, int8, quantized per tensor
 * @param out   output
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_prelu_s8(const mcc_prelu_params *p, const mcc_broadcast_dims *d, const int8_t *in, const int8_t *alpha,
                        int8_t *out)
{
    if (p == NULL || d == NULL || in == NULL || alpha == NULL || out == NULL) {
        return MCC_ARG_ERROR;
    }
    return mcc_broadcast_apply(d, in, alpha, out, prelu_run, p);
}
