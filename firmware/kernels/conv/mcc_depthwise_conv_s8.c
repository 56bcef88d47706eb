/**
 * @file mcc_depthwise_conv_s8.c
 * @brief DEPTHWISE_CONV_2D int8, any filter size, stride, dilation, padding and depth multiplier
 *        (bit-exact with TFLM's reference_integer_ops::DepthwiseConvPerChannel). Needs no scratch memory.
 *
 * For each output pixel the filter window is clipped to the input once (padded taps add nothing in
 * TFLM), then, for depth multiplier 1, channels are processed four at a time with four int32
 * accumulators. With the DSP extension four input bytes become two int16 pairs with the input offset
 * added (SXTAB16) and meet the filter pairs in SMLABB / SMLATT: 14 instructions per tap and four
 * channels on Cortex-M4 (unrolling further or sharing filter loads between two pixels makes GCC spill).
 * Depth multipliers above 1 take a plain per-channel loop. Accumulators are int32 and, as in TFLM,
 * must not overflow.
 */
#include <stddef.h>

#include "mcc_dsp.h"
#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/**
 * Scratch size of mcc_depthwise_conv_s8: none.
 * @return 0
 */
int32_t mcc_depthwise_conv_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims)
{
    (void)in_dims;
    (void)filter_dims;
    return 0;
}

/** Requantize one accumulator to int8. */
static inline int8_t requant(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset, int32_t lo, int32_t hi)
{
    const int32_t v = mcc_multiply_by_quantized_multiplier(acc, mult, shift) + out_offset;
    return (int8_t)mcc_clamp_i32(v, lo, hi);
}

/** Taps [k0, k1) of a filter axis of size k, dilation d, that land in [0, n) from input origin o. */
static void clip_window(int32_t o, int32_t d, int32_t k, int32_t n, int32_t *k0, int32_t *k1)
{
    const int32_t start = o >= 0 ? 0 : (-o + d - 1) / d;
    const int32_t end = n - o <= 0 ? 0 : (n - o + d - 1) / d;
    *k0 = mcc_min_i32(start, k);
    *k1 = mcc_max_i32(mcc_min_i32(end, k), *k0);
}

/** One output pixel's clipped window and where to find it. */
typedef struct {
    const int8_t *in;     /* input at (first valid row, first valid column), channel 0 */
    const int8_t *filter; /* filter at (first valid row, first valid column), channel 0 */
    int32_t rows, cols;   /* valid taps */
} window;

