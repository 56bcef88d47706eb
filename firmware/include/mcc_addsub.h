/**
 * @file mcc_addsub.h
 * @brief The shared body of the ADD and SUB int8 kernels (bit-exact with TFLM's AddElementwise /
 *        SubElementwise): each kernel file instantiates it with sign +1 or -1, a constant after inlining.
 *
 * Both inputs get their offset, are shifted left by left_shift (20 in TFLM) and rescaled to a common
 * scale with MultiplyByQuantizedMultiplierSmallerThanOneExp; the sum or difference is rescaled to the
 * output the same way, offset and clamped. Broadcasting merges trailing dimensions into long runs.
 */
#ifndef MCC_ADDSUB_H
#define MCC_ADDSUB_H

#include <stddef.h>

#include "mcc_broadcast.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"
#include "mcc_requant.h"

/** out[i] = in1[i * s1] + sign * in2[i * s2], n values (sign is +1 for ADD, -1 for SUB). */
static MCC_ALWAYS_INLINE void mcc_addsub_run(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2,
                                             int32_t s2, int8_t *out, int32_t n, int32_t sign)
{
    const mcc_add_params *p = (const mcc_add_params *)params;
    const int32_t ls = p->left_shift;
    const int32_t off1 = p->input1_offset, m1 = p->input1_multiplier, sh1 = p->input1_shift;
    const int32_t off2 = p->input2_offset, m2 = p->input2_multiplier, sh2 = p->input2_shift;
    const int32_t offo = p->output_offset, mo = p->output_multiplier, sho = p->output_shift;
    const int32_t lo = p->act_min, hi = p->act_max;
    int32_t i;
    for (i = 0; i < n; i++, in1 += s1, in2 += s2) {
        const int32_t a = mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(
            mcc_wrap_shl(*in1 + off1, ls), m1, sh1);
        const int32_t b = mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(
            mcc_wrap_shl(*in2 + off2, ls), m2, sh2);
        const int32_t v = mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(a + sign * b, mo, sho) + offo;
        out[i] = (int8_t)mcc_clamp_i32(v, lo, hi);
    }
}

/**
 * The three rescalings precomputed (mcc_requant.h). An input rescale with no right shift (the larger input
 * scale usually gets multiplier 2^30, shift 0) is SRDHM alone: floor((x * m + 2^30) / 2^31), which for
 * x = (value + offset) << left_shift is the high word of (value + offset) << (left_shift + 1) times m
 * plus 2^31 (no overflow: |value + offset| <= 255 and left_shift <= 22).
 */
typedef struct {
    const mcc_add_params *p;
    mcc_rq in1, in2, out;
    int32_t post; /* output offset when not folded into `out` */
} mcc_addsub_fast;

/** Input rescale: fast form, or (no_shift) the SRDHM high word described above. */
static MCC_ALWAYS_INLINE int32_t mcc_addsub_in(const mcc_rq *r, int32_t v, int32_t ls, int32_t no_shift)
{
    if (no_shift) {
        return (int32_t)(((int64_t)mcc_wrap_shl(v, ls + 1) * r->mult + (int64_t)0x80000000) >> 32);
    }
    return mcc_rq_apply(r, mcc_wrap_shl(v, ls));
}

static MCC_ALWAYS_INLINE void mcc_addsub_fast_impl(const mcc_addsub_fast *f, const int8_t *in1, int32_t s1,
                                                   const int8_t *in2, int32_t s2, int8_t *out, int32_t n,
                                                   int32_t z1, int32_t z2, int32_t sign)
{
    const int32_t ls = f->p->left_shift, off1 = f->p->input1_offset, off2 = f->p->input2_offset;
    const int32_t lo = f->p->act_min, hi = f->p->act_max, post = f->post;
    int32_t i;
    for (i = 0; i < n; i++, in1 += s1, in2 += s2) {
        const int32_t a = mcc_addsub_in(&f->in1, *in1 + off1, ls, z1);
        const int32_t b = mcc_addsub_in(&f->in2, *in2 + off2, ls, z2);
        out[i] = mcc_rq_clamp(mcc_rq_apply(&f->out, a + sign * b) + post, lo, hi);
    }
}

/** mcc_addsub_run with the rescalings precomputed: a few multiply-accumulates per value instead of ~60. */
static MCC_ALWAYS_INLINE void mcc_addsub_run_fast(const void *params, const int8_t *in1, int32_t s1,
                                                  const int8_t *in2, int32_t s2, int8_t *out, int32_t n,
                                                  int32_t sign)
{
    const mcc_addsub_fast *f = (const mcc_addsub_fast *)params;
    const int32_t z1 = f->p->input1_shift == 0, z2 = f->p->input2_shift == 0;
    if (z1 && !z2) {
        mcc_addsub_fast_impl(f, in1, s1, in2, s2, out, n, 1, 0, sign);
    } else if (z2 && !z1) {
        mcc_addsub_fast_impl(f, in1, s1, in2, s2, out, n, 0, 1, sign);
    } else {
        mcc_addsub_fast_impl(f, in1, s1, in2, s2, out, n, z1, z2, sign);
    }
}

/** 1 when an input rescale (multiplier, shift) takes the fast forms. */
static MCC_ALWAYS_INLINE int32_t mcc_addsub_in_fast(int32_t mult, int32_t shift)
{
    return mcc_rq_fast(mult, shift) || (mult > 0 && shift == 0);
}

/** ADD/SUB dispatch: the precomputed path when every rescale allows it, else the generic one. */
static MCC_ALWAYS_INLINE mcc_status mcc_addsub_s8(const mcc_add_params *p, const mcc_broadcast_dims *d,
                                                  const int8_t *in1, const int8_t *in2, int8_t *out,
                                                  mcc_run_fn run, mcc_run_fn run_fast)
{
    if (p == NULL || d == NULL || in1 == NULL || in2 == NULL || out == NULL) {
        return MCC_ARG_ERROR;
    }
    if (mcc_addsub_in_fast(p->input1_multiplier, p->input1_shift) && mcc_addsub_in_fast(p->input2_multiplier, p->input2_shift) &&
        mcc_rq_fast(p->output_multiplier, p->output_shift) && p->left_shift >= 0 && p->left_shift <= 22) {
        mcc_addsub_fast f;
        const int32_t fold = mcc_rq_foldable(p->output_multiplier, p->output_shift);
        f.p = p;
        /* shift 0: only the multiplier is used (mcc_addsub_in) */
        mcc_rq_init(&f.in1, p->input1_multiplier, p->input1_shift == 0 ? -1 : p->input1_shift, 0);
        mcc_rq_init(&f.in2, p->input2_multiplier, p->input2_shift == 0 ? -1 : p->input2_shift, 0);
        mcc_rq_init(&f.out, p->output_multiplier, p->output_shift, fold ? p->output_offset : 0);
        f.post = fold ? 0 : p->output_offset;
        return mcc_broadcast_apply(d, in1, in2, out, run_fast, &f);
    }
    return mcc_broadcast_apply(d, in1, in2, out, run, p);
}

#endif /* MCC_ADDSUB_H */
