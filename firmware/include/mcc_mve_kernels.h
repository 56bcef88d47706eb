/**
 * @file mcc_mve_kernels.h
 * @brief Internal header: the Helium (MVE) paths of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD and SUB,
 *        which the kernels' entry points call first on an MVE target (mcc_mve.h: MCC_MVE). Each returns
 *        MCC_NOT_BUILT when the call does not suit it (scratch too small, depthwise multiplier above 1); the entry
 *        point then goes on with its own general paths (the DSP fast paths, which need at least the scratch the
 *        Helium paths need, are left out of MVE builds).
 *
 * Not part of the public API: included by the kernel sources only.
 */
#ifndef MCC_MVE_KERNELS_H
#define MCC_MVE_KERNELS_H

#include <stdint.h>

#include "mcc_mve.h"
#include "mcc_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MCC_MVE)

/** CONV_2D (any filter; mcc_convolve_s8's and mcc_convolve_1x1_s8's contract, arguments already checked) with
 *  `scratch` of `size` bytes: two int8 im2col columns (K > 16) and one int32 per output channel, eight more when
 *  they fit (kernels/conv/mcc_convolve_mve.c). */
mcc_status mcc_convolve_s8_mve(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                               const int8_t *in, const mcc_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, const mcc_dims *out_dims, int8_t *out, void *scratch,
                               int32_t size);

/** FULLY_CONNECTED (mcc_fully_connected_s8's contract, arguments already checked; needs no scratch)
 *  (kernels/fc/mcc_fully_connected_mve.c). */
mcc_status mcc_fully_connected_s8_mve(const mcc_fc_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                                      const int8_t *in, const int8_t *filter, const int32_t *bias,
                                      const mcc_dims *out_dims, int8_t *out);

/** DEPTHWISE_CONV_2D with depth multiplier 1 (mcc_depthwise_conv_s8's contract, arguments already checked) with
 *  `scratch` of `size` bytes for its int8 band (half of mcc_depthwise_conv_s8_get_buffer_size()); in the DSP band
 *  path's order, so it may write over its input where that path may (kernels/conv/mcc_depthwise_conv_mve.c). */
mcc_status mcc_depthwise_conv_s8_mve(const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                     const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                     const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims,
                                     int8_t *out, void *scratch, int32_t size);

/** ADD (sign 1) or SUB (sign -1) with broadcasting (mcc_add_s8's contract; needs no scratch)
 *  (kernels/elementwise/mcc_addsub_mve.c). */
mcc_status mcc_addsub_s8_mve(const mcc_add_params *p, const mcc_broadcast_dims *d, const int8_t *in1,
                             const int8_t *in2, int8_t *out, int32_t sign);

#endif /* MCC_MVE */

#ifdef __cplusplus
}
#endif

#endif /* MCC_MVE_KERNELS_H */
