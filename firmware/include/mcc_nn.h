/**
 * @file mcc_nn.h
 * @brief int8 kernel API of mcucompress (CMSIS-NN style; bit-exact with TFLite Micro's reference kernels).
 *
 * Every kernel is pure C99 and runs anywhere; faster paths for the Cortex-M DSP extension (SMLAD) or
 * MVE sit behind #if in the same files, with the pure-C path always present. Tensors are NHWC int8.
 * Kernels that need scratch memory have a *_get_buffer_size() companion; the caller plans that buffer
 * in its arena and passes it in the mcc_context. No kernel allocates memory.
 */
#ifndef MCC_NN_H
#define MCC_NN_H

#include "mcc_sparse.h"
#include "mcc_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * CONV_2D, generic: any filter size, stride, dilation and padding.
 * @param ctx        scratch of mcc_convolve_s8_get_buffer_size() bytes (2 * KH * KW * C_in int16, the count
 *                   rounded up to a multiple of 4, then 16 bytes
 *                   per output channel), 4-byte aligned; the first part alone is enough, requantization is
 *                   then slower
 * @param p          offsets, strides, padding, dilation, clamp (depth_multiplier unused)
 * @param q          per-output-channel multiplier/shift
 * @param in_dims    [N, H, W, C_in]
 * @param filter_dims [C_out, KH, KW, C_in]
 * @param bias       [C_out] int32, or NULL
 * @param out_dims   [N, OH, OW, C_out]
 */
mcc_status mcc_convolve_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                           const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                           const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out);
int32_t mcc_convolve_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims);

/**
 * mcc_convolve_s8 for a slice of a layer's output channels: filter, bias and q hold the slice's out_dims->c
 * channels, and output pixel i's values go to out + i * out_stride (out_stride >= out_dims->c: the whole layer's
 * channel count, `out` pointing at the slice's first channel). Packed filters unpacked a slice at a time
 * (mcc_convolve_packed_s8) run through it. Not on Helium targets unless out_stride = out_dims->c.
 */
mcc_status mcc_convolve_s8_channels(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                    const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                    const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out,
                                    int32_t out_stride);

/**
 * CONV_2D fast path for 1x1 filters with no padding and dilation 1 (any stride). Same arguments.
 * @param ctx scratch of mcc_convolve_1x1_s8_get_buffer_size() bytes (2 * C_in int16 and 16 bytes per output
 *            channel), 4-byte aligned; NULL or smaller takes a slower path that needs none
 */
mcc_status mcc_convolve_1x1_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                               const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                               const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out);
int32_t mcc_convolve_1x1_s8_get_buffer_size(const mcc_dims *in_dims, const mcc_dims *filter_dims);

/**
 * DEPTHWISE_CONV_2D: output channel c*M+m reads input channel c (M = p->depth_multiplier).
 * @param ctx         scratch of mcc_depthwise_conv_s8_get_buffer_size() bytes, 4-byte aligned: with depth
 *                    multiplier 1 the kernel keeps the input rows it reads there, widened to int16
 *                    ((KH - 1) * dilation_h + 2 rows of (pad_w + W + right padding) * 4 int16); NULL or a
 *                    smaller buffer takes a slower path that needs none
 * @param filter_dims [1, KH, KW, C_in*M]
 */
mcc_status mcc_depthwise_conv_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                 const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                 const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out);
int32_t mcc_depthwise_conv_s8_get_buffer_size(const mcc_conv_params *p, const mcc_dims *in_dims,
                                              const mcc_dims *filter_dims, const mcc_dims *out_dims);

/**
 * TRANSPOSE_CONV: output pixel (oy, ox) gathers input pixel (iy, ix) through tap (oy + pad_h - iy * stride_h,
 * ox + pad_w - ix * stride_w) of filter [C_out, KH, KW, C_in] (TFLM's scatter, gathered); dilation and
 * depth_multiplier of p unused.
 * @param ctx scratch of mcc_transpose_conv_s8_get_buffer_size() bytes (16 per output channel: the requantization
 *            table), 4-byte aligned; NULL or smaller takes a slower path that needs none
 */
mcc_status mcc_transpose_conv_s8(const mcc_context *ctx, const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                 const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                 const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out);
int32_t mcc_transpose_conv_s8_get_buffer_size(const mcc_dims *filter_dims);

