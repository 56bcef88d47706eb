/**
 * @file mcc_bands.h
 * @brief The row-band loop of a residual block (conv -> conv -> ADD with the block input), shared by
 *        mcc_residual_bands_s8 (dense filters) and mcc_residual_bands_nm_s8 (either convolution N:M sparse).
 *
 * Band [r0, r1) of the output needs conv2's rows [r0, r1), which read conv1's rows [r0 - pt2, r1 - 1 - pt2 + KH2)
 * (pt2: conv2's top padding), clipped to the image. Those rows live in a ring at the start of the scratch: the
 * rows the previous band computed and this one reads again move to its front, the new ones are computed by the
 * convolution kernel over the window of x they read (its padding where the window meets the image's edge). conv2
 * writes the band into the scratch after the ring, and the ADD writes the band's sums over x's rows [r0, r1):
 * later bands read x from row r1 - 1 - pt2 + KH2 - pt1 >= r1 on. Every value is computed by the same kernels on
 * the same inputs as layer by layer, so the results are theirs bit for bit.
 */
#ifndef MCC_BANDS_H
#define MCC_BANDS_H

#include <stddef.h>

#include "mcc_compiler.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/** A convolution kernel with its filter as an opaque pointer (each entry file wraps its kernels). */
typedef mcc_status (*mcc_band_conv)(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                    const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                    const void *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out);

/**
 * One convolution's output rows [lo, hi) (stride 1) from its input image of image_h rows of W * C_in bytes, of
 * which `rows` holds those from row rows_lo on (every row the output rows read).
 */
static MCC_ALWAYS_INLINE mcc_status mcc_bands_conv_rows(mcc_band_conv conv, const mcc_context *ctx,
                                                        const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                                        const mcc_dims *filter_dims, const void *filter,
                                                        const int32_t *bias,
                                                        const int8_t *rows, int32_t rows_lo, int32_t image_h,
                                                        int32_t w, int32_t cin, int32_t cout, int32_t lo, int32_t hi,
                                                        int8_t *out)
{
    const int32_t first = mcc_max_i32(lo - p->pad_h, 0);
    const int32_t last = mcc_min_i32(hi - 1 - p->pad_h + filter_dims->h, image_h);
    mcc_conv_params window = *p;
    mcc_dims in_dims, out_dims;
    window.pad_h = first - lo + p->pad_h; /* the rows above the window that are padding: only at the top */
    in_dims.n = 1;
    in_dims.h = last - first;
    in_dims.w = w;
    in_dims.c = cin;
    out_dims.n = 1;
    out_dims.h = hi - lo;
    out_dims.w = w;
    out_dims.c = cout;
    return conv(ctx, &window, q, &in_dims, rows + (first - rows_lo) * w * cin, filter_dims, filter, bias, &out_dims,
                out);
}

/** The block (mcc_residual_bands_s8 in mcc_nn.h) with each convolution run by `conv1` / `conv2`. */
static MCC_ALWAYS_INLINE mcc_status mcc_bands_run(const mcc_context *ctx, const mcc_bands_params *b,
                                                  mcc_band_conv conv1, const mcc_conv_params *p1,
                                                  const mcc_per_channel_quant *q1, const mcc_dims *filter1_dims,
                                                  const void *filter1, const int32_t *bias1, mcc_band_conv conv2,
                                                  const mcc_conv_params *p2, const mcc_per_channel_quant *q2,
                                                  const mcc_dims *filter2_dims, const void *filter2,
                                                  const int32_t *bias2, const mcc_add_params *pa,
                                                  const mcc_dims *dims, int8_t *x)
{
    const int32_t h = dims->h, w = dims->w, c = dims->c, row = w * c;
    const int32_t c1 = filter1_dims->n, row1 = w * c1;
    int8_t *ring, *band;
    mcc_context conv_ctx, add_ctx;
    int32_t r0, have_lo = 0, have_hi = 0; /* conv1's rows in the ring: [have_lo, have_hi), from its start */
    mcc_status status;
    if (ctx == NULL || ctx->buf == NULL || b->band_rows < 1 ||
        ctx->size < b->ring_rows * row1 + b->band_rows * row + b->conv_scratch + b->add_scratch) {
        return MCC_NO_BUFFER;
    }
    ring = (int8_t *)ctx->buf;
    band = ring + b->ring_rows * row1;
    conv_ctx.buf = band + b->band_rows * row;
    conv_ctx.size = b->conv_scratch;
    add_ctx.buf = b->add_scratch > 0 ? (int8_t *)conv_ctx.buf + b->conv_scratch : NULL;
    add_ctx.size = b->add_scratch;
    for (r0 = 0; r0 < h; r0 += b->band_rows) {
        const int32_t r1 = mcc_min_i32(r0 + b->band_rows, h);
        const int32_t lo = mcc_max_i32(r0 - p2->pad_h, 0);
        const int32_t hi = mcc_min_i32(r1 - 1 - p2->pad_h + filter2_dims->h, h);
        mcc_broadcast_dims d;
        int32_t keep = have_hi > lo ? have_hi - lo : 0, i;
        if (hi - lo > b->ring_rows) {
            return MCC_NO_BUFFER;
        }
        if (keep > 0 && lo > have_lo) { /* the rows this band reads again move to the ring's front */
            const int32_t *src = (const int32_t *)(const void *)(ring + (lo - have_lo) * row1);
            int32_t *dst = (int32_t *)(void *)ring, words = keep * row1 / 4;
            for (i = 0; i < words; i++) {
                dst[i] = src[i];
            }
            for (i = words * 4; i < keep * row1; i++) {
                ring[i] = ring[(lo - have_lo) * row1 + i];
            }
        }
        status = mcc_bands_conv_rows(conv1, &conv_ctx, p1, q1, filter1_dims, filter1, bias1, x, 0, h, w, c, c1, lo + keep, hi,
                           ring + keep * row1);
        if (status != MCC_OK) {
            return status;
        }
        have_lo = lo;
        have_hi = hi;
        /* conv2's rows [r0, r1) read the ring as the image rows [lo, hi) of conv1's output */
        status = mcc_bands_conv_rows(conv2, &conv_ctx, p2, q2, filter2_dims, filter2, bias2, ring, lo, h, w, c1, c, r0, r1, band);
        if (status != MCC_OK) {
            return status;
        }
        d.out.n = 1;
        d.out.h = r1 - r0;
        d.out.w = w;
        d.out.c = c;
        d.in1 = d.out;
        d.in2 = d.out;
        { /* the first band fills the ADD's rescale tables (when it has them), the others use them */
            const int8_t *in1 = b->x_first ? x + r0 * row : band, *in2 = b->x_first ? band : x + r0 * row;
            status = r0 == 0 ? mcc_add_s8(&add_ctx, pa, &d, in1, in2, x + r0 * row)
                             : mcc_add_s8_filled(&add_ctx, pa, &d, in1, in2, x + r0 * row);
        }
        if (status != MCC_OK) {
            return status;
        }
    }
    return MCC_OK;
}

#endif /* MCC_BANDS_H */
