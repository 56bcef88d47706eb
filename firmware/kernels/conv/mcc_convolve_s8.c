/**
 * @file mcc_convolve_s8.c
 * @brief CONV_2D int8, generic: any filter size, stride, dilation and padding (bit-exact with TFLM's
 *        reference_integer_ops::ConvPerChannel).
 *
 * Two output pixels at a time are unrolled (im2col) into the scratch buffer as int16 values with the
 * input offset already added; padded taps become 0, which is exactly what TFLM's skipped taps add.
 * Every pair of output channels is then the dot product of two filter rows with the two columns: four
 * int32 accumulators per step (mcc_matmul.h, which also describes the column layout). The scratch
 * buffer also holds a requantization table (16 bytes per output channel) built once per call; a buffer
 * of only the two columns (the size before the table existed) still works with the generic
 * requantization.
 *
 * Accumulators are int32 and, as in TFLM, must not overflow (true for any realistic filter).
 */
#include <stddef.h>
#include <string.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_matmul.h"
#include "mcc_mve_kernels.h"
#include "mcc_nn.h"
#include "mcc_variants.h"

/** Values of one im2col column: K, rounded up to a whole group for padded dual-row filters (dual_rows = 2). */
static int32_t column_length(const mcc_conv_params *p, int32_t k)
{
    return p->dual_rows == 2 ? (k + 3) & ~3 : k;
}

/** Bytes of the two im2col columns of `k` values each. */
static int32_t columns_bytes(int32_t k) { return 2 * k * (int32_t)sizeof(int16_t); }

/**
 * Scratch size of mcc_convolve_s8: two im2col columns of KH * KW * C_in int16 values (rounded up to a
 * multiple of 4), then the requantization table (16 bytes per output channel).
 * @param in_dims     [N, H, W, C_in]
 * @param filter_dims [C_out, KH, KW, C_in]
 * @return bytes (the buffer must be 4-byte aligned)
 */
int32_t mcc_convolve_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims)
{
    const int32_t k = filter_dims->h * filter_dims->w * in_dims->c;
    return columns_bytes((k + 3) & ~3) + mcc_mm_table_bytes(filter_dims->n);
}

/* Walking the interleaved layout value by value: after value j (j % 4 = r) the next one is delta[r] away. */
#if defined(MCC_DSP)
static const int8_t next_delta[4] = {2, -1, 2, 5}; /* groups stored (x0, x2, x1, x3) */
#else
static const int8_t next_delta[4] = {1, 1, 1, 5};
#endif

/** Largest receptive field (KH * KW * C_in) gathered as int8 on the stack first when C_in is not a multiple of 4:
 *  a generated project's mcc_variants.h sizes it to its own layers (the buffer is on the deepest stack path). */
#ifdef MCC_IM2COL_GATHER_MAX
#define GATHER_MAX MCC_IM2COL_GATHER_MAX
#else
#define GATHER_MAX 256
#endif

/** Zero (padded taps) in groups: n values from position j (both multiples of 4) of slot `slot`. */
static MCC_ALWAYS_INLINE void zero_groups(int16_t *buf, int32_t slot, int32_t j, int32_t n)
{
    int16_t *dst = buf + 2 * j + 4 * slot;
    for (; n > 0; n -= 4, dst += 8) {
        MCC_OPAQUE(dst);
        mcc_write_s16x2(dst, 0);
        mcc_write_s16x2(dst + 2, 0);
    }
}

/*
 * The short copies and fills below are loops on purpose: GCC would otherwise call memcpy / memset, whose
 * call overhead exceeds the few bytes moved (MCC_OPAQUE keeps it from recognising the loops).
 */

/** Copy n int8 values (word by word while four remain). */
static MCC_ALWAYS_INLINE void copy_s8(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, src += 4, dst += 4) {
        MCC_OPAQUE(dst);
        mcc_write_s8x4(dst, mcc_read_s8x4(src));
    }
    for (; n > 0; n--) {
        MCC_OPAQUE(dst);
        *dst++ = *src++;
    }
}

/** n int8 values of v. */
static MCC_ALWAYS_INLINE void fill_s8(int8_t *dst, int8_t v, int32_t n)
{
    for (; n > 0; n--) {
        MCC_OPAQUE(dst);
        *dst++ = v;
    }
}

