/*
 * mcc_space_to_batch_s8: SPACE_TO_BATCH_ND of a 4-D NHWC tensor (a rank-3 NHC one as NH1C). Output batch
 * b = (sh * block_w + sw) * N + n takes the rows of the zero-padded input at (oh * block_h + sh,
 * ow * block_w + sw); rows in the padding are the fill value (the zero point: real 0).
 */
#include "mcc_nn.h"

mcc_status mcc_space_to_batch_s8(const mcc_space_to_batch_params *p, const mcc_dims *in_dims, const int8_t *in,
                                 const mcc_dims *out_dims, int8_t *out)
{
    int32_t b, oh, ow, c;
    if (p == 0 || in_dims == 0 || out_dims == 0 || in == 0 || out == 0 || p->block_h < 1 || p->block_w < 1 ||
        in_dims->n < 1 || out_dims->n != in_dims->n * p->block_h * p->block_w || out_dims->c != in_dims->c) {
        return MCC_ARG_ERROR;
    }
    for (b = 0; b < out_dims->n; b++) {
        const int32_t n = b % in_dims->n;
        const int32_t shift = b / in_dims->n;
        const int32_t sh = shift / p->block_w, sw = shift % p->block_w;
        for (oh = 0; oh < out_dims->h; oh++) {
            const int32_t h = oh * p->block_h + sh - p->pad_top;
            for (ow = 0; ow < out_dims->w; ow++) {
                const int32_t w = ow * p->block_w + sw - p->pad_left;
                if (h < 0 || h >= in_dims->h || w < 0 || w >= in_dims->w) {
                    for (c = 0; c < out_dims->c; c++) {
                        out[c] = (int8_t)p->fill;
                    }
                } else {
                    const int8_t *src = in + ((n * in_dims->h + h) * in_dims->w + w) * in_dims->c;
                    for (c = 0; c < out_dims->c; c++) {
                        out[c] = src[c];
                    }
                }
                out += out_dims->c;
            }
        }
    }
    return MCC_OK;
}
