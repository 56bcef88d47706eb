/**
 * @file mcc_broadcast.h
 * @brief Internal header: 4-D broadcasting loop shared by the binary element-wise kernels (ADD, SUB, MUL).
 *
 * The trailing dimensions over which each input is either fully present or entirely broadcast are
 * merged into one run (the whole tensor when both shapes equal the output's), and the kernel's run
 * function is called once per run with the inputs' element strides (1, or 0 for a broadcast input).
 * Outputs are written in increasing order, each after its inputs were read, so out == in1 (or in2)
 * works when that input has the output's shape.
 *
 * Not part of the public API: included by the kernel sources only.
 */
#ifndef MCC_BROADCAST_H
#define MCC_BROADCAST_H

#include "mcc_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Element-wise work on n outputs: out[i] = f(in1[i * s1], in2[i * s2]). */
typedef void (*mcc_run_fn)(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2,
                           int8_t *out, int32_t n);

/**
 * Apply `run` over the broadcast shapes d (each input dimension equals the output's or is 1, all >= 1).
 * @return MCC_OK, or MCC_ARG_ERROR when the shapes do not broadcast
 */
static inline mcc_status mcc_broadcast_apply(const mcc_broadcast_dims *d, const int8_t *in1, const int8_t *in2,
                                             int8_t *out, mcc_run_fn run, const void *params)
{
    const int32_t o[4] = {d->out.n, d->out.h, d->out.w, d->out.c};
    const int32_t a[4] = {d->in1.n, d->in1.h, d->in1.w, d->in1.c};
    const int32_t b[4] = {d->in2.n, d->in2.h, d->in2.w, d->in2.c};
    int32_t ext[3] = {1, 1, 1}, sa[3] = {0, 0, 0}, sb[3] = {0, 0, 0};
    int32_t a_mode = -1, b_mode = -1; /* over the run: -1 undecided, 0 broadcast, 1 full */
    int32_t run_len = 1, k = 4, j, i0, i1, i2, pa = 1, pb = 1;
    for (j = 0; j < 4; j++) {
        if (o[j] < 1 || (a[j] != o[j] && a[j] != 1) || (b[j] != o[j] && b[j] != 1)) {
            return MCC_ARG_ERROR;
        }
    }
    while (k > 0) {
        const int32_t i = k - 1;
        if (o[i] != 1) {
            const int32_t am = a[i] == o[i], bm = b[i] == o[i];
            if ((a_mode != -1 && am != a_mode) || (b_mode != -1 && bm != b_mode)) {
                break;
            }
            a_mode = am;
            b_mode = bm;
        }
        run_len *= o[i];
        pa *= a[i];
        pb *= b[i];
        k--;
    }
    /* strides of the outer dimensions 0..k-1 (k <= 3: the last dimension always joins the run) */
    for (j = k - 1; j >= 0; j--) {
        ext[j] = o[j];
        sa[j] = a[j] == 1 ? 0 : pa;
        sb[j] = b[j] == 1 ? 0 : pb;
        pa *= a[j];
        pb *= b[j];
    }
    for (i0 = 0; i0 < ext[0]; i0++) {
        for (i1 = 0; i1 < ext[1]; i1++) {
            for (i2 = 0; i2 < ext[2]; i2++) {
                const int32_t oa = i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const int32_t ob = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                const int32_t oo = ((i0 * ext[1] + i1) * ext[2] + i2) * run_len;
                run(params, in1 + oa, a_mode == 0 ? 0 : 1, in2 + ob, b_mode == 0 ? 0 : 1, out + oo, run_len);
            }
        }
    }
    return MCC_OK;
}

#ifdef __cplusplus
}
#endif

#endif /* MCC_BROADCAST_H */