/** One group (four int8 values, value 0 in bits 0-7 of x) of slot `slot` at column position 4 * i. */
static MCC_ALWAYS_INLINE void put_group(int32_t x, int32_t offset, int16_t *buf, int32_t slot, int32_t i)
{
    int8_t v[4];
    mcc_write_s8x4(v, x);
    mcc_mm_fill_groups(v, 4, offset, buf, slot, 4 * i);
}

/**
 * im2col of a pixel with no padded tap of a 3x3 filter over three channels (RGB first layers) in the padded
 * dual-row layout (28 values), no dilation: three rows of 9 contiguous bytes at s0, so the seven groups are word
 * reads, four of them whole and three spliced from two rows, the last with the zero point as its padded value (it
 * widens to 0). Reads only the receptive field.
 */
static MCC_ALWAYS_INLINE void im2col_rgb3x3(const int8_t *s0, int32_t row_step, int32_t offset, int16_t *buf,
                                            int32_t slot)
{
    const int8_t *s1 = s0 + row_step, *s2 = s1 + row_step;
    put_group(mcc_read_s8x4(s0), offset, buf, slot, 0);
    put_group(mcc_read_s8x4(s0 + 4), offset, buf, slot, 1);
    put_group((int32_t)((uint8_t)s0[8] | ((uint32_t)mcc_read_s8x4(s1) << 8)), offset, buf, slot, 2);
    put_group(mcc_read_s8x4(s1 + 3), offset, buf, slot, 3);
    put_group((int32_t)(((uint32_t)mcc_read_s8x4(s1 + 5) >> 16) | ((uint32_t)mcc_read_s8x4(s2) << 16)), offset, buf,
              slot, 4); /* s1[7], s1[8], s2[0], s2[1] */
    put_group(mcc_read_s8x4(s2 + 2), offset, buf, slot, 5);
    put_group((int32_t)(((uint32_t)mcc_read_s8x4(s2 + 5) >> 8) | ((uint32_t)(uint8_t)(-offset) << 24)), offset, buf,
              slot, 6); /* s2[6..8], the zero point */
}

/**
 * im2col of output pixel (oy, ox) of one batch into slot `slot` (0 or 1) of the pair buffer.
 * C_in a multiple of 4: every tap fills whole groups. Otherwise (first layers) the receptive field is
 * gathered as int8 first, padded taps as the input zero point (-input_offset, which widens to 0), then
 * widened four values at a time (a pixel with no padded tap copies whole rows: vww's RGB layer 9.43M -> 9.19M
 * instructions for the model on mps2-an386); beyond GATHER_MAX values it is written value by value.
 */
