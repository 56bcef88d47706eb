/**
 * @file mcc_quantize_f32_s8.c
 * @brief QUANTIZE float32 -> int8 (bit-exact with TFLM's AffineQuantize). No scratch, no libm.
 *
 * x / scale is a float32 division as in TFLM; std::round (halves away from zero) is done exactly with
 * an integer truncation and the exact float remainder, then the zero point is added and the result
 * clamped. Quotients are first limited to +/-1000, which changes no output.
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/**
 * QUANTIZE float32 -> int8 (see mcc_nn.h).
 * @param p    scale > 0 (the output's float32 scale), zero_point in [-128, 127]
 * @param size number of values, >= 0
 * @param in   float32 input (NaN gives -128)
 * @param out  int8 output
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_quantize_f32_s8(const mcc_affine_quant_params *p, int32_t size, const float *in, int8_t *out)
{
    int32_t i;
    if (p == NULL || in == NULL || out == NULL || size < 0 || !(p->scale > 0.0f)) {
        return MCC_ARG_ERROR;
    }
    for (i = 0; i < size; i++) {
        float v = in[i] / p->scale;
        int32_t r;
        float frac;
        v = v >= -1000.0f ? (v <= 1000.0f ? v : 1000.0f) : -1000.0f; /* NaN -> -1000 */
        r = (int32_t)v;        /* truncation toward zero */
        frac = v - (float)r;   /* exact: |v| < 2^10 */
        if (frac >= 0.5f) {
            r++;
        } else if (frac <= -0.5f) {
            r--;
        }
        out[i] = (int8_t)mcc_clamp_i32(r + p->zero_point, -128, 127);
    }
    return MCC_OK;
}
