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

/** The runs of a broadcast: ext[0] x ext[1] x ext[2] runs of run_len outputs, input strides sa/sb between
 * runs and s1/s2 (1, or 0 for a broadcast input) within one. */
typedef struct {
    int32_t ext[3], sa[3], sb[3];
    int32_t run_len, s1, s2;
} mcc_broadcast_plan;

/**
 * Fill `plan` for the shapes d. Defined once, in kernels/support/mcc_broadcast.c, for every binary kernel
 * of an image (it was inline here, so each kernel, and ADD's two paths, carried its own copy).
 * @return MCC_OK, or MCC_ARG_ERROR when a dimension is neither the output's nor 1
 */
mcc_status mcc_broadcast_plan_of(const mcc_broadcast_dims *d, mcc_broadcast_plan *plan);

/**
 * Apply `run` over the broadcast shapes d (each input dimension equals the output's or is 1, all >= 1).
 * Inline, so `run` is a direct call (the firmware's stack bound admits no function pointers).
 * @return MCC_OK, or MCC_ARG_ERROR when the shapes do not broadcast
 */
static inline mcc_status mcc_broadcast_apply(const mcc_broadcast_dims *d, const int8_t *in1, const int8_t *in2,
                                             int8_t *out, mcc_run_fn run, const void *params)
{
    mcc_broadcast_plan b;
    int32_t i0, i1, i2;
    if (mcc_broadcast_plan_of(d, &b) != MCC_OK) {
        return MCC_ARG_ERROR;
    }
    for (i0 = 0; i0 < b.ext[0]; i0++) {
        for (i1 = 0; i1 < b.ext[1]; i1++) {
            for (i2 = 0; i2 < b.ext[2]; i2++) {
                const int32_t oa = i0 * b.sa[0] + i1 * b.sa[1] + i2 * b.sa[2];
                const int32_t ob = i0 * b.sb[0] + i1 * b.sb[1] + i2 * b.sb[2];
                const int32_t oo = ((i0 * b.ext[1] + i1) * b.ext[2] + i2) * b.run_len;
                run(params, in1 + oa, b.s1, in2 + ob, b.s2, out + oo, b.run_len);
            }
        }
    }
    return MCC_OK;
}

#ifdef __cplusplus
}
#endif

#endif /* MCC_BROADCAST_H */
