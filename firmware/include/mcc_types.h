/**
 * @file mcc_types.h
 * @brief Types shared by the mcucompress int8 kernels and the generated model code.
 *
 * Conventions (as CMSIS-NN): tensors are NHWC int8; *offset* fields are negated zero points of
 * inputs and plain zero points of outputs; the caller owns all memory (no malloc anywhere).
 */
#ifndef MCC_TYPES_H
#define MCC_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Return code of every kernel. */
typedef enum {
    MCC_OK = 0,          /**< success */
    MCC_ARG_ERROR = -1,  /**< an argument is out of its documented range */
    MCC_NO_BUFFER = -2,  /**< the scratch buffer in the context is missing or too small */
    MCC_BOUNDS_ERROR = -3, /**< a debug build's (compile --checks) bounds assertion failed: nothing was written */
    MCC_NOT_BUILT = -4     /**< the call needs a kernel path this build left out (mcc_variants.h) */
} mcc_status;

/** Scratch memory handed to a kernel; size in bytes from the kernel's *_get_buffer_size(). */
typedef struct {
    void *buf;
    int32_t size;
} mcc_context;

/** Tensor dimensions in NHWC order; unused dimensions are 1. */
typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} mcc_dims;

/** Per-output-channel requantization: real scale = multiplier * 2^(shift - 31). */
typedef struct {
    const int32_t *multiplier; /**< [out_channels], in [2^30, 2^31) or 0 */
    const int32_t *shift;      /**< [out_channels], in [-31, 30], positive = left shift */
} mcc_per_channel_quant;

/** Single requantization multiplier. */
typedef struct {
    int32_t multiplier; /**< in [2^30, 2^31) or 0 */
    int32_t shift;      /**< in [-31, 30], positive = left shift */
} mcc_quant;

/** CONV_2D and DEPTHWISE_CONV_2D parameters. */
typedef struct {
    int32_t input_offset;     /**< -input zero point, in [-127, 128] */
    int32_t output_offset;    /**< output zero point, in [-128, 127] */
    int32_t stride_h, stride_w;       /**< >= 1 */
    int32_t pad_h, pad_w;             /**< padding before the first row / column, >= 0 */
    int32_t dilation_h, dilation_w;   /**< >= 1 */
    int32_t depth_multiplier;         /**< depthwise only: output channels per input channel, >= 1 */
    int32_t act_min, act_max;         /**< output clamp, -128 <= act_min <= act_max <= 127 */
    int32_t dual_rows;                /**< CONV_2D with scratch: 1 when the filter is in the dual-row layout of
                                           mcc_matmul.h (two output channels per int16), 2 for the same over
                                           rows padded with zeros to a multiple of 4 values (mcc_convolve_s8 with
                                           C_in % 4 != 0: its columns are padded alike, no tail), 0 for OHWI */
    int32_t small_acc;                /**< CONV_2D: 1 when every accumulator (bias included) is below 2^30 in
                                           magnitude (the code generator's bound): the SMMLAR requantization */
} mcc_conv_params;

/** FULLY_CONNECTED parameters (per-tensor or per-channel requantization via mcc_per_channel_quant). */
typedef struct {
    int32_t input_offset;   /**< -input zero point */
    int32_t filter_offset;  /**< -filter zero point (0 for symmetric weights) */
    int32_t output_offset;  /**< output zero point */
    int32_t per_channel;    /**< 1: quant arrays have one entry per output, 0: one entry for all */
    int32_t act_min, act_max;
    int32_t dual_rows;      /**< 1 when the filter is in the dual-row layout of mcc_matmul.h (needs the scratch
                                 and filter_offset 0), 3 for the same with the pairs of each whole block of three
                                 interleaved (the lean loop: a bias, one foldable fast requantization, the full
                                 clamp range, and the code generator's bounds: every accumulator below 2^30 and
                                 every B sum plus its bias below 2^23 in magnitude), 0 for [output depth, input
                                 depth] */
} mcc_fc_params;

/** AVERAGE_POOL_2D and MAX_POOL_2D parameters. */
typedef struct {
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;
    int32_t act_min, act_max;
} mcc_pool_params;

/** ADD and SUB: both inputs are scaled to a common scale with `left_shift` bits of headroom. */
typedef struct {
    int32_t left_shift;
    int32_t input1_offset, input1_multiplier, input1_shift;
    int32_t input2_offset, input2_multiplier, input2_shift;
    int32_t output_offset, output_multiplier, output_shift;
    int32_t act_min, act_max;
} mcc_add_params;

/** MUL parameters. */
typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} mcc_mul_params;

/** PRELU parameters: offsets are negated zero points; _1 rescales x >= 0, _2 the product x * alpha. */
typedef struct {
    int32_t input_offset, alpha_offset, output_offset;
    int32_t output_multiplier_1, output_shift_1;
    int32_t output_multiplier_2, output_shift_2;
} mcc_prelu_params;

/** LOG_SOFTMAX parameters (beta 1): SOFTMAX's Q5.26 input scaling, and its reverse for the valid-range bound. */
typedef struct {
    int32_t input_multiplier, input_left_shift;
    int32_t reverse_scaling_divisor, reverse_scaling_shift; /**< shift <= 0: a right shift */
    int32_t diff_min;
} mcc_log_softmax_params;

