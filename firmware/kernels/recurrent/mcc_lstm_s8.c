/**
 * @file mcc_lstm_s8.c
 * @brief UNIDIRECTIONAL_SEQUENCE_LSTM int8: TFLM's integer LSTM (int8 activations and weights, int16 cell).
 *
 * Per time step and batch row, each gate sums two int8 products rescaled to int16 Q3.12 (input x input
 * weights + bias, hidden state x recurrent weights), saturating, then applies TFLite's int16 sigmoid (or
 * tanh for the cell gate) to Q0.15. The cell state (int16, scale 2^cell_scale_power) becomes
 * forget * cell + input * cell_gate (each product rescaled, the sum saturated, optionally clipped); the
 * hidden state (int8) becomes tanh(cell) * output gate, and is copied to the output row. Batch rows never
 * mix, so rows run one after another whether the layout is batch-major or time-major.
 *
 * Each step first copies its input row and hidden-state row to int16 with the offset added, four values at
 * a time in the order (x0, x2, x1, x3): with the DSP extension one SXTB16 pair of four weight bytes then
 * meets two SMLAD (four MACs); without it the same layout is read value by value.
 */
#include <string.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"


static int32_t mcc_sat_i16(int32_t x) { return mcc_clamp_i32(x, -32768, 32767); }

/* TFLite's int16 logistic of a Q3.12 value (input multiplier 3, 9-bit interpolation steps in `table`, its
 * sigmoid(i / 24) in unsigned 0.16) -> Q0.15. */