/**
 * FULLY_CONNECTED: out[b][o] = requant(sum_i (in[b][i] + input_offset) * (filter[o][i] + filter_offset) + bias[o]).
 * @param in_dims     n = batches, c = input depth (h = w = 1)
 * @param filter_dims n = output depth, c = input depth
 * @param out_dims    n = batches, c = output depth
 * @param ctx         scratch of mcc_fully_connected_s8_get_buffer_size() bytes (the input depth rounded up to
 *                    4, as int16), 4-byte aligned; NULL or smaller takes a slower path that needs none
 */
mcc_status mcc_fully_connected_s8(const mcc_context *ctx, const mcc_fc_params *p, const mcc_per_channel_quant *q,
                                  const mcc_dims *in_dims, const int8_t *in, const mcc_dims *filter_dims,
                                  const int8_t *filter, const int32_t *bias, const mcc_dims *out_dims, int8_t *out);
int32_t mcc_fully_connected_s8_get_buffer_size(const mcc_dims *in_dims);

/** AVERAGE_POOL_2D: windows are clipped to the input; padded taps are not counted. */
mcc_status mcc_avgpool_s8(const mcc_pool_params *p, const mcc_dims *in_dims, const int8_t *in,
                          const mcc_dims *out_dims, int8_t *out);

/** MAX_POOL_2D. */
mcc_status mcc_maxpool_s8(const mcc_pool_params *p, const mcc_dims *in_dims, const int8_t *in,
                          const mcc_dims *out_dims, int8_t *out);

/**
 * A residual block, out = ADD(x, conv2(conv1(x))) written over x, in bands of output rows: conv2's output of one
 * band and conv1's rows that band reads are in the scratch, never either whole tensor. Both convolutions are
 * mcc_convolve_s8 calls (stride 1, dilation 1, output rows = input rows, conv2's bottom padding >= conv1's top
 * padding, so a band's ADD never writes over x rows a later band's conv1 reads); the results are theirs and the
 * ADD's, bit for bit.
 * @param ctx scratch: ring_rows + band_rows rows of W * C bytes, then conv_scratch and add_scratch bytes
 * @param b   the band geometry; p1..bias1 and p2..bias2: the convolutions' arguments; pa: the ADD's
 * @param dims x's shape (= conv1's, conv2's and the ADD's outputs), batch 1
 * @param x   the block input, replaced by its output
 * @return MCC_OK, MCC_NO_BUFFER, or a status of the convolutions or the ADD
 */
mcc_status mcc_residual_bands_s8(const mcc_context *ctx, const mcc_bands_params *b, const mcc_conv_params *p1,
                                 const mcc_per_channel_quant *q1, const mcc_dims *filter1_dims, const int8_t *filter1,
                                 const int32_t *bias1, const mcc_conv_params *p2, const mcc_per_channel_quant *q2,
                                 const mcc_dims *filter2_dims, const int8_t *filter2, const int32_t *bias2,
                                 const mcc_add_params *pa, const mcc_dims *dims, int8_t *x);
/** ADD with 4-D broadcasting (each input dim equals the output dim or 1). In place (out == in1) is allowed.
 *  ctx: a scratch of 2 KB (two rescale tables) speeds up large layers; buf NULL runs without. */
mcc_status mcc_add_s8(const mcc_context *ctx, const mcc_add_params *p, const mcc_broadcast_dims *d,
                      const int8_t *in1, const int8_t *in2, int8_t *out);

/** mcc_add_s8 over a ctx whose rescale tables a previous mcc_add_s8 call with the same p and ctx filled (the row
 *  bands of mcc_residual_bands_s8): the same results without filling them again. */
mcc_status mcc_add_s8_filled(const mcc_context *ctx, const mcc_add_params *p, const mcc_broadcast_dims *d,
                             const int8_t *in1, const int8_t *in2, int8_t *out);

/** SUB, as mcc_add_s8 with in1 - in2. */
mcc_status mcc_sub_s8(const mcc_context *ctx, const mcc_add_params *p, const mcc_broadcast_dims *d,
                      const int8_t *in1, const int8_t *in2, int8_t *out);

/** MUL with 4-D broadcasting. In place allowed. */
mcc_status mcc_mul_s8(const mcc_mul_params *p, const mcc_broadcast_dims *d, const int8_t *in1, const int8_t *in2,
                      int8_t *out);

/** MAXIMUM with 4-D broadcasting; inputs quantized like the output (raw int8 compare). In place allowed. */
mcc_status mcc_maximum_s8(const mcc_broadcast_dims *d, const int8_t *in1, const int8_t *in2, int8_t *out);

