/**
 * @file fixedpoint_shim.c
 * @brief Test-only: exposes the static inline primitives of mcc_fixedpoint.h to ctypes, vectorised,
 *        so that tests/unit/test_c_kernels.py can compare them with mcucompress.fixedpoint on many values.
 */
#include <stdint.h>

#include "mcc_fixedpoint.h"
#include "mcc_requant.h"

void shim_srdhm(const int32_t *a, const int32_t *b, int32_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = mcc_sat_rounding_doubling_high_mul(a[i], b[i]);
    }
}

void shim_rounding_divide_by_pot(const int32_t *x, const int32_t *e, int32_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = mcc_rounding_divide_by_pot(x[i], e[i]);
    }
}

void shim_mbqm(const int32_t *x, const int32_t *m, const int32_t *s, int32_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = mcc_multiply_by_quantized_multiplier(x[i], m[i], s[i]);
    }
}

void shim_mbqm_small(const int32_t *x, const int32_t *m, const int32_t *s, int32_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = mcc_multiply_by_quantized_multiplier_smaller_than_one_exp(x[i], m[i], s[i]);
    }
}

void shim_exp_on_negative_values(const int32_t *a, int32_t int_bits, int32_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = mcc_exp_on_negative_values(a[i], int_bits);
    }
}

void shim_one_over_one_plus_x(const int32_t *a, int32_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = mcc_one_over_one_plus_x_for_x_in_0_1(a[i]);
    }
}

void shim_get_reciprocal(const int32_t *x, int32_t digits, int32_t *out, int32_t *bits, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = mcc_get_reciprocal(x[i], digits, &bits[i]);
    }
}

void shim_logistic(const int32_t *a, int32_t int_bits, int32_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = mcc_logistic(a[i], int_bits);
    }
}

void shim_tanh(const int32_t *a, int32_t int_bits, int32_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = mcc_tanh(a[i], int_bits);
    }
}

/**
 * The fast requantization of mcc_requant.h plus an output offset: folded into the constant when the
 * channel allows (fold != 0), else added after. Channels without a fast form get the generic code.
 */
void shim_rq(const int32_t *x, const int32_t *m, const int32_t *s, const int32_t *off, int32_t fold, int32_t *out,
             int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        mcc_rq r;
        if (!mcc_rq_fast(m[i], s[i])) {
            out[i] = mcc_rq_generic(x[i], m[i], s[i], off[i]);
        } else if (fold && mcc_rq_foldable(m[i], s[i])) {
            mcc_rq_init(&r, m[i], s[i], off[i]);
            out[i] = mcc_rq_apply(&r, x[i]);
        } else {
            mcc_rq_init(&r, m[i], s[i], 0);
            out[i] = mcc_rq_apply(&r, x[i]) + off[i];
        }
    }
}
