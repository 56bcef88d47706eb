/**
 * @file mcc_fully_connected_mve.c
 * @brief FULLY_CONNECTED int8 on Helium (MVE): the path mcc_fully_connected_s8 takes first on an MVE target
 *        (mcc_mve_kernels.h), bit-exact with TFLM's reference_integer_ops::FullyConnected. No scratch.
 *
 * Three filter rows at a time meet the batch row as raw int8: per 16 inputs one input load, three filter loads,
 * three VMLADAVA.S8 for the dot products and three VADDVA.S8 for the rows' sums, six accumulators in the even
 * registers VMLADAVA wants. The offsets enter once per output:
 *     sum (x + in_off) * (w + f_off) = sum x * w + in_off * sum w + f_off * sum x + K * in_off * f_off,
 * with sum x once per batch row. The last partial chunk of 16 loads predicated. The three outputs are
 * requantized as one vector (mcc_mve.h) and stored predicated.
 */
#include <stddef.h>

#include "mcc_mve_kernels.h"

#if defined(MCC_MVE)

/** Three rows (w0, w1, w2) against x over k values: lanes 0-2 of the dot products, and of the rows' sums. */
static MCC_ALWAYS_INLINE void dot_3(const int8_t *x, const int8_t *w0, const int8_t *w1, const int8_t *w2, int32_t k,
                                    int32x4_t *dots, int32x4_t *sums)
{
    int32_t d0 = 0, d1 = 0, d2 = 0, s0 = 0, s1 = 0, s2 = 0, n;
    for (n = k >> 4; n > 0; n--, x += 16, w0 += 16, w1 += 16, w2 += 16) {
        const int8x16_t xv = vldrbq_s8(x), a = vldrbq_s8(w0), b = vldrbq_s8(w1), c = vldrbq_s8(w2);
        d0 = vmladavaq_s8(d0, a, xv);
        s0 = vaddvaq_s8(s0, a);
        d1 = vmladavaq_s8(d1, b, xv);
        s1 = vaddvaq_s8(s1, b);
        d2 = vmladavaq_s8(d2, c, xv);
        s2 = vaddvaq_s8(s2, c);
    }
    if (k & 15) {
        const mve_pred16_t pr = vctp8q((uint32_t)(k & 15));
        const int8x16_t xv = vldrbq_z_s8(x, pr), a = vldrbq_z_s8(w0, pr), b = vldrbq_z_s8(w1, pr);
        const int8x16_t c = vldrbq_z_s8(w2, pr);
        d0 = vmladavaq_s8(d0, a, xv);
        s0 = vaddvaq_s8(s0, a);
        d1 = vmladavaq_s8(d1, b, xv);
        s1 = vaddvaq_s8(s1, b);
        d2 = vmladavaq_s8(d2, c, xv);
        s2 = vaddvaq_s8(s2, c);
    }
    *dots = vsetq_lane_s32(d2, vsetq_lane_s32(d1, vdupq_n_s32(d0), 1), 2);
    *sums = vsetq_lane_s32(s2, vsetq_lane_s32(s1, vdupq_n_s32(s0), 1), 2);
}

/** Sum of the k values of x. */
static int32_t sum_s8(const int8_t *x, int32_t k)
{
    int32_t sum = 0;
    for (; k >= 16; k -= 16, x += 16) {
        sum = vaddvaq_s8(sum, vldrbq_s8(x));
    }
    return k > 0 ? vaddvaq_s8(sum, vldrbq_z_s8(x, vctp8q((uint32_t)k))) : sum;
}

mcc_status mcc_fully_connected_s8_mve(const mcc_fc_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                                      const int8_t *in, const int8_t *filter, const int32_t *bias,
                                      const mcc_dims *out_dims, int8_t *out)
{
    const int32_t k = in_dims->c, out_ch = out_dims->c, batches = out_dims->n;
    const int32x4_t vlo = vdupq_n_s32(p->act_min), vhi = vdupq_n_s32(p->act_max);
    int32_t b, oc;
    for (b = 0; b < batches; b++, in += k, out += out_ch) {
        /* the offsets' terms that do not depend on the row: f_off * sum x + K * in_off * f_off */
        const int32_t common = p->filter_offset * (sum_s8(in, k) + k * p->input_offset);
        for (oc = 0; oc < out_ch; oc += 3) {
            const int32_t nc = out_ch - oc < 3 ? out_ch - oc : 3; /* a short last block repeats its last row */
            const int8_t *w0 = filter + oc * k, *w1 = nc > 1 ? w0 + k : w0, *w2 = nc > 2 ? w1 + k : w1;
            const mve_pred16_t pr = vctp32q((uint32_t)nc);
            int32x4_t dots, sums, acc, mult, shift;
            dot_3(in, w0, w1, w2, k, &dots, &sums);
            acc = vaddq_n_s32(vmlaq_n_s32(dots, sums, p->input_offset), common);
            if (bias != NULL) {
                acc = vaddq_s32(acc, vldrwq_z_s32(bias + oc, pr));
            }
            if (p->per_channel) {
                mult = vldrwq_z_s32(q->multiplier + oc, pr);
                shift = vldrwq_z_s32(q->shift + oc, pr);
            } else {
                mult = vdupq_n_s32(q->multiplier[0]);
                shift = vdupq_n_s32(q->shift[0]);
            }
            vstrbq_p_s32(out + oc, mcc_mve_requant_clamp(acc, mult, shift, p->output_offset, vlo, vhi), pr);
        }
    }
    return MCC_OK;
}

#else
typedef int mcc_fully_connected_mve_unused; /* ISO C: a translation unit is not empty */
#endif /* MCC_MVE */
