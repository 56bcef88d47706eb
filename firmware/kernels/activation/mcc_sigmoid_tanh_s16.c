/**
 * @file mcc_sigmoid_tanh_s16.c
 * @brief LOGISTIC and TANH int16 -> int16 (output scale 1/32768), bit-exact with TFLM's
 *        reference_integer_ops::Logistic / Tanh for int16.
 *
 * The input is brought to the table's scale ((x * input_multiplier + round) >> input_left_shift), its
 * magnitude indexes TFLite's 256-entry sigmoid table (0.16 fixed point, passed in flash by the model code)
 * with 9 (LOGISTIC) or 8 (TANH: tanh(x) = 2 sigmoid(2x) - 1) fraction bits interpolated, and the sign
 * mirrors the result. In place allowed. No scratch.
 */
#include <stddef.h>

#include "mcc_nn.h"

static mcc_status run(const mcc_logistic_params *p, const uint16_t *table, int32_t size, const int16_t *in,
                      int16_t *out, int32_t is_tanh)
{
    int32_t i;
    const int32_t bits = is_tanh ? 8 : 9;
    int32_t round;
    if (p == NULL || table == NULL || in == NULL || out == NULL || size < 0 || p->input_left_shift < 0 ||
        p->input_left_shift > 31 || p->input_multiplier < 0 || p->input_multiplier > 32767) {
        return MCC_ARG_ERROR;
    }
    round = p->input_left_shift > 0 ? (int32_t)1 << (p->input_left_shift - 1) : 0;
    for (i = 0; i < size; i++) {
        const int32_t v = (in[i] * p->input_multiplier + round) >> p->input_left_shift;
        const uint32_t a = (uint32_t)(v < 0 ? -v : v);
        const uint32_t uh = a >> bits;
        uint32_t result;
        if (uh >= 255u) {
            result = is_tanh ? 0xFFFFu << 8 : 0x7FFFu << 10;
        } else {
            const uint32_t ua = table[uh], ub = table[uh + 1u];
            result = (ua << bits) + (a & ((1u << bits) - 1u)) * (ub - ua);
        }
        if (is_tanh) {
            const int32_t r = (int32_t)result;
            const int32_t t = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
            out[i] = (int16_t)(t >> 8);
        } else {
            result = v >= 0 ? result + (1u << 9) : (1u << 25) - result + (1u << 9) - 1u;
            out[i] = (int16_t)(result >> 10);
        }
    }
    return MCC_OK;
}

/**
 * LOGISTIC int16 (see mcc_nn.h).
 * @param p     input_multiplier in [0, 2^18), input_left_shift in [0, 31] (zero point and radius unused)
 * @param table TFLite's 256-entry sigmoid table, sigmoid(i / 24) in 0.16
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_logistic_s16(const mcc_logistic_params *p, const uint16_t *table, int32_t size, const int16_t *in,
                            int16_t *out)
{
    return run(p, table, size, in, out, 0);
}

/**
 * TANH int16 (see mcc_nn.h); the same table as mcc_logistic_s16.
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_tanh_s16(const mcc_logistic_params *p, const uint16_t *table, int32_t size, const int16_t *in,
                        int16_t *out)
{
    return run(p, table, size, in, out, 1);
}
