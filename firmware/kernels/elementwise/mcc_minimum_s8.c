/**
 * @file mcc_minimum_s8.c
 * @brief MINIMUM int8 with 4-D broadcasting (bit-exact with TFLM's MINIMUM for int8). No scratch.
 *
 * TFLite quantizes both inputs exactly like the output, so the smaller raw int8 value is the result: no
 * offsets, no rescale. Broadcasting merges trailing dimensions into long runs (mcc_broadcast.h).
 */
#include <stddef.h>

#include "mcc_broadcast.h"
#include "mcc_nn.h"

/** out[i] = the smaller of in1[i * s1] and in2[i * s2], n values. */
static void minimum_run(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2, int8_t *out,
                    int32_t n)
{
    int32_t i;
    (void)params;
    for (i = 0; i < n; i++, in1 += s1, in2 += s2) {
        out[i] = *in1 < *in2 ? *in1 : *in2;
    }
}

/**
 * MINIMUM int8 (see mcc_nn.h); out may alias an input of the output's shape.
 * @param d   shapes: each input dimension equals the output's or is 1, all >= 1
 * @param in1 first input, quantized like the output
 * @param in2 second input, quantized like the output
 * @param out output
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_minimum_s8(const mcc_broadcast_dims *d, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    if (d == NULL || in1 == NULL || in2 == NULL || out == NULL) {
        return MCC_ARG_ERROR;
    }
    return mcc_broadcast_apply(d, in1, in2, out, minimum_run, NULL);
}