/** SQUARED_DIFFERENCE parameters: inputs shifted left by left_shift (7) and rescaled to a common scale. */
typedef struct {
    int32_t left_shift;
    int32_t input1_offset, input1_multiplier, input1_shift;
    int32_t input2_offset, input2_multiplier, input2_shift;
    int32_t output_offset, output_multiplier, output_shift;
} mcc_squared_difference_params;

/** A residual block run in row bands (mcc_residual_bands_s8): out = ADD(x, conv2(conv1(x))) over x. */
typedef struct {
    int32_t band_rows;    /**< output rows per band, >= 1 */
    int32_t x_first;      /**< 1: x is the ADD's first input, 0: its second */
    int32_t ring_rows;    /**< rows of conv1's output the scratch holds: band_rows + KH2 - 1 */
    int32_t conv_scratch; /**< bytes of scratch either convolution takes (mcc_convolve_s8_get_buffer_size) */
    int32_t add_scratch;  /**< bytes of scratch the ADD takes (its rescale tables, or 0) */
    int32_t sparse1, sparse2; /**< mcc_residual_bands_nm_s8: 1 when that convolution's filter is an mcc_nm_filter */
} mcc_bands_params;

/** Broadcast shapes of a binary element-wise op: 4-D, each input dim equals the output dim or 1. */
typedef struct {
    mcc_dims in1, in2, out;
} mcc_broadcast_dims;

/** SOFTMAX parameters (TFLite's gemmlowp algorithm, 5 integer bits for the scaled difference). */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} mcc_softmax_params;

/*
 * Element-wise activations, requantization and MEAN. Field names are those of the parameter records
 * in mcucompress/fixedpoint/params.py; zero points are plain (not negated) here, as there.
 */

/** LOGISTIC and TANH: (x - zp) rescaled to FixedPoint<int32, 4>; |x - zp| >= input_range_radius saturates. */
typedef struct {
    int32_t input_zero_point;   /**< in [-128, 127] */
    int32_t input_range_radius; /**< >= 0 */
    int32_t input_multiplier;   /**< in [0, 2^31) */
    int32_t input_left_shift;   /**< in [0, 31] */
} mcc_logistic_params;

/** TANH uses the LOGISTIC parameters (same Prepare arithmetic in TFLM). */
typedef mcc_logistic_params mcc_tanh_params;

/** HARD_SWISH: TFLite's int16 fixed point. */
typedef struct {
    int32_t input_zero_point;                    /**< in [-128, 127] */
    int32_t output_zero_point;                   /**< in [-128, 127] */
    int32_t reluish_multiplier_fixedpoint_int16; /**< int16 multiplier */
    int32_t reluish_multiplier_exponent;         /**< in [-31, 31]: > 0 left shift, < 0 rounding right shift */
    int32_t output_multiplier_fixedpoint_int16;  /**< int16 multiplier */
    int32_t output_multiplier_exponent;          /**< in [-31, 0] */
} mcc_hard_swish_params;

/** LEAKY_RELU: x >= zp rescaled by the identity multiplier, x < zp by the alpha one (negative for alpha < 0). */
typedef struct {
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t output_multiplier_alpha; /**< any int32 value */
    int32_t output_shift_alpha;      /**< in [-31, 30] */
    int32_t output_multiplier_identity;
    int32_t output_shift_identity;
} mcc_leaky_relu_params;

/** One rescale from input to output quantization, then a clamp (QUANTIZE int8 -> int8, RELU). */
typedef struct {
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;         /**< in [0, 2^31) */
    int32_t shift;              /**< in [-31, 30] */
    int32_t act_min, act_max;   /**< clamp, intersected with [-128, 127] */
} mcc_requant_params;

/** RELU6: clamp of the raw input to [zero, six] (TFLM does not rescale). */
typedef struct {
    int32_t zero;
    int32_t six;
} mcc_relu6_params;

/** MEAN: output = zp_out + MultiplyByQuantizedMultiplier(sum - zp_in * num_elements) (1/n folded in). */
typedef struct {
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t num_elements; /**< values per output: product of the reduced dimensions */
    int32_t multiplier;
    int32_t shift;
} mcc_mean_params;

/** Comparisons of mcc_compare_s8 (the order of mcucompress.fixedpoint.params_compare.COMPARE_CODES). */
enum { MCC_CMP_EQUAL = 0, MCC_CMP_NOT_EQUAL, MCC_CMP_LESS, MCC_CMP_LESS_EQUAL, MCC_CMP_GREATER, MCC_CMP_GREATER_EQUAL };

/** int8 comparison parameters (TFLM's ComparisonWithScaling): per-input offset, multiplier < 1, shift <= 0. */
typedef struct {
    int32_t op; /**< MCC_CMP_* */
    int32_t left_shift;
    int32_t input1_offset, input1_multiplier, input1_shift;
    int32_t input2_offset, input2_multiplier, input2_shift;
} mcc_compare_params;

