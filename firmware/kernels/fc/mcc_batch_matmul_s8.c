/**
 * @file mcc_batch_matmul_s8.c
 * @brief BATCH_MATMUL int8, bit-exact with TFLM's reference batch_matmul.h (per-tensor requantization).
 *
 * Each output matrix (M x N) is the lhs matrix (M x K) times the rhs matrix (K x N). That is a
 * FULLY_CONNECTED with M batch rows and the rhs transposed (N x K) as its filter, with the same
 * MultiplyByQuantizedMultiplier requantization and offsets, so each matrix runs through
 * mcc_fully_connected_s8 and its tuned loops (with the DSP extension: the lhs row widened once, four rhs
 * columns at a time with SXTAB16 and SMLAD). Operands not already in that layout are transposed into the
 * scratch first: the rhs unless adj_y (once for all batches when it is broadcast), the lhs when adj_x.
 * Without enough scratch a plain strided loop computes the same values.
 */
#include <stddef.h>
#include <string.h>

#include "mcc_fixedpoint.h"
#include "mcc_nn.h"

/** Bytes of the fully connected kernel's scratch for depth k (one widened row, from four columns on). */
static int32_t fc_bytes(const mcc_batch_matmul_params *p)
{
    return p->cols >= 4 ? ((p->depth + 3) & ~3) * (int32_t)sizeof(int16_t) : 0;
}

/**
 * Scratch size of mcc_batch_matmul_s8.
 * @param p rows, cols, depth, adj_x, adj_y as for the call
 * @return bytes (4-byte aligned buffer)
 */
int32_t mcc_batch_matmul_s8_get_buffer_size(const mcc_batch_matmul_params *p)
{
    const int32_t rhs_t = p->adj_y ? 0 : p->cols * p->depth, lhs_t = p->adj_x ? p->rows * p->depth : 0;
    return fc_bytes(p) + rhs_t + lhs_t;
}

/** dst[j][i] = src[i][j] for the rows i of [i0, r) and every column of an r x c matrix src. */
static void transpose_rows_s8(const int8_t *src, int32_t i0, int32_t r, int32_t c, int8_t *dst)
{
    int32_t i, j;
    for (i = i0; i < r; i++) {
        for (j = 0; j < c; j++) {
            dst[j * r + i] = src[i * c + j];
        }
    }
}

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/**
 * dst[j][i] = src[i][j] for an r x c matrix src: blocks of 4 x 4 bytes as four word loads, a byte transpose in
 * registers and four word stores (about 1.5 instructions per byte on Cortex-M4, against 5 byte by byte).
 */
static void transpose_s8(const int8_t *src, int32_t r, int32_t c, int8_t *dst)
{
    const int32_t r4 = r & ~3, c4 = c & ~3;
    int32_t i, j;
    for (i = 0; i < r4; i += 4) {
        const int8_t *s = src + i * c;
        for (j = 0; j < c4; j += 4) {
            uint32_t a0, a1, a2, a3, t0, t1, t2, t3, w;
            memcpy(&a0, s + j, 4); /* byte k: column j + k of row i */
            memcpy(&a1, s + c + j, 4);
            memcpy(&a2, s + 2 * c + j, 4);
            memcpy(&a3, s + 3 * c + j, 4);
            t0 = (a0 & 0x00FF00FFu) | ((a1 << 8) & 0xFF00FF00u); /* rows 0, 1 of columns 0 and 2 */
            t1 = ((a0 >> 8) & 0x00FF00FFu) | (a1 & 0xFF00FF00u); /* rows 0, 1 of columns 1 and 3 */
            t2 = (a2 & 0x00FF00FFu) | ((a3 << 8) & 0xFF00FF00u);
            t3 = ((a2 >> 8) & 0x00FF00FFu) | (a3 & 0xFF00FF00u);
            w = (t0 & 0xFFFFu) | (t2 << 16);
            memcpy(dst + j * r + i, &w, 4);
            w = (t1 & 0xFFFFu) | (t3 << 16);
            memcpy(dst + (j + 1) * r + i, &w, 4);
            w = (t0 >> 16) | (t2 & 0xFFFF0000u);
            memcpy(dst + (j + 2) * r + i, &w, 4);
            w = (t1 >> 16) | (t3 & 0xFFFF0000u);
            memcpy(dst + (j + 3) * r + i, &w, 4);
        }
        for (; j < c; j++) { /* the last columns, byte by byte */
            dst[j * r + i] = s[j];
            dst[j * r + i + 1] = s[c + j];
            dst[j * r + i + 2] = s[2 * c + j];
            dst[j * r + i + 3] = s[3 * c + j];
        }
    }
    transpose_rows_s8(src, r4, r, c, dst);
}
#else
/** dst[j][i] = src[i][j] for an r x c matrix src (byte by byte: the word path assumes little-endian words). */
static void transpose_s8(const int8_t *src, int32_t r, int32_t c, int8_t *dst)
{
    transpose_rows_s8(src, 0, r, c, dst);
}
#endif

