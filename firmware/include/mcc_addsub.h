/**
 * @file mcc_addsub.h
 * @brief The shared body of the ADD and SUB int8 kernels (bit-exact with TFLM's AddElementwise /
 *        SubElementwise): each kernel file instantiates it with sign +1 or -1, a constant after inlining.
 *
 * Both inputs get their offset, are shifted left by left_shift (20 in TFLM) and rescaled to a common
 * scale with MultiplyByQuantizedMultiplierSmallerThanOneExp; the sum or difference is rescaled to the
 * output the same way, offset and clamped. Broadcasting merges trailing dimensions into long runs.
 * With a scratch buffer of MCC_ADDSUB_TABLE_BYTES the input rescales come from tables (mcc_addsub_table_run).
 */
#ifndef MCC_ADDSUB_H
#define MCC_ADDSUB_H

#include <stddef.h>

#include "mcc_broadcast.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"
#include "mcc_requant.h"
#include "mcc_variants.h"

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
    if (MCC_ADDSUB_FAST_Z1 && z1 && !z2) {
        mcc_addsub_fast_impl(f, in1, s1, in2, s2, out, n, 1, 0, sign);
    } else if (MCC_ADDSUB_FAST_Z2 && z2 && !z1) {
        mcc_addsub_fast_impl(f, in1, s1, in2, s2, out, n, 0, 1, sign);
    } else if (MCC_ADDSUB_FAST) {
        mcc_addsub_fast_impl(f, in1, s1, in2, s2, out, n, z1, z2, sign);
    }
}

/** 1 when the build carries a precomputed loop for these input shifts (mcc_variants.h). */
static MCC_ALWAYS_INLINE int32_t mcc_addsub_fast_built(const mcc_add_params *p)
{
    const int32_t z1 = p->input1_shift == 0, z2 = p->input2_shift == 0;
    return (MCC_ADDSUB_FAST_Z1 && z1 && !z2) || (MCC_ADDSUB_FAST_Z2 && z2 && !z1) || MCC_ADDSUB_FAST;
}

/** 1 when an input rescale (multiplier, shift) takes the fast forms. */
static MCC_ALWAYS_INLINE int32_t mcc_addsub_in_fast(int32_t mult, int32_t shift)
{
    return mcc_rq_fast(mult, shift) || (mult > 0 && shift == 0);
}

/**
 * The table path: each input's rescale depends on its int8 value alone, so both are evaluated once per value
 * into two 256-entry int32 tables in the scratch buffer (the second negated for SUB), exactly as the
 * element loop would; each value then costs two loads, an add and the output rescale.
 */
#define MCC_ADDSUB_TABLE_BYTES (2 * 256 * 4)

typedef struct {
    const int32_t *t1; /* rescaled inputs, indexed by the int8 value: input 1 at t1[v], input 2 at t1[256 + v] */
    mcc_rq out;
    int32_t post, lo, hi;
} mcc_addsub_tables;

/** One table-path value: the output rescale with its constants in registers (mcc_rq_high's sum). */
static MCC_ALWAYS_INLINE int32_t mcc_addsub_table_value(const int32_t *t, int8_t a, int8_t b, uint32_t k_lo,
                                                        int32_t k_hi, int32_t mult, int32_t sh)
{
    const int32_t sum = t[a] + t[256 + b];
    int32_t neg = (int32_t)((uint32_t)sum >> 31), min = INT32_MIN;
    int64_t v = (int64_t)(((uint64_t)(uint32_t)k_hi << 32) | k_lo);
    MCC_OPAQUE(neg);
    MCC_OPAQUE(min);
    v += (int64_t)sum * mult;
    v += (int64_t)neg * min;
    return (int32_t)(v >> 32) >> sh;
}

/** The table path's loop; `contiguous` (both strides 1) and `clamp` (a fused activation) are constants after
 * inlining, so each variant keeps its pointers and constants in registers. */
