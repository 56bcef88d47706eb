/**
 * @file mcc_div_s8.c
 * @brief DIV int8 with 4-D broadcasting (bit-exact with TFLM's reference div.h for int8).
 *
 * Per element: n = in1 + offset1, d = in2 + offset2 (both negated when d < 0); the reciprocal of d in Q0.31
 * (mcc_get_reciprocal: gemmlowp's 1 / (1 + x) and the bits of d above one); n shifted left by its redundant
 * sign bits and multiplied by the reciprocal; then requantized by output_multiplier at
 * output_shift - reciprocal shift - headroom, plus the output offset, clamped. A zero divisor (undefined in
 * TFLM) gives act_max for n >= 0 and act_min otherwise. A final shift beyond 31 (small n; always for n = 0),
 * undefined in TFLite, follows TFLM as built for x86-64 (our oracle): (x >> (shift mod 32)) + (x >= 0).
 */
#include <stddef.h>

#include "mcc_broadcast.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/** Redundant sign bits of x (GCC's __builtin_clrsb; 31 for 0 and -1). */
static int32_t leading_sign_bits(int32_t x)
{
    return mcc_clz_u32((uint32_t)(x < 0 ? ~x : x)) - 1;
}

/** RoundingDivideByPOT with TFLM's x86-64 result for exponents of 32 and more (see the file comment). */
static int32_t divide_by_pot(int32_t x, int32_t exponent)
{
    if (exponent >= 32) {
        return (x >> (exponent & 31)) + (x >= 0 ? 1 : 0);
    }
    return mcc_rounding_divide_by_pot(x, exponent);
}

/** out[i] = in1[i * s1] / in2[i * s2], n values. */
static void div_run(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2, int8_t *out,
                    int32_t n)
{
    const mcc_div_params *p = (const mcc_div_params *)params;
    int32_t i;
    for (i = 0; i < n; i++, in1 += s1, in2 += s2) {
        int32_t num = *in1 + p->input1_offset, den = *in2 + p->input2_offset, recip_shift, inv, headroom, q, v;
        if (den == 0) {
            out[i] = (int8_t)(num >= 0 ? p->act_max : p->act_min);
            continue;
        }
        if (den < 0) {
            num = -num;
            den = -den;
        }
        inv = mcc_get_reciprocal(den, 31, &recip_shift);
        headroom = leading_sign_bits(num);
        q = mcc_sat_rounding_doubling_high_mul(mcc_wrap_shl(num, headroom), inv);
        v = divide_by_pot(mcc_sat_rounding_doubling_high_mul(q, p->output_multiplier),
                          recip_shift + headroom - p->output_shift) +
            p->output_offset;
        out[i] = (int8_t)mcc_clamp_i32(v, p->act_min, p->act_max);
    }
}

/**
 * DIV int8 (see mcc_nn.h).
 * @param p   input offsets in [-127, 128], output_offset in [-128, 127], output_multiplier in [0, 2^31),
 *            output_shift in [-31, 30], -128 <= act_min <= act_max <= 127
 * @param d   shapes: each input dimension equals the output's or is 1
 * @param in1 dividend
 * @param in2 divisor
 * @param out output
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_div_s8(const mcc_div_params *p, const mcc_broadcast_dims *d, const int8_t *in1, const int8_t *in2,
                      int8_t *out)
{
    if (p == NULL || d == NULL || in1 == NULL || in2 == NULL || out == NULL) {
        return MCC_ARG_ERROR;
    }
    return mcc_broadcast_apply(d, in1, in2, out, div_run, p);
}
