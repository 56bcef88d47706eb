/**
 * @file mcc_fully_connected_s16.c
 * @brief FULLY_CONNECTED 16x8: int16 input and output (zero point 0), int8 weights, bit-exact with TFLM's
 *        reference_integer_ops::FullyConnected / FullyConnectedPerChannel for int16.
 *
 * Row sums run in int32 chunks of at most 256 products (each |x * (w + offset)| < 2^23), added to an
 * int64 accumulator with the bias, then requantized (mcc_s16.h). Plain C, no scratch.
 */
#include <stddef.h>

#include "mcc_nn.h"
#include "mcc_s16.h"

/**
 * FULLY_CONNECTED 16x8 (see mcc_nn.h).
 * @param p     filter_offset in [-127, 128] (0 per channel), output_offset 0, clamp in [-32768, 32767]
 * @param acc32 1: int32 bias (TFLM's 32-bit accumulator), 0: int64 bias
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_fully_connected_s16(const mcc_fc_params *p, const mcc_per_channel_quant *q, int32_t acc32,
                                   const mcc_dims *in_dims, const int16_t *in, const mcc_dims *filter_dims,
                                   const int8_t *filter, const int64_t *bias, const mcc_dims *out_dims, int16_t *out)
{
    int32_t b, o, i, k;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        bias == NULL || out_dims == NULL || out == NULL || filter_dims->c != in_dims->c ||
        filter_dims->n != out_dims->c || in_dims->n != out_dims->n) {
        return MCC_ARG_ERROR;
    }
    for (b = 0; b < in_dims->n; b++) {
        const int16_t *x = in + b * in_dims->c;
        for (o = 0; o < out_dims->c; o++) {
            const int8_t *w = filter + o * filter_dims->c;
            const int32_t qi = p->per_channel ? o : 0;
            int64_t acc = bias[o];
            for (i = 0; i < in_dims->c; i += 256) {
                const int32_t end = mcc_min_i32(i + 256, in_dims->c);
                int32_t sum = 0;
                for (k = i; k < end; k++) {
                    sum += (x[k] + p->input_offset) * (w[k] + p->filter_offset);
                }
                acc += sum;
            }
            out[b * out_dims->c + o] = mcc_requant_s16(acc, acc32, q->multiplier[qi], q->shift[qi], p->output_offset,
                                                       p->act_min, p->act_max);
        }
    }
    return MCC_OK;
}