/** Broadcast shapes of SELECT_V2: 4-D, each input dim equals the output dim or 1. */
typedef struct {
    mcc_dims cond, x, y, out;
} mcc_select_dims;
/** UNIDIRECTIONAL_SEQUENCE_LSTM int8 (TFLM's integer LSTM). Gates in TFLite's order: input, forget, cell, output. */
typedef struct {
    int32_t batches, time_steps, input_size, units; /**< >= 1 */
    int32_t time_major;            /**< 1: input [time][batch][features]; 0: [batch][time][features] */
    int32_t input_offset;          /**< -input zero point, in [-127, 128] */
    int32_t hidden_offset;         /**< -hidden state zero point, in [-127, 128] */
    mcc_quant input_quant[4];      /**< input x input weights (+ bias) -> int16 Q3.12, per gate */
    mcc_quant recurrent_quant[4];  /**< hidden state x recurrent weights -> int16 Q3.12, per gate */
    mcc_quant forget_quant;        /**< forget gate (Q0.15) x cell state -> cell state */
    mcc_quant input_gate_quant;    /**< input gate x cell gate (Q0.15 each) -> cell state */
    mcc_quant output_quant;        /**< tanh(cell) x output gate (Q0.15 each) -> hidden state */
    int32_t output_zero_point;     /**< the hidden state's (= the output's), in [-128, 127] */
    int32_t cell_scale_power;      /**< cell state scale = 2^cell_scale_power, in [-15, 3] */
    int32_t cell_clip;             /**< |cell state| bound in cell units, in [0, 32767]; 0: no clip */
    const uint16_t *sigmoid_table; /**< TFLite's 256-entry sigmoid(i / 24), unsigned 0.16 (fixedpoint/sigmoid16.py) */
} mcc_lstm_params;

/** SVDF int8 (TFLM's integer SVDF). */
typedef struct {
    int32_t batches, input_size, filters, memory, rank; /**< >= 1; filters = units x rank */
    int32_t input_offset;          /**< -input zero point, in [-127, 128] */
    int32_t state_zero_point;      /**< 0 for an int16 state */
    int32_t output_zero_point;     /**< in [-128, 127] */
    mcc_quant feature_quant;       /**< input x feature weights -> state */
    mcc_quant time_quant;          /**< state x time weights (+ bias) -> output */
    int32_t state_bits;            /**< 16: int16 state and time weights; 8: int8 */
} mcc_svdf_params;
/** BATCH_MATMUL: out = zp_out + MultiplyByQuantizedMultiplier(sum (lhs + lhs_offset) * (rhs + rhs_offset)). */
typedef struct {
    int32_t lhs_offset;      /**< -lhs zero point, in [-127, 128] */
    int32_t rhs_offset;      /**< -rhs zero point, in [-127, 128] */
    int32_t output_offset;   /**< output zero point */
    int32_t multiplier;      /**< lhs scale x rhs scale / output scale as (multiplier, shift) */
    int32_t shift;
    int32_t rows, cols, depth; /**< M, N, K: each output matrix is M x N, summed over K */
    int32_t adj_x;           /**< 1: each lhs matrix is stored K x M (transposed) */
    int32_t adj_y;           /**< 1: each rhs matrix is stored N x K (transposed) */
    int32_t out_batch[3];    /**< output batch extents (left-padded with 1) */
    int32_t lhs_stride[3];   /**< elements between lhs matrices along each batch axis; 0 repeats (broadcast) */
    int32_t rhs_stride[3];
} mcc_batch_matmul_params;

/** DIV: out = zp_out + (in1 + offset1) / (in2 + offset2) in TFLite's fixed point (reciprocal, then requantize). */
typedef struct {
    int32_t input1_offset; /**< -zero point of the dividend */
    int32_t input2_offset; /**< -zero point of the divisor */
    int32_t output_offset; /**< output zero point */
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t act_min, act_max;
} mcc_div_params;
/** SPACE_TO_BATCH_ND: block and leading paddings of the two spatial axes (rank 3: block_w 1, pad_left 0). */
typedef struct {
    int32_t block_h, block_w;   /**< >= 1 */
    int32_t pad_top, pad_left;  /**< >= 0 */
    int32_t fill;               /**< the padding value: the output zero point, in [-128, 127] */
} mcc_space_to_batch_params;

/**
 * ADD_N and CUMSUM int8 (TFLM): each term (x - zp_in) << left_shift is scaled by the input multiplier, the sum
 * (which, as in TFLM, starts from the scaled -zp_in) by the output multiplier, plus zp_out, clamped.
 */
typedef struct {
    int32_t input_offset;       /**< -zp_in, in [-127, 128] */
    int32_t left_shift;         /**< 20 */
    int32_t input_multiplier;   /**< in [0, 2^31) */
    int32_t input_shift;        /**< in [-31, 0] */
    int32_t output_multiplier;  /**< in [0, 2^31) */
    int32_t output_shift;       /**< in [-31, 0] */
    int32_t output_offset;      /**< zp_out */
    int32_t act_min, act_max;
} mcc_accumulate_params;

#ifdef __cplusplus
}
#endif

#endif /* MCC_TYPES_H */