/** MINIMUM, as mcc_maximum_s8 with the smaller value. */
mcc_status mcc_minimum_s8(const mcc_broadcast_dims *d, const int8_t *in1, const int8_t *in2, int8_t *out);

/** SQUARED_DIFFERENCE: (in1 - in2)^2 with 4-D broadcasting. In place allowed. */
mcc_status mcc_squared_difference_s8(const mcc_squared_difference_params *p, const mcc_broadcast_dims *d,
                                     const int8_t *in1, const int8_t *in2, int8_t *out);

/** PRELU: x >= zp ? x rescaled : x * alpha rescaled; alpha broadcasts against in (4-D). In place allowed. */
mcc_status mcc_prelu_s8(const mcc_prelu_params *p, const mcc_broadcast_dims *d, const int8_t *in, const int8_t *alpha,
                        int8_t *out);

/** SOFTMAX over the last axis: `rows` vectors of `depth` values; output scale 1/256, zero point -128. */
mcc_status mcc_softmax_s8(const mcc_softmax_params *p, int32_t rows, int32_t depth, const int8_t *in, int8_t *out);

/**
 * L2_NORMALIZATION over the last axis: `rows` vectors of `depth` values; output scale 1/128, zero point 0.
 * @param input_zero_point in [-128, 127]
 */
mcc_status mcc_l2_normalization_s8(int32_t input_zero_point, int32_t rows, int32_t depth, const int8_t *in,
                                   int8_t *out);

/** LOG_SOFTMAX over the last axis: `rows` vectors of `depth` values; output scale 16/256, zero point 127. */
mcc_status mcc_log_softmax_s8(const mcc_log_softmax_params *p, int32_t rows, int32_t depth, const int8_t *in,
                              int8_t *out);

/** PAD a 4-D tensor with `pad_value` (the zero point); before/after are 4 counts each, NHWC order. */
mcc_status mcc_pad_s8(const mcc_dims *in_dims, const int8_t *in, const int32_t *before, const int32_t *after,
                      int8_t pad_value, const mcc_dims *out_dims, int8_t *out);

/**
 * CONCATENATION along one axis: the tensors are seen as [outer, axis, inner]; input k contributes
 * axis_sizes[k] * inner values per outer step. Values are clamped to [act_min, act_max].
 */
mcc_status mcc_concat_s8(int32_t num_inputs, const int8_t *const *inputs, const int32_t *axis_sizes,
                         int32_t outer, int32_t inner, int32_t act_min, int32_t act_max, int8_t *out);

#define MCC_INDEX_MAX_RANK 6

/**
 * One output of a data-movement op as per-axis input offsets: output element (i0, .., i[rank-1]), in row-major
 * order, is input element offsets[i0] + offsets[dims[0] + i1] + ... (table k starts after the dims of the
 * axes before it; sum(dims) entries). contiguous != 0: table rank-1 is t, t+1, t+2, ... (rows are copied).
 */
typedef struct {
    int32_t rank;                      /**< 1 .. MCC_INDEX_MAX_RANK */
    int32_t dims[MCC_INDEX_MAX_RANK];  /**< output dimensions, each >= 1 */
    const int32_t *offsets;            /**< per-axis tables, every sum within the input */
    int32_t contiguous;                /**< the last axis reads consecutive input bytes */
} mcc_index_map;

/**
 * Data movement (TRANSPOSE, SLICE, STRIDED_SLICE, SPLIT, UNPACK, SPACE_TO_DEPTH, DEPTH_TO_SPACE, MIRROR_PAD,
 * REVERSE_V2, BROADCAST_TO, GATHER): writes output n (1 <= num_outputs) from `in` by maps[n]. No arithmetic,
 * any quantization; outputs must not overlap the input. MCC_ARG_ERROR on a NULL pointer or a bad map.
 */
mcc_status mcc_index_copy_s8(int32_t num_outputs, const mcc_index_map *const *maps, const int8_t *in,
                             int8_t *const *outs);

/**
 * RESIZE_BILINEAR int8 (TFLite's integer interpolation), NHWC, any batch. rows: 3 entries per output row (offset
 * in elements of the first and second source rows within one image, weight of the second in 1/1024, in
 * [-512, 1024)); cols: 3 per output column (offsets of the source columns, x * depth, and the weight). Input and
 * output share one quantization and must not overlap. MCC_ARG_ERROR on a NULL pointer or mismatched dims.
 */
