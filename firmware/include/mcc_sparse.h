/**
 * @file mcc_sparse.h
 * @brief Sparse int8 kernels (CONV_2D, FULLY_CONNECTED) and their compressed weight formats: N:M pair entries
 *        and unstructured step streams (below).
 *
 * Format ("pair entries"). The filter rows (K = KH * KW * C_in values per output channel, OHWI order) are
 * cut into groups of G consecutive values, the last one zero-padded:
 *   - 2:4 (G = 4): at most 2 non-zero weights in every group of 4; the pair (i, j), i < j, is one of 6
 *     combinations c: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3);
 *   - 1:4 (G = 8): at most 1 non-zero weight in each half of every group of 8; the pair is (i, 4 + j) with
 *     i, j in 0..3, c = 4 * i + j (16 combinations).
 * Each group is one *entry*: two int8 weights (w_lo for the pair's first value, w_hi for its second) and a
 * 4-bit combination c. A group with fewer non-zeros takes any combination covering them, the other weight 0.
 * An output channel's E = ceil(K / G) entries are stored as ceil(E / 2) records of 5 bytes:
 *   byte 0 = w_lo of entry 2r, byte 1 = w_lo of entry 2r+1, byte 2 = w_hi of entry 2r, byte 3 = w_hi of
 *   entry 2r+1, byte 4 = c(2r) | c(2r+1) << 4   (an odd E ends with a zero entry).
 * Bytes 0-3 are one word: SXTB16 gives entry 2r's (w_lo, w_hi) as int16 lanes and SXTB16 ROR 8 entry
 * 2r+1's. Flash per dense value: 2:4 5/8 byte (0.625x), 1:4 5/16 byte (0.3125x).
 *
 * Execution (DSP): for each block of four output pixels (conv) or each input row (FC) the kernel first
 * writes, per group, every combination's int16 pair (x_i + input_offset, x_j + input_offset) into the
 * scratch table (6 or 16 words per group and pixel); then every output channel costs one SMLAD per entry
 * and pixel, the table word found from c. The table is built once and used by all output channels.
 * 2:4 convolutions with stride_w 1, no dilation and C_in % 8 == 0 build it per input row instead (row tables:
 * segments of up to 12 output pixels, a ring of KH rows), so each input value is widened once per segment
 * rather than KH * KW times; the scratch then holds KH slots of C_in / 4 * 384 bytes and K / 8 pointers.
 * The portable C path computes the same int32 sums from an int16 column; both are bit-exact with the dense
 * kernels (zero weights add nothing).
 */
#ifndef MCC_SPARSE_H
#define MCC_SPARSE_H

#include "mcc_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A filter in the N:M pair-entry format. */
typedef struct {
    int32_t group;         /**< G: 4 (2:4) or 8 (1:4) */
    const int8_t *records; /**< [C_out][ceil(E / 2)][5] bytes, E = ceil(K / G) */
} mcc_nm_filter;

/**
 * CONV_2D with an N:M filter: any filter size, stride, dilation and padding (as mcc_convolve_s8).
 * @param ctx         scratch of mcc_convolve_nm_s8_get_buffer_size() bytes, 4-byte aligned (required)
 * @param filter_dims [C_out, KH, KW, C_in] of the dense filter
 * @param filter      the filter's records
 * Other parameters and ranges as mcc_convolve_s8.
 */
mcc_status mcc_convolve_nm_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                              const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                              const mcc_nm_filter *filter, const int32_t *bias, const mcc_dims *out_dims,
                              int8_t *out);

/** mcc_residual_bands_s8 (mcc_nn.h) where b->sparse1 / b->sparse2 make that convolution's filter an mcc_nm_filter
 *  run by mcc_convolve_nm_s8 (the other one's an int8 filter run by mcc_convolve_s8). */
