/**
 * @file mcc_softmax_s16.c
 * @brief SOFTMAX int16 -> int16 over the last axis, bit-exact with TFLM's reference_ops::SoftmaxInt16.
 *
 * exp(x - max) comes from a 513-entry table over [-10, 0] after rescaling the difference by the input
 * multiplier; the sum's reciprocal from a 1/(1 + x) table after normalising the sum to [1, 2). Both tables
 * are TFLite's (mcucompress/fixedpoint/lut16.py makes them; the model's code passes them in flash).
 * The exp values are kept in the output row meanwhile, so out must not overlap in.
 */
#include <stddef.h>

#include "mcc_nn.h"
#include "mcc_s16.h"

/**
 * SOFTMAX int16 (see mcc_nn.h).
 * @param p          input_multiplier in [2^30, 2^31), input_left_shift in [-31, 30] (diff_min unused)
 * @param exp_lut    513 entries: exp on [-10, 0]
 * @param recip_lut  513 entries: 1 / (1 + x) on [0, 1]
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_softmax_s16(const mcc_softmax_params *p, const int16_t *exp_lut, const int16_t *recip_lut,
                           int32_t rows, int32_t depth, const int16_t *in, int16_t *out)
{
    int32_t r, c;
    if (p == NULL || exp_lut == NULL || recip_lut == NULL || in == NULL || out == NULL || rows < 0 || depth < 1) {
        return MCC_ARG_ERROR;
    }
    for (r = 0; r < rows; r++) {
        const int16_t *x = in + r * depth;
        int16_t *y = out + r * depth;
        int32_t max = -32768, sum = 0, headroom_plus_one, shifted, right;
        int16_t recip;
        for (c = 0; c < depth; c++) {
            max = mcc_max_i32(max, x[c]);
        }
        for (c = 0; c < depth; c++) {
            const int32_t scaled = mcc_multiply_by_quantized_multiplier(x[c] - max, p->input_multiplier,
                                                                        p->input_left_shift);
            y[c] = mcc_lut_lookup_s16(mcc_clamp_i32(scaled + 32767, -32768, 32767), exp_lut);
            sum += y[c];
        }
        headroom_plus_one = mcc_clz_u32((uint32_t)sum);
        shifted = (int32_t)((((int64_t)sum << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
        recip = mcc_lut_lookup_s16(mcc_clamp_i32(shifted - ((1 << 15) + (1 << 16)), -32768, 32767), recip_lut);
        right = 31 - headroom_plus_one;
        for (c = 0; c < depth; c++) {
            const int32_t v = (int32_t)(((int64_t)y[c] * recip + ((int64_t)1 << (right - 1))) >> right);
            y[c] = (int16_t)mcc_clamp_i32(v, 0, 32767);
        }
    }
    return MCC_OK;
}