mcc_status mcc_resize_bilinear_s8(const mcc_dims *in_dims, const int8_t *in, const int32_t *rows,
                                  const int32_t *cols, const mcc_dims *out_dims, int8_t *out);

/**
 * RESIZE_NEAREST_NEIGHBOR int8, NHWC, any batch: output row y copies source row offset rows[y] (elements, within
 * one image: input row * width * depth), output column x source column offset cols[x] (input column * depth).
 * Any quantization (shared by input and output); input and output must not overlap. MCC_ARG_ERROR on a NULL
 * pointer or mismatched dims.
 */
mcc_status mcc_resize_nearest_s8(const mcc_dims *in_dims, const int8_t *in, const int32_t *rows,
                                 const int32_t *cols, const mcc_dims *out_dims, int8_t *out);

/** Copy `size` bytes (a RESHAPE between two caller-owned buffers). */
mcc_status mcc_copy_s8(const int8_t *in, int8_t *out, int32_t size);

/*
 * Element-wise int8 activations: `size` values; out may alias in. Kernels whose per-value arithmetic is
 * long build a 256-entry table on the stack (256 bytes) when size exceeds a few hundred values.
 */

/** LOGISTIC: output scale 1/256, zero point -128 (gemmlowp logistic on a Q4.27 input). */
mcc_status mcc_logistic_s8(const mcc_logistic_params *p, int32_t size, const int8_t *in, int8_t *out);

/** TANH: output scale 1/128, zero point 0 (gemmlowp tanh on a Q4.27 input). */
mcc_status mcc_tanh_s8(const mcc_tanh_params *p, int32_t size, const int8_t *in, int8_t *out);

/** HARD_SWISH: x * relu6(x + 3) / 6 in TFLite's int16 fixed point. */
mcc_status mcc_hard_swish_s8(const mcc_hard_swish_params *p, int32_t size, const int8_t *in, int8_t *out);

/** LEAKY_RELU. */
mcc_status mcc_leaky_relu_s8(const mcc_leaky_relu_params *p, int32_t size, const int8_t *in, int8_t *out);

/** QUANTIZE int8 -> int8 and RELU: rescale from the input to the output quantization, then clamp. */
mcc_status mcc_requantize_s8(const mcc_requant_params *p, int32_t size, const int8_t *in, int8_t *out);

/** ABS: |x - zp_in| rescaled to the output quantization (act_min/act_max of p unused: -128..127). */
mcc_status mcc_abs_s8(const mcc_requant_params *p, int32_t size, const int8_t *in, int8_t *out);

/** ELU, RSQRT: out[i] = table[in[i] + 128], a 256-entry table of the op's TFLM arithmetic made at compile time. */
mcc_status mcc_lookup_s8(const int8_t *table, int32_t size, const int8_t *in, int8_t *out);

/** RELU6 (same quantization in and out): clamp to [zero, six]. */
mcc_status mcc_relu6_s8(const mcc_relu6_params *p, int32_t size, const int8_t *in, int8_t *out);

/**
 * MEAN over any set of axes of a 4-D NHWC tensor.
 * @param axis_mask reduced axes: bit 0 = N, bit 1 = H, bit 2 = W, bit 3 = C
 * @param out       the kept dimensions in row-major order (keep_dims only changes the shape)
 */
mcc_status mcc_mean_s8(const mcc_mean_params *p, const mcc_dims *in_dims, int32_t axis_mask, const int8_t *in,
                       int8_t *out);

/**
 * REDUCE_MAX over any set of axes of a 4-D NHWC tensor; input and output share one quantization.
 * @param axis_mask reduced axes: bit 0 = N, bit 1 = H, bit 2 = W, bit 3 = C
 * @param out       the kept dimensions in row-major order (keep_dims only changes the shape)
 */
mcc_status mcc_reduce_max_s8(const mcc_dims *in_dims, int32_t axis_mask, const int8_t *in, int8_t *out);

/** REDUCE_MIN, as mcc_reduce_max_s8 with the smallest value. */
mcc_status mcc_reduce_min_s8(const mcc_dims *in_dims, int32_t axis_mask, const int8_t *in, int8_t *out);

/** ARG_MAX of int8 values along the middle axis of [outer, axis_size, inner]: int32 indices, ties to the lowest. */
mcc_status mcc_arg_max_s8(int32_t outer, int32_t axis_size, int32_t inner, const int8_t *in, int32_t *out);