mcc_status mcc_residual_bands_nm_s8(const mcc_context *ctx, const mcc_bands_params *b, const mcc_conv_params *p1,
                                    const mcc_per_channel_quant *q1, const mcc_dims *filter1_dims, const void *filter1,
                                    const int32_t *bias1, const mcc_conv_params *p2, const mcc_per_channel_quant *q2,
                                    const mcc_dims *filter2_dims, const void *filter2, const int32_t *bias2,
                                    const mcc_add_params *pa, const mcc_dims *dims, int8_t *x);
int32_t mcc_convolve_nm_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims, int32_t group);

/**
 * FULLY_CONNECTED with an N:M filter; filter_offset must be 0 (symmetric weights).
 * @param ctx scratch of mcc_fully_connected_nm_s8_get_buffer_size() bytes, 4-byte aligned (required)
 * Other parameters as mcc_fully_connected_s8.
 */
mcc_status mcc_fully_connected_nm_s8(const mcc_context *ctx, const mcc_fc_params *p, const mcc_per_channel_quant *q,
                                     const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                     const mcc_nm_filter *filter, const int32_t *bias, const mcc_dims *out_dims,
                                     int8_t *out);
int32_t mcc_fully_connected_nm_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims,
                                                  int32_t group);

/*
 * Unstructured sparse format ("step stream", firmware/kernels/sparse/mcc_unstructured_s8.c). The kernels
 * first write the input values they need as int16 (input offset added) into a column buffer with
 * `stride` bytes per filter index k: 8 for four output pixels (or FC batch rows) interleaved at k, 2 for a
 * single FC row. Per output channel the stream holds an int32 count Q, then Q quads of 8 bytes: four
 * int8 weights, then four uint8 byte steps. Walking a channel, a position starts at 0 (the column of
 * k = 0) and each entry first advances it by its step, then adds weight x column[position]; so the first
 * step is k_0 * stride and later ones (k_i - k_{i-1}) * stride. A gap longer than floor(255 / stride)
 * indices is bridged by entries of weight 0, and the last quad of a channel is padded with entries of
 * weight 0 and step 0. Bytes: 4 per output channel + 2 per entry (4-byte aligned).
 */

/** A filter in the unstructured step-stream format. */
typedef struct {
    int32_t stride;       /**< bytes per filter index in the column buffer: 8 (four pixels / rows) or 2 (one row) */
    const int8_t *stream; /**< per output channel: int32 Q, then Q x (4 int8 weights, 4 uint8 steps); 4-byte aligned */
} mcc_us_filter;

/**
 * CONV_2D with an unstructured sparse filter (stride 8): any filter size, stride, dilation and padding.
 * @param ctx         scratch of mcc_convolve_us_s8_get_buffer_size() bytes, 4-byte aligned (required)
 * @param filter_dims [C_out, KH, KW, C_in] of the dense filter
 * Other parameters and ranges as mcc_convolve_s8.
 */
mcc_status mcc_convolve_us_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                              const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                              const mcc_us_filter *filter, const int32_t *bias, const mcc_dims *out_dims,
                              int8_t *out);
int32_t mcc_convolve_us_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims);

/**
 * FULLY_CONNECTED with an unstructured sparse filter: stride 2 for one batch row, 8 for several (four rows
 * interleaved); filter_offset must be 0 (symmetric weights).
 * @param ctx scratch of mcc_fully_connected_us_s8_get_buffer_size() bytes, 4-byte aligned (required)
 * Other parameters as mcc_fully_connected_s8.
 */
mcc_status mcc_fully_connected_us_s8(const mcc_context *ctx, const mcc_fc_params *p, const mcc_per_channel_quant *q,
                                     const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                     const mcc_us_filter *filter, const int32_t *bias, const mcc_dims *out_dims,
                                     int8_t *out);
int32_t mcc_fully_connected_us_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims);

/*
 * Packed step streams (mcc_convolve_us_packed_s8, firmware/kernels/sparse/mcc_unstructured_s8.c): the step
 * stream above (stride 8) with 4-bit index gaps, 1.5 bytes per entry instead of 2, read by the kernel as it is.
 * Per output channel an int32 count Q of quads, then its quads two by two: a gap word whose byte j holds the
 * index gap of entry j of the first quad in bits 0-3 and of the second quad in bits 4-7, then the first
 * quad's four int8 weights (one word), then the second's; an odd last quad is its gap word (bits 0-3) and its
 * weights. Gaps longer than 15 indices are bridged by entries of weight 0, as the byte steps bridge theirs.
 * Bytes: 4 per output channel + 12 per two quads (+ 8 for an odd last one).
 */

