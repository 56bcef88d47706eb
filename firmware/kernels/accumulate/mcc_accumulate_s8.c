/*
 * ADD_N and CUMSUM int8, bit-exact with TFLM's reference kernels: every term (x - zp_in) << 20 is scaled to
 * twice the input scale, the int32 sum starts (as TFLM's does) from the scaled -zp_in and wraps as TFLM's
 * int32 arithmetic does on our targets, and each output requantizes a sum to the output scale.
 */
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

static int32_t term(const mcc_accumulate_params *p, int32_t x)
{
    return mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(
        mcc_wrap_shl(x + p->input_offset, p->left_shift), p->input_multiplier, p->input_shift);
}

static int8_t requantize(const mcc_accumulate_params *p, int32_t acc)
{
    const int32_t y = mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(acc, p->output_multiplier,
                                                                                 p->output_shift) + p->output_offset;
    return (int8_t)mcc_clamp_i32(y, p->act_min, p->act_max);
}

static int params_ok(const mcc_accumulate_params *p)
{
    return p != 0 && p->left_shift >= 0 && p->left_shift <= 22 && p->input_shift <= 0 && p->input_shift >= -31 &&
           p->output_shift <= 0 && p->output_shift >= -31 && p->act_min <= p->act_max;
}

/**
 * ADD_N int8 (see mcc_nn.h).
 * @param p          accumulate parameters (left_shift in [0, 22], shifts in [-31, 0])
 * @param num_inputs >= 1
 * @param inputs     num_inputs pointers to `size` values each, one quantization
 * @param size       values per input, >= 0
 * @param out        `size` values; may alias inputs[0]
 */
mcc_status mcc_add_n_s8(const mcc_accumulate_params *p, int32_t num_inputs, const int8_t *const *inputs,
                        int32_t size, int8_t *out)
{
    int32_t i, k;
    if (!params_ok(p) || num_inputs < 1 || inputs == 0 || out == 0 || size < 0) {
        return MCC_ARG_ERROR;
    }
    for (k = 0; k < num_inputs; k++) {
        if (inputs[k] == 0) {
            return MCC_ARG_ERROR;
        }
    }
    for (i = 0; i < size; i++) {
        int32_t acc = term(p, 0);
        for (k = 0; k < num_inputs; k++) {
            acc = mcc_wrap_add(acc, term(p, inputs[k][i]));
        }
        out[i] = requantize(p, acc);
    }
    return MCC_OK;
}

/**
 * CUMSUM int8 along the middle axis of [outer, depth, inner] (see mcc_nn.h).
 * @param exclusive != 0: output k sums the elements before k only
 * @param reverse   != 0: sums run from the end of the axis
 * @param out       may alias in (element i is read before it is written)
 */
mcc_status mcc_cumsum_s8(const mcc_accumulate_params *p, int32_t outer, int32_t depth, int32_t inner,
                         int32_t exclusive, int32_t reverse, const int8_t *in, int8_t *out)
{
    int32_t o, d, i;
    if (!params_ok(p) || outer < 1 || depth < 1 || inner < 1 || in == 0 || out == 0) {
        return MCC_ARG_ERROR;
    }
    for (o = 0; o < outer; o++) {
        for (i = 0; i < inner; i++) {
            int32_t acc = term(p, 0);
            for (d = 0; d < depth; d++) {
                const int32_t at = (o * depth + (reverse ? depth - 1 - d : d)) * inner + i;
                const int32_t t = term(p, in[at]);
                if (exclusive) {
                    out[at] = requantize(p, acc);
                    acc = mcc_wrap_add(acc, t);
                } else {
                    acc = mcc_wrap_add(acc, t);
                    out[at] = requantize(p, acc);
                }
            }
        }
    }
    return MCC_OK;
}