static void im2col_pixel(const mcc_conv_params *p, const mcc_dims *in_dims, const int8_t *in_batch,
                         const mcc_dims *filter_dims, int32_t kc, int32_t oy, int32_t ox, int16_t *buf, int32_t slot)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, ch = in_dims->c;
    const int32_t kh = filter_dims->h, kw = filter_dims->w;
    const int32_t k = kh * kw * ch, k4 = kc & ~3, kt = kc - k4; /* kc: column_length */
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    const int32_t offset = p->input_offset, dil_w = MCC_IM2COL_DILATED ? p->dilation_w : 1;
    const int32_t dil_h = MCC_IM2COL_DILATED ? p->dilation_h : 1; /* a build without dilation: constants */
    /* taps [kx_lo, kx_hi) of a row are inside the input columns */
    const int32_t kx_lo = ix0 >= 0 ? 0 : mcc_min_i32((-ix0 + dil_w - 1) / dil_w, kw);
    const int32_t kx_hi = mcc_max_i32(mcc_min_i32(in_w - ix0 <= 0 ? 0 : (in_w - ix0 + dil_w - 1) / dil_w, kw), kx_lo);
    int16_t *tail = buf + 2 * k4 + slot * kt;
    int32_t j = 0, ky, kx, i;
    if (MCC_IM2COL_GROUPED && (ch & 3) == 0) { /* every tap starts a group: whole groups at once */
        const int32_t row_len = kw * ch;
        for (ky = 0; ky < kh; ky++, j += row_len) {
            const int32_t iy = iy0 + ky * dil_h;
            int32_t at; /* input index of tap (ky, 0), possibly left of the row: only valid taps are read */
            if (iy < 0 || iy >= in_h) {
                zero_groups(buf, slot, j, row_len);
                continue;
            }
            at = (iy * in_w + ix0) * ch;
            zero_groups(buf, slot, j, kx_lo * ch);
            if (dil_w == 1) {
                mcc_mm_fill_groups(in_batch + at + kx_lo * ch, (kx_hi - kx_lo) * ch, offset, buf, slot,
                                   j + kx_lo * ch);
            } else {
                for (kx = kx_lo; kx < kx_hi; kx++) {
                    mcc_mm_fill_groups(in_batch + at + kx * dil_w * ch, ch, offset, buf, slot, j + kx * ch);
                }
            }
            zero_groups(buf, slot, j + kx_hi * ch, (kw - kx_hi) * ch);
        }
        return;
    }
    if (MCC_IM2COL_GATHER && kc <= GATHER_MAX) {
        int8_t g[GATHER_MAX];
        const int8_t zp = (int8_t)(-offset);
        const int32_t interior = dil_w == 1 && dil_h == 1 && iy0 >= 0 && iy0 + kh <= in_h && kx_lo == 0 &&
                                 kx_hi == kw;
        if (MCC_IM2COL_RGB && interior && ch == 3 && kh == 3 && kw == 3 && kc == 28) {
            im2col_rgb3x3(in_batch + (iy0 * in_w + ix0) * 3, in_w * 3, offset, buf, slot);
            return;
        }
        for (ky = 0; interior && ky < kh; ky++) { /* no padded tap: whole rows, no bounds per row */
            copy_s8(g + ky * kw * ch, in_batch + ((iy0 + ky) * in_w + ix0) * ch, kw * ch);
        }
        for (ky = interior ? kh : 0; ky < kh; ky++) {
            const int32_t iy = iy0 + ky * dil_h;
            int8_t *row = g + ky * kw * ch;
            if (iy < 0 || iy >= in_h) {
                fill_s8(row, zp, kw * ch);
                continue;
            }
            fill_s8(row, zp, kx_lo * ch);
            if (dil_w == 1) {
                copy_s8(row + kx_lo * ch, in_batch + (iy * in_w + ix0 + kx_lo) * ch, (kx_hi - kx_lo) * ch);
            } else {
                for (kx = kx_lo; kx < kx_hi; kx++) {
                    copy_s8(row + kx * ch, in_batch + (iy * in_w + ix0 + kx * dil_w) * ch, ch);
                }
            }
            fill_s8(row + kx_hi * ch, zp, (kw - kx_hi) * ch);
        }
        fill_s8(g + k, zp, kc - k); /* padded dual-row filters: the last group's missing values widen to 0 */
        mcc_mm_fill_groups(g, k4, offset, buf, slot, 0);
        for (i = 0; i < kt; i++) {
            tail[i] = (int16_t)(g[k4 + i] + offset);
        }
        return;
    }
    if (MCC_IM2COL_VALUES) { /* large receptive fields with few channels: value by value, last < 4 to the tail */
        int16_t *dst1 = buf + 4 * slot; /* where value j goes */
        for (ky = 0; ky < kh; ky++) {
            const int32_t iy = iy0 + ky * dil_h;
            const int32_t row_ok = iy >= 0 && iy < in_h;
            for (kx = 0; kx < kw; kx++) {
                const int32_t ix = ix0 + kx * dil_w;
                const int32_t ok = row_ok && ix >= 0 && ix < in_w;
                const int8_t *src = ok ? in_batch + (iy * in_w + ix) * ch : in_batch;
                const int32_t grouped = mcc_max_i32(mcc_min_i32(ch, k4 - j), 0);
                for (i = 0; i < grouped; i++, j++) {
                    *dst1 = (int16_t)(ok ? src[i] + offset : 0);
                    dst1 += next_delta[j & 3];
                }
                for (; i < ch; i++, j++) {
                    tail[j - k4] = (int16_t)(ok ? src[i] + offset : 0);
                }
            }
        }
        for (; j < kc; j++) { /* padded columns: the last group's missing values */
            *dst1 = 0;
            dst1 += next_delta[j & 3];
        }
    }
}