static int16_t mcc_sigmoid_q12(const uint16_t *table, int32_t x)
{
    const int32_t v = x * 3;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t step = a >> 9;
    uint32_t r;
    if (step >= 255u) {
        r = 0x7FFFu << 10;
    } else {
        const uint32_t lo = table[step], hi = table[step + 1u];
        r = (lo << 9) + (a & 0x1FFu) * (hi - lo);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    return (int16_t)(r >> 10);
}

/* TFLite's int16 tanh of a value at scale 2^scale_power (TFLM's LSTM input scaling) -> Q0.15. */
static int16_t mcc_tanh_pot(const uint16_t *table, int32_t x, int32_t scale_power)
{
    int32_t shift = 15 + scale_power - 3, mult = 3, v, r;
    uint32_t a, step;
    if (shift >= 0) {
        mult = 3 << shift;
        shift = 0;
    } else {
        shift = -shift;
    }
    v = (x * mult + (shift > 0 ? 1 << (shift - 1) : 0)) >> shift;
    a = (uint32_t)(v < 0 ? -v : v);
    step = a >> 8;
    if (step >= 255u) {
        r = 0xFFFF << 8;
    } else {
        const uint32_t lo = table[step], hi = table[step + 1u];
        r = (int32_t)((lo << 8) + (a & 0xFFu) * (hi - lo));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

/* n int8 values plus offset as int16, groups of four stored (v0, v2, v1, v3), the n % 4 tail in order. */
static void mcc_lstm_pack(const int8_t *v, int32_t n, int32_t offset, int16_t *out)
{
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        out[k] = (int16_t)(v[k] + offset);
        out[k + 1] = (int16_t)(v[k + 2] + offset);
        out[k + 2] = (int16_t)(v[k + 1] + offset);
        out[k + 3] = (int16_t)(v[k + 3] + offset);
    }
    for (; k < n; k++) {
        out[k] = (int16_t)(v[k] + offset);
    }
}

/* Sum of packed[k] * w[k] over n values (packed as mcc_lstm_pack lays it out). */
static int32_t mcc_lstm_dot(const int16_t *packed, const int8_t *w, int32_t n)
{
    int32_t acc = 0, k = 0;
#if defined(MCC_DSP)
    for (; k + 4 <= n; k += 4) {
        const int32_t w4 = mcc_read_s8x4(w + k);
        acc = mcc_smlad(mcc_read_s16x2(packed + k), mcc_sxtb16(w4), acc);
        acc = mcc_smlad(mcc_read_s16x2(packed + k + 2), mcc_sxtb16_ror8(w4), acc);
    }
#else
    for (; k + 4 <= n; k += 4) {
        acc += packed[k] * w[k] + packed[k + 1] * w[k + 2] + packed[k + 2] * w[k + 1] + packed[k + 3] * w[k + 3];
    }
#endif
    for (; k < n; k++) {
        acc += packed[k] * w[k];
    }
    return acc;
}

/* Gate g of one batch row: activation(sat16(rq(x . W_in + b)) + sat16(rq(h . W_rec))) for every unit. */
static void mcc_lstm_gate(const mcc_lstm_params *p, int32_t g, const int16_t *x, const int16_t *h,
                          const int8_t *input_weights, const int8_t *recurrent_weights, const int32_t *bias,
                          int16_t *out)
{
    const int32_t n_in = p->input_size, units = p->units;
    const int8_t *wi = input_weights + (size_t)g * (size_t)units * (size_t)n_in;
    const int8_t *wr = recurrent_weights + (size_t)g * (size_t)units * (size_t)units;
    int32_t j;
    for (j = 0; j < units; j++) {
        const int32_t acc = mcc_wrap_add(mcc_lstm_dot(x, wi + (size_t)j * (size_t)n_in, n_in), bias[g * units + j]);
        const int32_t a = mcc_sat_i16(mcc_multiply_by_quantized_multiplier(acc, p->input_quant[g].multiplier,
                                                                           p->input_quant[g].shift));
        const int32_t r = mcc_sat_i16(mcc_multiply_by_quantized_multiplier(
            mcc_lstm_dot(h, wr + (size_t)j * (size_t)units, units), p->recurrent_quant[g].multiplier,
            p->recurrent_quant[g].shift));
        const int32_t s = mcc_sat_i16(a + r);
        out[j] = g == 2 ? mcc_tanh_pot(p->sigmoid_table, s, -12) : mcc_sigmoid_q12(p->sigmoid_table, s);
    }
}

int32_t mcc_lstm_s8_get_buffer_size(const mcc_lstm_params *p)
{
    return (4 * p->units + p->input_size) * (int32_t)sizeof(int16_t);
}

mcc_status mcc_lstm_s8(const mcc_context *ctx, const mcc_lstm_params *p, const int8_t *input,
                       const int8_t *input_weights, const int8_t *recurrent_weights, const int32_t *bias,
                       int8_t *hidden_state, int16_t *cell_state, int8_t *output)
{
    const int32_t units = p->units;
    int16_t *forget, *in_gate, *cell_gate, *x16, *h16;
    int32_t b, t, j;
    if (ctx == NULL || ctx->buf == NULL || ctx->size < mcc_lstm_s8_get_buffer_size(p)) {
        return MCC_NO_BUFFER;
    }
    forget = (int16_t *)ctx->buf;
    in_gate = forget + units;
    cell_gate = in_gate + units;
    h16 = cell_gate + units;
    x16 = h16 + units;
    for (b = 0; b < p->batches; b++) {
        int8_t *h = hidden_state + (size_t)b * (size_t)units;
        int16_t *c = cell_state + (size_t)b * (size_t)units;
        for (t = 0; t < p->time_steps; t++) {
            const size_t row = p->time_major ? (size_t)t * (size_t)p->batches + (size_t)b
                                             : (size_t)b * (size_t)p->time_steps + (size_t)t;
            const int8_t *x = input + row * (size_t)p->input_size;
            int16_t *out_gate = forget; /* reused once the cell state is updated */
            mcc_lstm_pack(x, p->input_size, p->input_offset, x16);
            mcc_lstm_pack(h, units, p->hidden_offset, h16);
            mcc_lstm_gate(p, 1, x16, h16, input_weights, recurrent_weights, bias, forget);
            mcc_lstm_gate(p, 0, x16, h16, input_weights, recurrent_weights, bias, in_gate);
            mcc_lstm_gate(p, 2, x16, h16, input_weights, recurrent_weights, bias, cell_gate);
            for (j = 0; j < units; j++) {
                const int32_t kept = mcc_sat_i16(mcc_multiply_by_quantized_multiplier(
                    (int32_t)forget[j] * (int32_t)c[j], p->forget_quant.multiplier, p->forget_quant.shift));
                const int32_t added = mcc_sat_i16(mcc_multiply_by_quantized_multiplier(
                    (int32_t)in_gate[j] * (int32_t)cell_gate[j], p->input_gate_quant.multiplier,
                    p->input_gate_quant.shift));
                int32_t cell = mcc_sat_i16(kept + added);
                if (p->cell_clip > 0) {
                    cell = mcc_clamp_i32(cell, -p->cell_clip, p->cell_clip);
                }
                c[j] = (int16_t)cell;
            }
            mcc_lstm_gate(p, 3, x16, h16, input_weights, recurrent_weights, bias, out_gate);
            for (j = 0; j < units; j++) {
                const int32_t th = mcc_tanh_pot(p->sigmoid_table, c[j], p->cell_scale_power);
                const int32_t v = mcc_multiply_by_quantized_multiplier(th * (int32_t)out_gate[j],
                                                                       p->output_quant.multiplier,
                                                                       p->output_quant.shift);
                h[j] = (int8_t)mcc_clamp_i32(v + p->output_zero_point, -128, 127);
            }
            memcpy(output + row * (size_t)units, h, (size_t)units);
        }
    }
    return MCC_OK;
}
