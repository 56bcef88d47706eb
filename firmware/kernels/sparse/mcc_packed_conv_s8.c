/**
 * @file mcc_packed_conv_s8.c
 * @brief CONV_2D over a packed (bitmask) filter unpacked in parts of its output channels (mcc_sparse.h).
 *
 * Why parts: a packed filter unpacked whole needs the filter's size in RAM while its layer runs, and on ResNet-8
 * pruned to 50% the largest such filter (32 -> 64, 18 KB) sets the arena. In halves it needs 9 KB, which fits
 * beside the tensors live then; each part repeats the im2col of the input, a few percent of the layer.
 */
#include <stddef.h>

#include "mcc_nn.h"
#include "mcc_sparse.h"

mcc_status mcc_convolve_packed_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                  const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                  const mcc_packed_parts *filter, const int32_t *bias, const mcc_dims *out_dims,
                                  int8_t *out)
{
    if (ctx == NULL || ctx->buf == NULL || p == NULL || q == NULL || filter_dims == NULL || filter == NULL ||
        out_dims == NULL || out == NULL || filter->count < 2 || filter->count > MCC_PACKED_PARTS_MAX ||
        filter_dims->n % filter->count != 0 || filter->offset < 0 || (filter->offset & 3) != 0 ||
        filter->offset > ctx->size) {
        return MCC_ARG_ERROR;
    }
    const int32_t n = filter_dims->n / filter->count;
    const mcc_context kernel_ctx = {ctx->buf, filter->offset};
    int8_t *const unpacked = (int8_t *)ctx->buf + filter->offset;
    mcc_dims part_filter = *filter_dims, part_out = *out_dims;
    part_filter.n = n;
    part_out.c = n;
    for (int32_t i = 0; i < filter->count; ++i) {
        const int32_t first = i * n;
        const mcc_per_channel_quant part_q = {q->multiplier + first, q->shift + first};
        if (filter->part[i].words > (ctx->size - filter->offset) / 32) {
            return MCC_NO_BUFFER; /* the unpacked part would run past the scratch */
        }
        mcc_unpack_filter_s8(&filter->part[i], unpacked);
        const mcc_status status = mcc_convolve_s8_channels(&kernel_ctx, p, &part_q, in_dims, in, &part_filter,
                                                           unpacked, bias != NULL ? bias + first : NULL, &part_out,
                                                           out + first, out_dims->c);
        if (status != MCC_OK) {
            return status;
        }
    }
    return MCC_OK;
}