static MCC_ALWAYS_INLINE void mcc_addsub_table_loop(const mcc_addsub_tables *p, const int8_t *in1, int32_t s1,
                                                    const int8_t *in2, int32_t s2, int8_t *out, int32_t n,
                                                    int32_t contiguous, int32_t clamp)
{
    const int32_t *t = p->t1;
    const uint32_t k_lo = p->out.k_lo;
    const int32_t k_hi = p->out.k_hi, mult = p->out.mult, sh = p->out.sh;
    const int32_t post = p->post, lo = p->lo, hi = p->hi;
    int8_t *const end = out + n;
    while (out < end) {
        int32_t v = mcc_ssat8(mcc_addsub_table_value(t, *in1, *in2, k_lo, k_hi, mult, sh) + post);
        if (clamp) {
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
        }
        *out++ = (int8_t)v;
        in1 += contiguous ? 1 : s1;
        in2 += contiguous ? 1 : s2;
    }
}

/* Not inlined into the broadcast loops: on its own it keeps every constant in a register. */
static MCC_NOINLINE void mcc_addsub_table_run(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2,
                                              int32_t s2, int8_t *out, int32_t n)
{
    const mcc_addsub_tables *p = (const mcc_addsub_tables *)params;
    const int32_t clamp = p->lo > -128 || p->hi < 127;
    if (s1 == 1 && s2 == 1) {
        if (clamp) {
            mcc_addsub_table_loop(p, in1, 1, in2, 1, out, n, 1, 1);
        } else {
            mcc_addsub_table_loop(p, in1, 1, in2, 1, out, n, 1, 0);
        }
    } else if (clamp) {
        mcc_addsub_table_loop(p, in1, s1, in2, s2, out, n, 0, 1);
    } else {
        mcc_addsub_table_loop(p, in1, s1, in2, s2, out, n, 0, 0);
    }
}

static void mcc_addsub_fill(int32_t *table, const mcc_rq *r, int32_t offset, int32_t ls, int32_t no_shift,
                            int32_t sign)
{
    int32_t v;
    for (v = -128; v < 128; v++) {
        table[v + 128] = sign * mcc_addsub_in(r, v + offset, ls, no_shift);
    }
}

/**
 * ADD/SUB dispatch: the table path when every rescale has a fast form and the scratch holds the tables (the
 * lowering gives it to layers large enough to pay for filling them), the precomputed element path when the
 * rescales allow it, else the generic one.
 */
static MCC_ALWAYS_INLINE mcc_status mcc_addsub_s8(const mcc_context *ctx, const mcc_add_params *p,
                                                  const mcc_broadcast_dims *d, const int8_t *in1,
                                                  const int8_t *in2, int8_t *out, mcc_run_fn run,
                                                  mcc_run_fn run_fast, int32_t sign, int32_t fill)
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
        if (MCC_ADDSUB_TABLE && ctx != NULL && ctx->buf != NULL && ctx->size >= MCC_ADDSUB_TABLE_BYTES) {
            int32_t *tables = (int32_t *)ctx->buf;
            mcc_addsub_tables t;
            if (fill) { /* else a previous call over this ctx and p filled them (mcc_add_s8_filled) */
                mcc_addsub_fill(tables, &f.in1, p->input1_offset, p->left_shift, p->input1_shift == 0, 1);
                mcc_addsub_fill(tables + 256, &f.in2, p->input2_offset, p->left_shift, p->input2_shift == 0, sign);
            }
            t.t1 = tables + 128;
            t.out = f.out;
            t.post = f.post;
            t.lo = p->act_min;
            t.hi = p->act_max;
            return mcc_broadcast_apply(d, in1, in2, out, mcc_addsub_table_run, &t);
        }
        if (mcc_addsub_fast_built(p)) {
            return mcc_broadcast_apply(d, in1, in2, out, run_fast, &f);
        }
    }
    if (!MCC_ADDSUB_GENERIC) {
        return MCC_NOT_BUILT; /* the build left the generic arithmetic out (mcc_variants.h) */
    }
    return mcc_broadcast_apply(d, in1, in2, out, run, p);
}

#endif /* MCC_ADDSUB_H */