/** One output matrix without scratch: strided reads of both operands in their stored layout. */
static void matmul_strided(const mcc_batch_matmul_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *out)
{
    const int32_t m = p->rows, n = p->cols, k = p->depth;
    const int32_t lr = p->adj_x ? 1 : k, lk = p->adj_x ? m : 1; /* lhs element (r, d) at r * lr + d * lk */
    const int32_t rk = p->adj_y ? 1 : n, rc = p->adj_y ? k : 1; /* rhs element (d, c) at d * rk + c * rc */
    int32_t r, c, d;
    for (r = 0; r < m; r++) {
        for (c = 0; c < n; c++) {
            int32_t acc = 0;
            for (d = 0; d < k; d++) {
                acc += (lhs[r * lr + d * lk] + p->lhs_offset) * (rhs[d * rk + c * rc] + p->rhs_offset);
            }
            acc = mcc_multiply_by_quantized_multiplier(acc, p->multiplier, p->shift) + p->output_offset;
            out[r * n + c] = (int8_t)mcc_clamp_i32(acc, -128, 127);
        }
    }
}

/**
 * BATCH_MATMUL int8 (see mcc_nn.h).
 * @param ctx scratch of mcc_batch_matmul_s8_get_buffer_size() bytes, 4-byte aligned; NULL or smaller takes
 *            the strided loop that needs none
 * @param p   offsets in [-127, 128] (output_offset in [-128, 127]), multiplier in [0, 2^31), shift in
 *            [-31, 30], rows, cols, depth >= 1, adj_x and adj_y 0 or 1, out_batch >= 1, strides >= 0
 * @param lhs [..., rows, depth] ([..., depth, rows] when adj_x)
 * @param rhs [..., depth, cols] ([..., cols, depth] when adj_y)
 * @param out [out_batch[0], out_batch[1], out_batch[2], rows, cols]; must not overlap lhs or rhs
 * @return MCC_OK or MCC_ARG_ERROR
 */
mcc_status mcc_batch_matmul_s8(const mcc_context *ctx, const mcc_batch_matmul_params *p, const int8_t *lhs,
                               const int8_t *rhs, int8_t *out)
{
    int32_t b0, b1, b2, use_fc;
    int8_t *rhs_t = NULL, *lhs_t = NULL;
    const int8_t *last_rhs = NULL;
    mcc_context fc_ctx = {NULL, 0};
    mcc_fc_params fc;
    mcc_per_channel_quant q;
    mcc_dims in_dims = {1, 1, 1, 1}, filter_dims = {1, 1, 1, 1}, out_dims = {1, 1, 1, 1};
    if (p == NULL || lhs == NULL || rhs == NULL || out == NULL || p->rows < 1 || p->cols < 1 || p->depth < 1) {
        return MCC_ARG_ERROR;
    }
    use_fc = ctx != NULL && ctx->buf != NULL && ctx->size >= mcc_batch_matmul_s8_get_buffer_size(p);
    if (use_fc) {
        int8_t *buf = (int8_t *)ctx->buf;
        fc_ctx.buf = buf;
        fc_ctx.size = fc_bytes(p);
        rhs_t = p->adj_y ? NULL : buf + fc_ctx.size;
        lhs_t = p->adj_x ? buf + fc_ctx.size + (p->adj_y ? 0 : p->cols * p->depth) : NULL;
    }
    fc.input_offset = p->lhs_offset;
    fc.filter_offset = p->rhs_offset;
    fc.output_offset = p->output_offset;
    fc.per_channel = 0;
    fc.act_min = -128;
    fc.act_max = 127;
    fc.dual_rows = 0;
    q.multiplier = &p->multiplier;
    q.shift = &p->shift;
    in_dims.n = out_dims.n = p->rows;
    in_dims.c = filter_dims.c = p->depth;
    filter_dims.n = out_dims.c = p->cols;
    for (b0 = 0; b0 < p->out_batch[0]; b0++) {
        for (b1 = 0; b1 < p->out_batch[1]; b1++) {
            for (b2 = 0; b2 < p->out_batch[2]; b2++) {
                const int8_t *l = lhs + b0 * p->lhs_stride[0] + b1 * p->lhs_stride[1] + b2 * p->lhs_stride[2];
                const int8_t *r = rhs + b0 * p->rhs_stride[0] + b1 * p->rhs_stride[1] + b2 * p->rhs_stride[2];
                int8_t *o = out + ((b0 * p->out_batch[1] + b1) * p->out_batch[2] + b2) * p->rows * p->cols;
                if (!use_fc) {
                    matmul_strided(p, l, r, o);
                    continue;
                }
                if (rhs_t != NULL && r != last_rhs) { /* a broadcast rhs is transposed once */
                    transpose_s8(r, p->depth, p->cols, rhs_t);
                    last_rhs = r;
                }
                if (lhs_t != NULL) {
                    transpose_s8(l, p->depth, p->rows, lhs_t);
                }
                (void)mcc_fully_connected_s8(&fc_ctx, &fc, &q, &in_dims, lhs_t != NULL ? lhs_t : l, &filter_dims,
                                             rhs_t != NULL ? rhs_t : r, NULL, &out_dims, o);
            }
        }
    }
    return MCC_OK;
}
