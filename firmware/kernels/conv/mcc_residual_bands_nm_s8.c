/**
 * @file mcc_residual_bands_nm_s8.c
 * @brief mcc_residual_bands_s8 where either convolution's filter is N:M sparse (mcc_convolve_nm_s8, the
 *        mcc_nm_filter of mcc_sparse.h; mcc_bands_params.sparse1 / sparse2 say which). The band loop is
 *        mcc_bands.h's.
 */
#include "mcc_bands.h"

static mcc_status dense_conv(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                             const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                             const void *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out)
{
    return mcc_convolve_s8(ctx, p, q, in_dims, in, filter_dims, (const int8_t *)filter, bias, out_dims, out);
}

static mcc_status nm_conv(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                          const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims, const void *filter,
                          const int32_t *bias, const mcc_dims *out_dims, int8_t *out)
{
    return mcc_convolve_nm_s8(ctx, p, q, in_dims, in, filter_dims, (const mcc_nm_filter *)filter, bias, out_dims,
                              out);
}

mcc_status mcc_residual_bands_nm_s8(const mcc_context *ctx, const mcc_bands_params *b, const mcc_conv_params *p1,
                                    const mcc_per_channel_quant *q1, const mcc_dims *filter1_dims, const void *filter1,
                                    const int32_t *bias1, const mcc_conv_params *p2, const mcc_per_channel_quant *q2,
                                    const mcc_dims *filter2_dims, const void *filter2, const int32_t *bias2,
                                    const mcc_add_params *pa, const mcc_dims *dims, int8_t *x)
{
    return mcc_bands_run(ctx, b, b->sparse1 ? nm_conv : dense_conv, p1, q1, filter1_dims, filter1, bias1,
                         b->sparse2 ? nm_conv : dense_conv, p2, q2, filter2_dims, filter2, bias2, pa, dims, x);
}