/** Depth multiplier 1: acc[0..3] += channels [c, c + 4) of the window. */
static void dw4(const mcc_conv_params *p, int32_t ch, int32_t row_step, int32_t col_step, int32_t wrow_step,
                const window *win, int32_t c, int32_t *acc)
{
    const int8_t *in_row = win->in + c;
    const int8_t *w_row = win->filter + c;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t r, t;
#if defined(MCC_DSP)
    const int32_t off2 = (int32_t)(((uint32_t)p->input_offset & 0xFFFFu) | ((uint32_t)p->input_offset << 16));
#else
    const int32_t off = p->input_offset;
#endif
    for (r = 0; r < win->rows; r++, in_row += row_step, w_row += wrow_step) {
        const int8_t *x = in_row, *w = w_row;
        for (t = win->cols; t > 0; t--, x += col_step, w += ch) {
#if defined(MCC_DSP)
            const int32_t wv = mcc_read_s8x4(w), xv = mcc_read_s8x4(x);
            const int32_t w02 = mcc_sxtb16(wv), w13 = mcc_sxtb16_ror8(wv);
            const int32_t x02 = mcc_sxtab16(off2, xv), x13 = mcc_sxtab16_ror8(off2, xv);
            a0 = mcc_smlabb(x02, w02, a0);
            a2 = mcc_smlatt(x02, w02, a2);
            a1 = mcc_smlabb(x13, w13, a1);
            a3 = mcc_smlatt(x13, w13, a3);
#else
            a0 += (x[0] + off) * w[0];
            a1 += (x[1] + off) * w[1];
            a2 += (x[2] + off) * w[2];
            a3 += (x[3] + off) * w[3];
#endif
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/** Depth multiplier 1, single channel c of one pixel. */
static int32_t dw1(const mcc_conv_params *p, int32_t ch, int32_t row_step, int32_t col_step, int32_t wrow_step,
                   const window *win, int32_t c, int32_t acc)
{
    const int8_t *in_row = win->in + c;
    const int8_t *w_row = win->filter + c;
    int32_t r, t;
    for (r = 0; r < win->rows; r++, in_row += row_step, w_row += wrow_step) {
        const int8_t *x = in_row, *w = w_row;
        for (t = win->cols; t > 0; t--, x += col_step, w += ch) {
            acc += (*x + p->input_offset) * *w;
        }
    }
    return acc;
}

/** Output pixel (oy, ox) of one batch: its clipped window. */
static void make_window(const mcc_conv_params *p, const mcc_dims *in_dims, const int8_t *in_b,
                        const mcc_dims *filter_dims, const int8_t *filter, int32_t oy, int32_t ox, window *win)
{
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    int32_t ky0, ky1, kx0, kx1;
    clip_window(iy0, p->dilation_h, filter_dims->h, in_dims->h, &ky0, &ky1);
    clip_window(ix0, p->dilation_w, filter_dims->w, in_dims->w, &kx0, &kx1);
    win->rows = ky1 - ky0;
    win->cols = kx1 - kx0;
    win->in = in_b;
    win->filter = filter;
    if (win->rows > 0 && win->cols > 0) {
        win->in = in_b + ((iy0 + ky0 * p->dilation_h) * in_dims->w + ix0 + kx0 * p->dilation_w) * in_dims->c;
        win->filter = filter + (ky0 * filter_dims->w + kx0) * filter_dims->c;
    } else {
        win->rows = 0;
        win->cols = 0;
    }
}

/** Depth multiplier 1: all channels of one output pixel. */
static void dw_pixel_m1(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                        const mcc_dims *filter_dims, const int32_t *bias, const window *win, int8_t *out)
{
    const int32_t ch = in_dims->c;
    const int32_t row_step = p->dilation_h * in_dims->w * ch, col_step = p->dilation_w * ch;
    const int32_t wrow_step = filter_dims->w * ch;
    const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
    int32_t c = 0, i;
    for (; c + 4 <= ch; c += 4) {
        int32_t acc[4];
        for (i = 0; i < 4; i++) {
            acc[i] = bias != NULL ? bias[c + i] : 0;
        }
        dw4(p, ch, row_step, col_step, wrow_step, win, c, acc);
        for (i = 0; i < 4; i++) {
            out[c + i] = requant(acc[i], q->multiplier[c + i], q->shift[c + i], off, lo, hi);
        }
    }
    for (; c < ch; c++) {
        const int32_t acc = dw1(p, ch, row_step, col_step, wrow_step, win, c, bias != NULL ? bias[c] : 0);
        out[c] = requant(acc, q->multiplier[c], q->shift[c], off, lo, hi);
    }
}

/** Any depth multiplier M: output channel ic * M + m reads input channel ic. */
static void dw_pixel_generic(const mcc_conv_params *p, const mcc_per_channel_quant *q, const mcc_dims *in_dims,
                             const mcc_dims *filter_dims, const int32_t *bias, const window *win, int8_t *out)
{
    const int32_t ch = in_dims->c, mult = p->depth_multiplier, out_ch = filter_dims->c;
    const int32_t row_step = p->dilation_h * in_dims->w * ch, col_step = p->dilation_w * ch;
    const int32_t wrow_step = filter_dims->w * out_ch;
    int32_t ic, m, r, t;
    for (ic = 0; ic < ch; ic++) {
        for (m = 0; m < mult; m++) {
            const int32_t oc = ic * mult + m;
            const int8_t *in_row = win->in + ic;
            const int8_t *w_row = win->filter + oc;
            int32_t acc = bias != NULL ? bias[oc] : 0;
            for (r = 0; r < win->rows; r++, in_row += row_step, w_row += wrow_step) {
                const int8_t *x = in_row, *w = w_row;
                for (t = win->cols; t > 0; t--, x += col_step, w += out_ch) {
                    acc += (*x + p->input_offset) * *w;
                }
            }
            out[oc] = requant(acc, q->multiplier[oc], q->shift[oc], p->output_offset, p->act_min, p->act_max);
        }
    }
}

/**
 * DEPTHWISE_CONV_2D int8 (see mcc_nn.h).
 * @param ctx         unused (may be NULL): no scratch needed
 * @param p           input_offset in [-127, 128], output_offset in [-128, 127], stride >= 1, dilation >= 1,
 *                    pad >= 0, depth_multiplier >= 1, -128 <= act_min <= act_max <= 127
 * @param q           per-output-channel multiplier in [0, 2^31) and shift in [-31, 30]
 * @param in_dims     [N, H, W, C_in]
 * @param in          input tensor, NHWC
 * @param filter_dims [1, KH, KW, C_in * depth_multiplier]
 * @param filter      filter tensor
 * @param bias        [C_in * depth_multiplier] int32, or NULL
 * @param out_dims    [N, OH, OW, C_in * depth_multiplier]
 * @param out         output tensor, NHWC
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_depthwise_conv_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                 const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                 const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out)
{
    int32_t b, oy, ox, out_ch;
    (void)ctx;
    if (p == NULL || q == NULL || in_dims == NULL || in == NULL || filter_dims == NULL || filter == NULL ||
        out_dims == NULL || out == NULL || p->depth_multiplier < 1 || filter_dims->n != 1 ||
        filter_dims->c != in_dims->c * p->depth_multiplier || out_dims->c != filter_dims->c ||
        out_dims->n != in_dims->n || p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 ||
        p->dilation_w < 1 || p->pad_h < 0 || p->pad_w < 0) {
        return MCC_ARG_ERROR;
    }
    out_ch = out_dims->c;
    for (b = 0; b < out_dims->n; b++) {
        const int8_t *in_b = in + b * in_dims->h * in_dims->w * in_dims->c;
        for (oy = 0; oy < out_dims->h; oy++) {
            int8_t *o = out + ((b * out_dims->h + oy) * out_dims->w) * out_ch;
            for (ox = 0; ox < out_dims->w; ox++, o += out_ch) {
                window win;
                make_window(p, in_dims, in_b, filter_dims, filter, oy, ox, &win);
                if (p->depth_multiplier == 1) {
                    dw_pixel_m1(p, q, in_dims, filter_dims, bias, &win, o);
                } else {
                    dw_pixel_generic(p, q, in_dims, filter_dims, bias, &win, o);
                }
            }
        }
    }
    return MCC_OK;
}
