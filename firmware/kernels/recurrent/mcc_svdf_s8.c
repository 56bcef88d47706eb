/**
 * @file mcc_svdf_s8.c
 * @brief SVDF int8: TFLM's integer SVDF with an int16 (or int8) state and time weights.
 *
 * Per batch row: every filter's memory moves one step to the left; the newest entry is the rescaled
 * (input - zero point) . feature weights, clamped to the state type and offset by the state's zero
 * point; each unit sums its `rank` filters' (state - zero point) . time weights and its bias (int32,
 * wrapping as TFLM's int32 accumulators do on our targets) and rescales to the int8 output. As TFLM,
 * the int8 kernel applies no fused activation. With the DSP extension, an int16 state (zero point 0) meets
 * its time weights two at a time in SMLAD (the wrapping int32 sum, as the C path's).
 */
#include <string.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

static int32_t mcc_svdf_get(const void *base, int32_t bits, size_t i)
{
    return bits == 16 ? (int32_t)((const int16_t *)base)[i] : (int32_t)((const int8_t *)base)[i];
}

/* acc + sum over m < n of time_weights[at + m] * (state[row + at + m] - zero point), wrapping in int32. */
static int32_t mcc_svdf_time_dot(const mcc_svdf_params *p, const void *time_weights, const void *state, size_t row,
                                 size_t at, int32_t n, int32_t acc)
{
    int32_t m = 0;
#if defined(MCC_DSP)
    if (p->state_bits == 16 && p->state_zero_point == 0) {
        const int16_t *w = (const int16_t *)time_weights + at, *s = (const int16_t *)state + row + at;
        for (; m + 2 <= n; m += 2) {
            acc = mcc_smlad(mcc_read_s16x2(w + m), mcc_read_s16x2(s + m), acc);
        }
    }
#endif
    for (; m < n; m++) {
        const int64_t prod = (int64_t)mcc_svdf_get(time_weights, p->state_bits, at + (size_t)m) *
                             (int64_t)(mcc_svdf_get(state, p->state_bits, row + at + (size_t)m) - p->state_zero_point);
        acc = mcc_wrap_add(acc, (int32_t)(uint32_t)(uint64_t)prod);
    }
    return acc;
}

mcc_status mcc_svdf_s8(const mcc_svdf_params *p, const int8_t *input, const int8_t *feature_weights,
                       const void *time_weights, const int32_t *bias, void *state, int8_t *output)
{
    const int32_t bits = p->state_bits, filters = p->filters, memory = p->memory;
    const size_t elem = bits == 16 ? sizeof(int16_t) : sizeof(int8_t);
    const size_t total = (size_t)p->batches * (size_t)filters * (size_t)memory;
    const int32_t lo = bits == 16 ? -32768 : -128, hi = bits == 16 ? 32767 : 127;
    int32_t b, f, k, u, r;
    if (bits != 16 && bits != 8) {
        return MCC_ARG_ERROR;
    }
    /* Every row moves one entry left; the entry crossing into the previous row is overwritten below. */
    memmove(state, (const int8_t *)state + elem, (total - 1u) * elem);
    for (b = 0; b < p->batches; b++) {
        const int8_t *x = input + (size_t)b * (size_t)p->input_size;
        const size_t row = (size_t)b * (size_t)filters * (size_t)memory;
        for (f = 0; f < filters; f++) {
            const int8_t *w = feature_weights + (size_t)f * (size_t)p->input_size;
            const size_t newest = row + (size_t)f * (size_t)memory + (size_t)memory - 1u;
            int32_t dot = 0, v;
            for (k = 0; k < p->input_size; k++) {
                dot += (int32_t)w[k] * ((int32_t)x[k] + p->input_offset);
            }
            v = mcc_clamp_i32(mcc_multiply_by_quantized_multiplier(dot, p->feature_quant.multiplier,
                                                                   p->feature_quant.shift), lo, hi);
            v = mcc_wrap_add(v, p->state_zero_point);
            if (bits == 16) {
                ((int16_t *)state)[newest] = (int16_t)v;
            } else {
                ((int8_t *)state)[newest] = (int8_t)v;
            }
        }
        for (u = 0; u < filters / p->rank; u++) {
            int32_t acc = bias[u];
            for (r = 0; r < p->rank; r++) {
                acc = mcc_svdf_time_dot(p, time_weights, state, row, (size_t)(u * p->rank + r) * (size_t)memory,
                                        memory, acc);
            }
            acc = mcc_multiply_by_quantized_multiplier(acc, p->time_quant.multiplier, p->time_quant.shift);
            output[(size_t)b * (size_t)(filters / p->rank) + (size_t)u] =
                (int8_t)mcc_clamp_i32(acc + p->output_zero_point, -128, 127);
        }
    }
    return MCC_OK;
}
