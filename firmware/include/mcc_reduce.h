/**
 * @file mcc_reduce.h
 * @brief Internal header: the axis merging shared by the reduction kernels (REDUCE_MAX, REDUCE_MIN).
 *
 * Adjacent dimensions of a 4-D NHWC tensor with the same role (kept or reduced) are merged, leaving at most
 * two kept and two reduced blocks, each an (extent, element stride) pair; outputs come in row-major order of
 * the kept dimensions, and a single reduced block runs in the inner loop.
 *
 * Not part of the public API: included by the kernel sources only.
 */
#ifndef MCC_REDUCE_H
#define MCC_REDUCE_H

#include "mcc_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Kept and reduced blocks of one reduction (unused blocks have extent 1, stride 0). */
typedef struct {
    int32_t kept_ext[2], kept_stride[2];
    int32_t red_ext[2], red_stride[2];
} mcc_reduce_blocks;

/**
 * Merge the dimensions of in_dims by role.
 * @param axis_mask reduced axes: bit 0 = N, bit 1 = H, bit 2 = W, bit 3 = C
 * @return MCC_OK, or MCC_ARG_ERROR for a dimension < 1 or a mask outside [0, 15]
 */
static inline mcc_status mcc_reduce_merge(const mcc_dims *in_dims, int32_t axis_mask, mcc_reduce_blocks *b)
{
    const int32_t ext[4] = {in_dims->n, in_dims->h, in_dims->w, in_dims->c};
    int32_t stride[4], n_kept = 0, n_red = 0, prev = -1, i;
    if (axis_mask < 0 || axis_mask > 15) {
        return MCC_ARG_ERROR;
    }
    for (i = 0; i < 2; i++) {
        b->kept_ext[i] = b->red_ext[i] = 1;
        b->kept_stride[i] = b->red_stride[i] = 0;
    }
    stride[3] = 1;
    for (i = 2; i >= 0; i--) {
        stride[i] = stride[i + 1] * ext[i + 1];
    }
    for (i = 0; i < 4; i++) {
        const int32_t reduced = (axis_mask >> i) & 1;
        int32_t *e = reduced ? b->red_ext : b->kept_ext, *s = reduced ? b->red_stride : b->kept_stride;
        int32_t *n = reduced ? &n_red : &n_kept;
        if (ext[i] < 1) {
            return MCC_ARG_ERROR;
        }
        if (ext[i] == 1) {
            continue; /* joins either role */
        }
        if (reduced == prev) { /* row-major: contiguous with the previous block of this role */
            e[*n - 1] *= ext[i];
            s[*n - 1] = stride[i];
        } else {
            e[*n] = ext[i];
            s[(*n)++] = stride[i];
        }
        prev = reduced;
    }
    if (n_red == 1) { /* a single reduced block runs in the inner loop */
        b->red_ext[1] = b->red_ext[0];
        b->red_stride[1] = b->red_stride[0];
        b->red_ext[0] = 1;
        b->red_stride[0] = 0;
    }
    return MCC_OK;
}

#ifdef __cplusplus
}
#endif

#endif /* MCC_REDUCE_H */