/**
 * CONV_2D with an unstructured sparse filter in the packed layout (filter->stride 8, filter->stream packed);
 * scratch, parameters and ranges as mcc_convolve_us_s8.
 */
mcc_status mcc_convolve_us_packed_s8(const mcc_context *ctx, const mcc_conv_params *p,
                                     const mcc_per_channel_quant *q, const mcc_dims *in_dims, const int8_t *in,
                                     const mcc_dims *filter_dims, const mcc_us_filter *filter, const int32_t *bias,
                                     const mcc_dims *out_dims, int8_t *out);

/*
 * Packed (bitmask) filters: a filter kept in flash as a bit per byte plus its non-zero bytes, unpacked into
 * RAM (the layer's scratch) right before the dense kernel runs on it. It trades a few instructions per weight
 * and the filter's size in scratch for flash: 1/8 byte per weight + 1 per non-zero, smaller than the dense
 * filter from 12.5% zeros on, where the step stream (2 bytes per non-zero) pays only above ~51%.
 *
 * The bytes are those of the filter as the dense kernel reads it (OHWI, or the dual-row layout of
 * mcc_matmul.h), except that in the dual-row part of each channel pair (the first `dual_bytes` of every
 * `pair_stride` bytes, `pairs` pairs) a half-word 256 * wB + wA is kept as the bytes (wA, wB): a zero weight
 * stays a zero byte. Unpacking rebuilds the half-word (wB minus one where wA < 0).
 */

/** A filter packed as a bitmask plus its non-zero bytes. */
typedef struct {
    const uint32_t *masks; /**< bit i of word j set: byte 32 * j + i is non-zero */
    const int8_t *values;  /**< the non-zero bytes in order, then 4 bytes of padding (each nibble reads a word) */
    int32_t words;         /**< mask words; the unpacked filter is 32 * words bytes */
    int32_t pairs;         /**< dual-row channel pairs (0: plain bytes) */
    int32_t pair_stride;   /**< bytes per pair */
    int32_t dual_bytes;    /**< bytes of each pair in half-words 256 * wB + wA (2 * K rounded down to 8) */
} mcc_packed_filter;

/**
 * Unpack a packed filter into `dst` (32 * words bytes, 4-byte aligned), exactly the dense kernel's filter bytes.
 */
void mcc_unpack_filter_s8(const mcc_packed_filter *f, int8_t *dst);

/** Most parts a packed convolution filter is unpacked in (mcc_packed_parts). */
#define MCC_PACKED_PARTS_MAX 4

/**
 * A CONV_2D filter packed in `count` parts of C_out / count output channels each (an even number with dual rows),
 * unpacked one at a time: the layer's scratch holds one part, not the whole filter.
 */
typedef struct {
    mcc_packed_filter part[MCC_PACKED_PARTS_MAX]; /**< the first `count` are used, in output-channel order */
    int32_t count;                                 /**< 2 .. MCC_PACKED_PARTS_MAX */
    int32_t offset; /**< bytes from ctx->buf to the unpacked part: the dense kernel's scratch comes first */
} mcc_packed_parts;

/**
 * CONV_2D (mcc_convolve_s8's arguments) whose filter is packed in parts: each part is unpacked into the scratch
 * after the dense kernel's own (ctx->buf + f->offset, 4-byte aligned) and its output channels computed by
 * mcc_convolve_s8_channels. Every part repeats the im2col of the whole input (the price of the smaller buffer).
 */
mcc_status mcc_convolve_packed_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                  const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                  const mcc_packed_parts *filter, const int32_t *bias, const mcc_dims *out_dims,
                                  int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* MCC_SPARSE_H */