/**
 * im2col of an output pixel whose receptive field lies inside the input (no padded tap), C_in a multiple of 4
 * and no dilation: KH rows of KW * C_in contiguous values, whole groups each. The same values as
 * im2col_pixel's grouped path without its per-pixel bounds arithmetic: ResNet-8's 3x3 layers 5% fewer
 * instructions (16 -> 16 at 32x32: 2,787 -> 2,636 per output pixel on mps2-an386).
 */
static MCC_ALWAYS_INLINE void im2col_interior(const int8_t *src, int32_t row_step, int32_t kh, int32_t row_len,
                                              int32_t offset, int16_t *buf, int32_t slot)
{
    int32_t ky, j = 0;
    for (ky = 0; ky < kh; ky++, j += row_len, src += row_step) {
        mcc_mm_fill_groups(src, row_len, offset, buf, slot, j);
    }
}

/** 1 when the build carries an im2col fill for this call (mcc_variants.h; the value-by-value one fits any). */
static int32_t im2col_built(const mcc_conv_params *p, const mcc_dims *in_dims, const mcc_dims *filter_dims,
                            int32_t kc)
{
    const int32_t ch = in_dims->c, k = filter_dims->h * filter_dims->w * ch;
    if (!MCC_IM2COL_DILATED && (p->dilation_h != 1 || p->dilation_w != 1)) {
        return 0;
    }
    if (kc != k) { /* padded columns (C_in % 4 != 0): not the grouped path */
        return MCC_IM2COL_VALUES || (MCC_IM2COL_GATHER && kc <= GATHER_MAX);
    }
    return MCC_IM2COL_VALUES || (MCC_IM2COL_GROUPED && (ch & 3) == 0) || (MCC_IM2COL_GATHER && k <= GATHER_MAX);
}

/** Next output position in (batch, y, x) order. */
static inline void advance(const mcc_dims *out_dims, int32_t *b, int32_t *oy, int32_t *ox)
{
    if (++*ox == out_dims->w) {
        *ox = 0;
        if (++*oy == out_dims->h) {
            *oy = 0;
            ++*b;
        }
    }
}

/**
 * CONV_2D int8, generic (see mcc_nn.h).
 * @param ctx         scratch of mcc_convolve_s8_get_buffer_size() bytes, 4-byte aligned (at least the
 *                    two columns, 2 * KH * KW * C_in int16, that count rounded up to a multiple of 4 for
 *                    dual_rows = 2; without the table requantization is slower)
 * @param p           input_offset in [-127, 128], output_offset in [-128, 127], stride >= 1, dilation >= 1,
 *                    pad >= 0 (padding before; padding after is implied by out_dims),
 *                    -128 <= act_min <= act_max <= 127; depth_multiplier unused
 * @param q           per-output-channel multiplier in [0, 2^31) and shift in [-31, 30]
 * @param in_dims     [N, H, W, C_in], all >= 1
 * @param in          input tensor, NHWC
 * @param filter_dims [C_out, KH, KW, C_in]
 * @param filter      filter tensor, OHWI
 * @param bias        [C_out] int32, or NULL
 * @param out_dims    [N, OH, OW, C_out]
 * @param out         output tensor, NHWC
 * @return MCC_OK, MCC_ARG_ERROR, MCC_NO_BUFFER (on an MVE target: less than mcc_convolve_s8_get_buffer_size()
 *         bytes), or MCC_NOT_BUILT when the build left out the im2col fill this call needs (mcc_variants.h)
 */
mcc_status mcc_convolve_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                           const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                           const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out)
{
    return mcc_convolve_s8_channels(ctx, p, q, in_dims, in, filter_dims, filter, bias, out_dims, out,
                                    out_dims != NULL ? out_dims->c : 0);
}

/**
 * mcc_convolve_s8 for a slice of a layer's output channels (see mcc_nn.h): out_dims->c of them, written at
 * `out` + pixel * out_stride.
 */
