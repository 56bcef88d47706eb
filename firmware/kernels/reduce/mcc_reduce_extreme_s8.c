/**
 * @file mcc_reduce_extreme_s8.c
 * @brief REDUCE_MAX and REDUCE_MIN int8 over any set of axes of a 4-D NHWC tensor (bit-exact with TFLM's
 *        REDUCE_MAX / REDUCE_MIN for int8). No scratch.
 *
 * Input and output share one quantization (TFLM requires it), so each output is the largest (smallest) raw
 * value of its reduced elements. Dimensions are merged by role (mcc_reduce.h).
 */
#include <stddef.h>

#include "mcc_nn.h"
#include "mcc_reduce.h"

/** The largest (want_max) or smallest raw value of each output's reduced elements. */
static mcc_status reduce_extreme(const mcc_dims *in_dims, int32_t axis_mask, const int8_t *in, int8_t *out,
                                 int32_t want_max)
{
    mcc_reduce_blocks b;
    int32_t k0, k1, r0, r1;
    if (in_dims == NULL || in == NULL || out == NULL || mcc_reduce_merge(in_dims, axis_mask, &b) != MCC_OK) {
        return MCC_ARG_ERROR;
    }
    for (k0 = 0; k0 < b.kept_ext[0]; k0++) {
        for (k1 = 0; k1 < b.kept_ext[1]; k1++) {
            const int8_t *base = in + k0 * b.kept_stride[0] + k1 * b.kept_stride[1];
            int8_t best = want_max ? -128 : 127;
            for (r0 = 0; r0 < b.red_ext[0]; r0++) {
                const int8_t *x = base + r0 * b.red_stride[0];
                for (r1 = 0; r1 < b.red_ext[1]; r1++, x += b.red_stride[1]) {
                    best = (want_max ? *x > best : *x < best) ? *x : best;
                }
            }
            *out++ = best;
        }
    }
    return MCC_OK;
}

/**
 * REDUCE_MAX int8 (see mcc_nn.h).
 * @param in_dims   [N, H, W, C], all >= 1
 * @param axis_mask reduced axes: bit 0 = N, bit 1 = H, bit 2 = W, bit 3 = C (0: a copy)
 * @param in        input tensor
 * @param out       output: product of the kept dimensions values, in row-major order
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_reduce_max_s8(const mcc_dims *in_dims, int32_t axis_mask, const int8_t *in, int8_t *out)
{
    return reduce_extreme(in_dims, axis_mask, in, out, 1);
}

/**
 * REDUCE_MIN int8 (see mcc_nn.h); parameters as mcc_reduce_max_s8.
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_reduce_min_s8(const mcc_dims *in_dims, int32_t axis_mask, const int8_t *in, int8_t *out)
{
    return reduce_extreme(in_dims, axis_mask, in, out, 0);
}
