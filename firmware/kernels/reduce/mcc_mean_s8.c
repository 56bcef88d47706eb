/**
 * @file mcc_mean_s8.c
 * @brief MEAN int8 over any set of axes of a 4-D NHWC tensor (bit-exact with TFLM's reduce.cc
 *        QuantizedMeanOrSum path). No scratch.
 *
 * Adjacent dimensions with the same role (kept or reduced) are merged, leaving at most two kept and
 * two reduced blocks; each output sums its values in int32 and is requantized once:
 * zp_out + MultiplyByQuantizedMultiplier(sum - zp_in * num_elements, multiplier, shift), 1/num_elements
 * being folded into multiplier and shift. Outputs come in row-major order of the kept dimensions.
 */
#include <stddef.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/**
 * MEAN int8 (see mcc_nn.h).
 * @param p         zero points in [-128, 127], num_elements = product of the reduced dimensions (< 2^23),
 *                  multiplier in [0, 2^31), shift in [-31, 30]
 * @param in_dims   [N, H, W, C], all >= 1
 * @param axis_mask reduced axes: bit 0 = N, bit 1 = H, bit 2 = W, bit 3 = C (0: each value is requantized)
 * @param in        input tensor
 * @param out       output: product of the kept dimensions values
 * @return MCC_OK or MCC_ARG_ERROR (also when num_elements does not match the reduced dimensions)
 */
mcc_status mcc_mean_s8(const mcc_mean_params *p, const mcc_dims *in_dims, int32_t axis_mask, const int8_t *in,
                       int8_t *out)
{
    int32_t ext[4], stride[4];
    int32_t kept_ext[2] = {1, 1}, kept_stride[2] = {0, 0}, red_ext[2] = {1, 1}, red_stride[2] = {0, 0};
    int32_t n_kept = 0, n_red = 0, prev = -1, count = 1, i, k0, k1, r0, r1;
    if (p == NULL || in_dims == NULL || in == NULL || out == NULL || axis_mask < 0 || axis_mask > 15) {
        return MCC_ARG_ERROR;
    }
    ext[0] = in_dims->n, ext[1] = in_dims->h, ext[2] = in_dims->w, ext[3] = in_dims->c;
    stride[3] = 1;
    for (i = 2; i >= 0; i--) {
        stride[i] = stride[i + 1] * ext[i + 1];
    }
    for (i = 0; i < 4; i++) {
        const int32_t reduced = (axis_mask >> i) & 1;
        if (ext[i] < 1) {
            return MCC_ARG_ERROR;
        }
        if (ext[i] == 1) {
            continue; /* joins either role */
        }
        if (reduced) {
            count *= ext[i];
        }
        if (reduced == prev) { /* merge with the previous block (row-major: contiguous) */
            if (reduced) {
                red_ext[n_red - 1] *= ext[i];
                red_stride[n_red - 1] = stride[i];
            } else {
                kept_ext[n_kept - 1] *= ext[i];
                kept_stride[n_kept - 1] = stride[i];
            }
        } else if (reduced) {
            red_ext[n_red] = ext[i];
            red_stride[n_red++] = stride[i];
        } else {
            kept_ext[n_kept] = ext[i];
            kept_stride[n_kept++] = stride[i];
        }
        prev = reduced;
    }
    if (count != p->num_elements) {
        return MCC_ARG_ERROR;
    }
    if (n_red == 1) { /* a single reduced block runs in the inner loop */
        red_ext[1] = red_ext[0];
        red_stride[1] = red_stride[0];
        red_ext[0] = 1;
        red_stride[0] = 0;
    }
    {
        const int32_t zp_sum = p->input_zero_point * count;
        for (k0 = 0; k0 < kept_ext[0]; k0++) {
            for (k1 = 0; k1 < kept_ext[1]; k1++) {
                const int8_t *base = in + k0 * kept_stride[0] + k1 * kept_stride[1];
                int32_t sum = 0, v;
                for (r0 = 0; r0 < red_ext[0]; r0++) {
                    const int8_t *x = base + r0 * red_stride[0];
                    for (r1 = 0; r1 < red_ext[1]; r1++, x += red_stride[1]) {
                        sum += *x;
                    }
                }
                v = mcc_multiply_by_quantized_multiplier(sum - zp_sum, p->multiplier, p->shift) + p->output_zero_point;
                *out++ = (int8_t)mcc_clamp_i32(v, -128, 127);
            }
        }
    }
    return MCC_OK;
}
