/**
 * @file mcc_fully_connected_s8.c
 * @brief FULLY_CONNECTED int8 (bit-exact with TFLM's reference_integer_ops::FullyConnected, per-tensor
 *        or per-channel requantization). Needs no scratch memory.
 *
 * Each batch row is multiplied with two filter rows at a time (two int32 accumulators share every input
 * load). With the DSP extension four input bytes become two int16 pairs with the input offset added in
 * the same instruction (SXTAB16), filter bytes likewise with the filter offset, and SMLAD does two MACs:
 * 13 instructions per 8 MACs before loop overhead. Accumulators are int32 and, as in TFLM, must not
 * overflow.
 */
#include <stddef.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/** acc[0..1] += sum (x + in_off) * (w0|w1 + f_off) over k values. */
static void dot_2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t k, int32_t in_off, int32_t f_off,
                  int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1];
    int32_t n;
#if defined(MCC_DSP)
    const int32_t in2 = (int32_t)(((uint32_t)in_off & 0xFFFFu) | ((uint32_t)in_off << 16));
    const int32_t f2 = (int32_t)(((uint32_t)f_off & 0xFFFFu) | ((uint32_t)f_off << 16));
    for (n = k >> 2; n > 0; n--) {
        const int32_t xv = mcc_read_s8x4(x), wa = mcc_read_s8x4(w0), wb = mcc_read_s8x4(w1);
        const int32_t x02 = mcc_sxtab16(in2, xv), x13 = mcc_sxtab16_ror8(in2, xv);
        x += 4;
        w0 += 4;
        w1 += 4;
        a0 = mcc_smlad(x02, mcc_sxtab16(f2, wa), a0);
        a0 = mcc_smlad(x13, mcc_sxtab16_ror8(f2, wa), a0);
        a1 = mcc_smlad(x02, mcc_sxtab16(f2, wb), a1);
        a1 = mcc_smlad(x13, mcc_sxtab16_ror8(f2, wb), a1);
    }
    k &= 3;
#endif
    if (f_off == 0) {
        for (n = 0; n < k; n++) {
            const int32_t xv = *x++ + in_off;
            a0 += xv * *w0++;
            a1 += xv * *w1++;
        }
    } else {
        for (n = 0; n < k; n++) {
            const int32_t xv = *x++ + in_off;
            a0 += xv * (*w0++ + f_off);
            a1 += xv * (*w1++ + f_off);
        }
    }
    acc[0] = a0;
    acc[1] = a1;
}

/**
 * FULLY_CONNECTED int8 (see mcc_nn.h).
 * @param ctx         unused (may be NULL): no scratch needed
 * @param p           input_offset in [-127, 128], filter_offset in [-127, 128] (0 for symmetric weights),
 *                    output_offset in [-128, 127], per_channel 0 or 1, -128 <= act_min <= act_max <= 127
 * @param q           multiplier in [0, 2^31) and shift in [-31, 30]: one per output (per_channel = 1) or
 *                    a single entry for all outputs (per_channel = 0)
 * @param in_dims     n = batches, c = input depth (h = w = 1)
 * @param in          input [batches, input depth]
 * @param filter_dims n = output depth, c = input depth
 * @param filter      filter [output depth, input depth]
 * @param bias        [output depth] int32, or NULL
 * @param out_dims    n = batches, c = output depth
 * @param out         output [batches, output depth]
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_fully_connected_s8(const mcc_context *ctx, const mcc_fc_params *p, const mcc_per_channel_quant *q,
                                  const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                  const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out)
{
    int32_t k, out_ch, batches, b, oc;
    (void)ctx;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        out_dims == NULL || out == NULL || filter_dims->c != in_dims->c || out_dims->c != filter_dims->n ||
        out_dims->n != in_dims->n) {
        return MCC_ARG_ERROR;
    }
    k = in_dims->c;
    out_ch = out_dims->c;
    batches = out_dims->n;
    for (b = 0; b < batches; b++) {
        const int8_t *x = in + b * k;
        int8_t *o = out + b * out_ch;
        for (oc = 0; oc < out_ch; oc += 2) {
            const int32_t oc1 = oc + 1 < out_ch ? oc + 1 : oc; /* an odd last output is computed twice */
            const int32_t q0 = p->per_channel ? oc : 0, q1 = p->per_channel ? oc1 : 0;
            int32_t acc[2], i;
            acc[0] = bias != NULL ? bias[oc] : 0;
            acc[1] = bias != NULL ? bias[oc1] : 0;
            dot_2(x, filter + oc * k, filter + oc1 * k, k, p->input_offset, p->filter_offset, acc);
            for (i = 0; i < 2; i++) {
                const int32_t qi = i == 0 ? q0 : q1;
                const int32_t v =
                    mcc_multiply_by_quantized_multiplier(acc[i], q->multiplier[qi], q->shift[qi]) + p->output_offset;
                o[i == 0 ? oc : oc1] = (int8_t)mcc_clamp_i32(v, p->act_min, p->act_max);
            }
        }
    }
    return MCC_OK;
}
