/**
 * @file mcc_addsub_mve.c
 * @brief ADD and SUB int8 on Helium (MVE): the path mcc_add_s8 and mcc_sub_s8 take on an MVE target
 *        (mcc_mve_kernels.h), bit-exact with TFLM's reference ADD / SUB for int8, with 4-D broadcasting
 *        (mcc_broadcast.h).
 *
 * Four outputs at a time in int32 lanes, TFLM's arithmetic step by step: (value + offset) << left_shift wraps
 * (VSHL), each input and the sum are rescaled by MultiplyByQuantizedMultiplierSmallerThanOneExp (VQRDMULH, then
 * the rounding right shift of mcc_mve.h: VQADD of -1 for negative values when the shift is not 0, VRSHL), the
 * output offset added and clamped. A broadcast input (stride 0) is one value in every lane; the last n mod 4
 * values load and store predicated. Outputs are written after their inputs were read: out may alias an input
 * of the output's shape.
 */
#include <stddef.h>

#include "mcc_mve_kernels.h"

#if defined(MCC_MVE)

#include "mcc_broadcast.h"

/** MultiplyByQuantizedMultiplierSmallerThanOneExp on four lanes: multiplier m, right shift e = -shift >= 0. */
static MCC_ALWAYS_INLINE int32x4_t rescale(int32x4_t x, int32_t m, int32_t shift)
{
    x = vqrdmulhq_n_s32(x, m);
    if (shift != 0) { /* negative values one lower: VRSHL's halves then round away from zero, as TFLM's */
        x = vqaddq_s32(x, vshrq_n_s32(x, 31));
    }
    return vrshlq_n_s32(x, shift);
}

/** n values of one input with stride s (1, or 0: one value broadcast), predicated by pr. */
static MCC_ALWAYS_INLINE int32x4_t load(const int8_t *x, int32_t s, mve_pred16_t pr)
{
    return s != 0 ? vldrbq_z_s32(x, pr) : vdupq_n_s32(*x);
}

/** One run of the broadcast: out[i] = in1[i * s1] + sign * in2[i * s2], i < n. The parameters are copied into
 *  locals: the int8 stores could alias them, and the compiler would reload them every iteration. */
static MCC_ALWAYS_INLINE void run(const mcc_add_params *p, const int8_t *in1, int32_t s1, const int8_t *in2,
                                  int32_t s2, int8_t *out, int32_t n, int32_t sign)
{
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int32_t ls = p->left_shift, off1 = p->input1_offset, m1 = p->input1_multiplier, e1 = p->input1_shift;
    const int32_t off2 = p->input2_offset, m2 = p->input2_multiplier, e2 = p->input2_shift;
    const int32_t offo = p->output_offset, mo = p->output_multiplier, eo = p->output_shift;
    for (; n > 0; n -= 4, in1 += 4 * s1, in2 += 4 * s2, out += 4) {
        const mve_pred16_t pr = vctp32q((uint32_t)n);
        const int32x4_t a = rescale(vshlq_r_s32(vaddq_n_s32(load(in1, s1, pr), off1), ls), m1, e1);
        const int32x4_t b = rescale(vshlq_r_s32(vaddq_n_s32(load(in2, s2, pr), off2), ls), m2, e2);
        int32x4_t v = rescale(sign > 0 ? vaddq_s32(a, b) : vsubq_s32(a, b), mo, eo);
        v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, offo), lo), hi);
        vstrbq_p_s32(out, v, pr);
    }
}

/** run with the strides known: both inputs whole (the residual ADD of ResNets), or any. */
static MCC_ALWAYS_INLINE void run_any(const mcc_add_params *p, const int8_t *in1, int32_t s1, const int8_t *in2,
                                      int32_t s2, int8_t *out, int32_t n, int32_t sign)
{
    if (s1 == 1 && s2 == 1) {
        run(p, in1, 1, in2, 1, out, n, sign);
    } else {
        run(p, in1, s1, in2, s2, out, n, sign);
    }
}

static void add_run(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2, int8_t *out,
                    int32_t n)
{
    run_any((const mcc_add_params *)params, in1, s1, in2, s2, out, n, 1);
}

static void sub_run(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2, int8_t *out,
                    int32_t n)
{
    run_any((const mcc_add_params *)params, in1, s1, in2, s2, out, n, -1);
}

mcc_status mcc_addsub_s8_mve(const mcc_add_params *p, const mcc_broadcast_dims *d, const int8_t *in1,
                             const int8_t *in2, int8_t *out, int32_t sign)
{
    if (p == NULL || d == NULL || in1 == NULL || in2 == NULL || out == NULL) {
        return MCC_ARG_ERROR;
    }
    return mcc_broadcast_apply(d, in1, in2, out, sign > 0 ? add_run : sub_run, p);
}

#else
typedef int mcc_addsub_mve_unused; /* ISO C: a translation unit is not empty */
#endif /* MCC_MVE */