mcc_status mcc_convolve_s8_channels(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                    const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                    const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out,
                                    int32_t out_stride)
{
    int32_t out_ch, total, pix, b = 0, oy = 0, ox = 0, batch_stride, cols, kc;
    int16_t *buf;
    mcc_mm m;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        out_dims == NULL || out == NULL || filter_dims->c != in_dims->c || out_dims->c != filter_dims->n ||
        out_dims->n != in_dims->n || p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 ||
        p->dilation_w < 1 || p->pad_h < 0 || p->pad_w < 0 || out_stride < out_dims->c) {
        return MCC_ARG_ERROR;
    }
#if defined(MCC_MVE)
    if (p->dual_rows || out_stride != out_dims->c) {
        return MCC_ARG_ERROR; /* Helium reads plain filters (the code generator writes no dual rows for it) and
                                 writes whole pixels */
    }
    if (ctx != NULL && mcc_convolve_s8_mve(p, q, in_dims, in, filter_dims, filter, bias, out_dims, out, ctx->buf,
                                           ctx->size) == MCC_OK) {
        return MCC_OK; /* Helium: kernels/conv/mcc_convolve_mve.c */
    }
    return MCC_NO_BUFFER; /* MVE builds carry no DSP path: they need mcc_convolve_s8_get_buffer_size() bytes */
#endif
    kc = column_length(p, filter_dims->h * filter_dims->w * in_dims->c);
    cols = columns_bytes(kc);
    if (ctx == NULL || ctx->buf == NULL || ctx->size < cols) {
        return MCC_NO_BUFFER;
    }
    if (!im2col_built(p, in_dims, filter_dims, kc)) {
        return MCC_NOT_BUILT;
    }
    buf = (int16_t *)ctx->buf;
    out_ch = out_dims->c;
    m.filter = filter;
    m.bias = bias;
    m.cout = out_ch;
    m.k = kc;
    m.lo = p->act_min;
    m.hi = p->act_max;
    m.dual = p->dual_rows != 0;
    m.small_acc = p->small_acc;
    mcc_mm_prepare(&m, q, p->output_offset,
                   ctx->size >= cols + mcc_mm_table_bytes(out_ch) ? (mcc_rq *)(void *)((int8_t *)ctx->buf + cols)
                       : NULL);
    batch_stride = in_dims->h * in_dims->w * in_dims->c;
    total = out_dims->n * out_dims->h * out_dims->w;
    if (!mcc_mm_built(&m, total)) {
        return MCC_NOT_BUILT; /* the product needs mcc_mm_run's general loop, left out (mcc_variants.h) */
    }
    /* pixels with no padded tap take im2col_interior where the grouped path applies */
    const int32_t kh = filter_dims->h, kw = filter_dims->w, in_h = in_dims->h, in_w = in_dims->w;
    const int32_t fast = MCC_IM2COL_GROUPED && (in_dims->c & 3) == 0 && p->dilation_h == 1 && p->dilation_w == 1;
    const int32_t row_len = kw * in_dims->c, row_step = in_w * in_dims->c;
#define MCC_IM2COL(slot)                                                                                               \
    do {                                                                                                               \
        const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;                            \
        if (fast && iy0 >= 0 && ix0 >= 0 && iy0 + kh <= in_h && ix0 + kw <= in_w) {                                    \
            im2col_interior(in + b * batch_stride + (iy0 * in_w + ix0) * in_dims->c, row_step, kh, row_len,            \
                            p->input_offset, buf, slot);                                                               \
        } else {                                                                                                       \
            im2col_pixel(p, in_dims, in + b * batch_stride, filter_dims, kc, oy, ox, buf, slot);                       \
        }                                                                                                              \
    } while (0)
    for (pix = 0; pix < total; pix += 2) {
        int8_t *out0 = out + pix * out_stride;
        MCC_IM2COL(0);
        advance(out_dims, &b, &oy, &ox);
        if (pix + 1 < total) {
            MCC_IM2COL(1);
            advance(out_dims, &b, &oy, &ox);
            mcc_mm_run(&m, buf, out0, out0 + out_stride);
        } else {
            mcc_mm_run(&m, buf, out0, NULL);
        }
    }
#undef MCC_IM2COL
    return MCC_OK;
}