/** ARG_MIN, as mcc_arg_max_s8 with the smallest value. */
mcc_status mcc_arg_min_s8(int32_t outer, int32_t axis_size, int32_t inner, const int8_t *in, int32_t *out);

/** EQUAL ... GREATER_EQUAL (p->op) of two broadcast int8 tensors, each rescaled to a common scale; bool bytes out. */
mcc_status mcc_compare_s8(const mcc_compare_params *p, const mcc_broadcast_dims *d, const int8_t *in1,
                          const int8_t *in2, uint8_t *out);

/** SELECT_V2: out = cond ? x : y with 4-D broadcasting; x, y and out share one quantization. */
mcc_status mcc_select_s8(const mcc_select_dims *d, const uint8_t *cond, const int8_t *x, const int8_t *y,
                         int8_t *out);

/** FILL: `count` copies of one `elem_bytes`-byte value (1, 2 or 4). */
mcc_status mcc_fill(const void *value, int32_t elem_bytes, int32_t count, void *out);

/** ZEROS_LIKE: `bytes` zero bytes. */
mcc_status mcc_zeros(int32_t bytes, void *out);
/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM int8 (TFLM's integer LSTM), all time steps of all batch rows.
 * @param ctx               scratch of mcc_lstm_s8_get_buffer_size(p) bytes, 2-byte aligned
 * @param input_weights     [4][units][input_size] int8, gates input, forget, cell, output
 * @param recurrent_weights [4][units][units] int8, same gate order
 * @param bias              [4][units] int32
 * @param hidden_state      [batches][units] int8, read and updated (persists between invokes)
 * @param cell_state        [batches][units] int16, read and updated (persists between invokes)
 * @param output            [time][batch][units] or [batch][time][units] as p->time_major; may not overlap input
 */
mcc_status mcc_lstm_s8(const mcc_context *ctx, const mcc_lstm_params *p, const int8_t *input,
                       const int8_t *input_weights, const int8_t *recurrent_weights, const int32_t *bias,
                       int8_t *hidden_state, int16_t *cell_state, int8_t *output);

/** Scratch bytes mcc_lstm_s8 needs: three int16 gate rows, the step's input and hidden rows as int16. */
int32_t mcc_lstm_s8_get_buffer_size(const mcc_lstm_params *p);

/**
 * SVDF int8 (TFLM's integer SVDF, no fused activation).
 * @param time_weights [filters][memory], int16 (p->state_bits 16) or int8
 * @param bias         [filters / rank] int32
 * @param state        [batches][filters][memory] of the time weights' type, read and updated (persists)
 */
mcc_status mcc_svdf_s8(const mcc_svdf_params *p, const int8_t *input, const int8_t *feature_weights,
                       const void *time_weights, const int32_t *bias, void *state, int8_t *output);
/**
 * BATCH_MATMUL int8 (TFLM's reference batch_matmul.h, per-tensor quantization): for every output batch, the
 * lhs matrix times the rhs matrix, both as stored or transposed (adj_x, adj_y), batch axes broadcast.
 * @param ctx scratch of mcc_batch_matmul_s8_get_buffer_size() bytes, 4-byte aligned
 * @param out [out_batch..., rows, cols]
 */
mcc_status mcc_batch_matmul_s8(const mcc_context *ctx, const mcc_batch_matmul_params *p, const int8_t *lhs,
                               const int8_t *rhs, int8_t *out);

/** Scratch of mcc_batch_matmul_s8: the transposed operands (int8) and one widened lhs row (int16). */
int32_t mcc_batch_matmul_s8_get_buffer_size(const mcc_batch_matmul_params *p);

/** DIV int8 with 4-D broadcasting (TFLM's reference div.h); out may alias an input of the output's shape. */
mcc_status mcc_div_s8(const mcc_div_params *p, const mcc_broadcast_dims *d, const int8_t *in1, const int8_t *in2,
                      int8_t *out);
/**
 * SPACE_TO_BATCH_ND of NHWC int8 (rank 3 as NH1C): output batch (sh * block_w + sw) * N + n, position (oh, ow)
 * copies input (n, oh * block_h + sh - pad_top, ow * block_w + sw - pad_left) or, in the padding, p->fill.
 * out_dims->n must be N * block_h * block_w; out must not overlap in. MCC_ARG_ERROR on bad arguments.
 */
mcc_status mcc_space_to_batch_s8(const mcc_space_to_batch_params *p, const mcc_dims *in_dims, const int8_t *in,
                                 const mcc_dims *out_dims, int8_t *out);

/**
 * ADD_N: out[i] = requantized sum over the inputs of in[k][i] (TFLM's arithmetic, see mcc_accumulate_params);
 * every input shares one quantization. out may alias input 0.
 */
mcc_status mcc_add_n_s8(const mcc_accumulate_params *p, int32_t num_inputs, const int8_t *const *inputs,
                        int32_t size, int8_t *out);

/**
 * CUMSUM along the middle axis of [outer, depth, inner]: running sums (exclusive: without the element itself;
 * reverse: from the end), each requantized as ADD_N's. out may alias in.
 */
mcc_status mcc_cumsum_s8(const mcc_accumulate_params *p, int32_t outer, int32_t depth, int32_t inner,
                         int32_t exclusive, int32_t reverse, const int8_t *in, int8_t *out);

/* ---- 16x8: int16 activations (zero point 0), int8 weights; bit-exact with TFLM's int16 reference kernels ---- */

/** CONV_2D 16x8; bias int64 (acc32 = 0) or int32 widened to int64 (acc32 = 1: TFLM's 32-bit accumulator). */
mcc_status mcc_convolve_s16(const mcc_conv_params *p, const mcc_per_channel_quant *q, int32_t acc32,
                            const mcc_dims *in_dims, const int16_t *in, const mcc_dims *filter_dims,
                            const int8_t *filter, const int64_t *bias, const mcc_dims *out_dims, int16_t *out);

/** DEPTHWISE_CONV_2D 16x8; int64 bias. */
mcc_status mcc_depthwise_conv_s16(const mcc_conv_params *p, const mcc_per_channel_quant *q,
                                  const mcc_dims *in_dims, const int16_t *in, const mcc_dims *filter_dims,
                                  const int8_t *filter, const int64_t *bias, const mcc_dims *out_dims, int16_t *out);

/** FULLY_CONNECTED 16x8; bias as mcc_convolve_s16. */
mcc_status mcc_fully_connected_s16(const mcc_fc_params *p, const mcc_per_channel_quant *q, int32_t acc32,
                                   const mcc_dims *in_dims, const int16_t *in, const mcc_dims *filter_dims,
                                   const int8_t *filter, const int64_t *bias, const mcc_dims *out_dims, int16_t *out);

/** ADD int16 with 4-D broadcasting (left_shift 15). In place allowed. */
mcc_status mcc_add_s16(const mcc_add_params *p, const mcc_broadcast_dims *d, const int16_t *in1, const int16_t *in2,
                       int16_t *out);

/** MUL int16 with 4-D broadcasting. In place allowed. */
mcc_status mcc_mul_s16(const mcc_mul_params *p, const mcc_broadcast_dims *d, const int16_t *in1, const int16_t *in2,
                       int16_t *out);

/** MAX_POOL_2D int16. */
mcc_status mcc_maxpool_s16(const mcc_pool_params *p, const mcc_dims *in_dims, const int16_t *in,
                           const mcc_dims *out_dims, int16_t *out);

/** AVERAGE_POOL_2D int16. */
mcc_status mcc_avgpool_s16(const mcc_pool_params *p, const mcc_dims *in_dims, const int16_t *in,
                           const mcc_dims *out_dims, int16_t *out);

/** SOFTMAX int16 over the last axis with TFLite's exp and 1/(1+x) tables (513 entries each); out != in. */
mcc_status mcc_softmax_s16(const mcc_softmax_params *p, const int16_t *exp_lut, const int16_t *recip_lut,
                           int32_t rows, int32_t depth, const int16_t *in, int16_t *out);

/** LOGISTIC int16 (output scale 1/32768) with TFLite's 256-entry sigmoid table (0.16). In place allowed. */
mcc_status mcc_logistic_s16(const mcc_logistic_params *p, const uint16_t *table, int32_t size, const int16_t *in,
                            int16_t *out);

/** TANH int16 (output scale 1/32768) with the same table. In place allowed. */
mcc_status mcc_tanh_s16(const mcc_logistic_params *p, const uint16_t *table, int32_t size, const int16_t *in,
                        int16_t *out);

/** QUANTIZE int8 -> int16; in place allowed (out starting at in). */
mcc_status mcc_requantize_s8_s16(const mcc_requant_params *p, int32_t size, const int8_t *in, int16_t *out);

/** QUANTIZE int16 -> int8; in place allowed (out starting at in). */
mcc_status mcc_requantize_s16_s8(const mcc_requant_params *p, int32_t size, const int16_t *in, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* MCC_NN_H */
