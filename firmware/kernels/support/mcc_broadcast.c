/**
 * @file mcc_broadcast.c
 * @brief The run plan of the binary element-wise kernels' broadcasting loop (see mcc_broadcast.h), compiled
 *        once for every kernel of an image; the loop over the runs stays inline in the kernels.
 */
#include "mcc_broadcast.h"

mcc_status mcc_broadcast_plan_of(const mcc_broadcast_dims *d, mcc_broadcast_plan *plan)
{
    const int32_t o[4] = {d->out.n, d->out.h, d->out.w, d->out.c};
    const int32_t a[4] = {d->in1.n, d->in1.h, d->in1.w, d->in1.c};
    const int32_t b[4] = {d->in2.n, d->in2.h, d->in2.w, d->in2.c};
    int32_t a_mode = -1, b_mode = -1; /* over the run: -1 undecided, 0 broadcast, 1 full */
    int32_t run_len = 1, k = 4, j, pa = 1, pb = 1;
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
    for (j = 0; j < 3; j++) {
        plan->ext[j] = 1;
        plan->sa[j] = plan->sb[j] = 0;
    }
    /* strides of the outer dimensions 0..k-1 (k <= 3: the last dimension always joins the run) */
    for (j = k - 1; j >= 0; j--) {
        plan->ext[j] = o[j];
        plan->sa[j] = a[j] == 1 ? 0 : pa;
        plan->sb[j] = b[j] == 1 ? 0 : pb;
        pa *= a[j];
        pb *= b[j];
    }
    plan->run_len = run_len;
    plan->s1 = a_mode == 0 ? 0 : 1;
    plan->s2 = b_mode == 0 ? 0 : 1;
    return MCC_OK;
}
