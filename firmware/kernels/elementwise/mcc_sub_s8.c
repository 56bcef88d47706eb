/**
 * @file mcc_sub_s8.c
 * @brief SUB int8 with 4-D broadcasting (bit-exact with TFLM's reference SUB for int8); the body is
 *        shared with the other of ADD/SUB in mcc_addsub.h.
 */
#include "mcc_addsub.h"
#include "mcc_mve_kernels.h"

static void sub_run(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2, int8_t *out,
                    int32_t n)
{
    mcc_addsub_run(params, in1, s1, in2, s2, out, n, -1);
}

static void sub_run_fast(const void *params, const int8_t *in1, int32_t s1, const int8_t *in2, int32_t s2,
                         int8_t *out, int32_t n)
{
    mcc_addsub_run_fast(params, in1, s1, in2, s2, out, n, -1);
}

/**
 * SUB int8 (see mcc_nn.h): out = in1 - in2 with 4-D broadcasting; out may alias an input of the output's shape.
 * @param ctx scratch: MCC_ADDSUB_TABLE_BYTES for the table path (mcc_addsub.h), or buf NULL
 * @param p   left_shift in [0, 22] (20 from TFLM's Prepare), input offsets in [-127, 128], input and output
 *            multipliers in [0, 2^31) with shifts in [-31, 0], output_offset in [-128, 127],
 *            -128 <= act_min <= act_max <= 127
 * @param d   shapes: each input dimension equals the output's or is 1
 * @param in1 first input
 * @param in2 second input
 * @param out output
 * @return MCC_OK, MCC_ARG_ERROR, or MCC_NOT_BUILT when these rescales need the generic arithmetic the build
 *         left out (mcc_variants.h)
 */
mcc_status mcc_sub_s8(const mcc_context *ctx, const mcc_add_params *p, const mcc_broadcast_dims *d,
                      const int8_t *in1, const int8_t *in2, int8_t *out)
{
#if defined(MCC_MVE) /* Helium: kernels/elementwise/mcc_addsub_mve.c (no scratch, no precomputed forms) */
    (void)ctx;
    (void)sub_run;
    (void)sub_run_fast;
    return mcc_addsub_s8_mve(p, d, in1, in2, out, -1);
#else
    return mcc_addsub_s8(ctx, p, d, in1, in2, out, sub_run, sub_run_fast, -1, 1);
#endif
}
