"""Registry entries of the weighted ops: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV, and
BATCH_MATMUL.

Their weights (input 1) are quantized symmetrically per output channel along `weight_axis`, their bias
(input 2) is int32 at input scale x weight scale; their kernels need scratch (im2col, an int16 row, a requantization table).
CONV_2D and FULLY_CONNECTED with N:M sparse weights may run the sparse kernels (codegen/sparse.py).
"""

from mcucompress.codegen import lower_int16
from mcucompress.codegen.lower import (
    Lowering,
    batch_matmul_scratch,
    conv_scratch,
    conv_writes_over_input,
    depthwise_scratch,
    depthwise_writes_over_input,
    fully_connected_scratch,
    fully_connected_scratch_over_input,
    transpose_conv_scratch,
)
from mcucompress.codegen.conv_lag import conv_output_lag
from mcucompress.ir import constraints as c
from mcucompress.ir import ops as attrs
from mcucompress.ir.registry import CHANNELS_BLOCK, CHANNELS_DEPTHWISE, CHANNELS_PRODUCER, OpSpec
from mcucompress.reference import batch_matmul as bmm
from mcucompress.reference import executor as ref
from mcucompress.reference import transpose_conv

SPECS = (
    OpSpec("CONV_2D", attrs.Conv2DAttrs, ref.weighted, CHANNELS_PRODUCER, ("CONV_2D",), check=c.check_conv_2d,
           weight_axis=0, lowering=Lowering._lower_conv_2d, c_functions=("mcc_convolve_s8", "mcc_convolve_1x1_s8", "mcc_convolve_nm_s8"),
           scratch=conv_scratch, in_place=conv_writes_over_input, int16_lowering=lower_int16.conv,
           in_place_lag=conv_output_lag),
    OpSpec("DEPTHWISE_CONV_2D", attrs.DepthwiseConv2DAttrs, ref.weighted, CHANNELS_DEPTHWISE, ("DEPTHWISE_CONV_2D",),
           check=c.check_depthwise_conv_2d, weight_axis=3, lowering=Lowering._lower_depthwise_conv_2d,
           c_functions=("mcc_depthwise_conv_s8",), scratch=depthwise_scratch,
           in_place=depthwise_writes_over_input, int16_lowering=lower_int16.conv),
    OpSpec("FULLY_CONNECTED", attrs.FullyConnectedAttrs, ref.weighted, CHANNELS_PRODUCER, ("FULLY_CONNECTED",),
           check=c.check_fully_connected, weight_axis=0, lowering=Lowering._lower_fully_connected,
           c_functions=("mcc_fully_connected_s8", "mcc_fully_connected_nm_s8"), scratch=fully_connected_scratch,
           scratch_over_input=fully_connected_scratch_over_input, int16_lowering=lower_int16.fully_connected),
    # A product of two tensors (either may be an activation), quantized per tensor: the channels of its output
    # are the rhs columns, which no weight axis of a producer tracks, so pruning stops here.
    OpSpec("BATCH_MATMUL", attrs.BatchMatMulAttrs, bmm.batch_matmul, CHANNELS_BLOCK, ("BATCH_MATMUL",),
           check=c.check_batch_matmul, lowering=Lowering._lower_batch_matmul, c_functions=("mcc_batch_matmul_s8",),
           scratch=batch_matmul_scratch),
    # Weights laid out like CONV_2D's ([out, kh, kw, in], per-channel axis 0), but channel pruning's producer
    # rule does not fit: folding a removed input channel's mean into the bias is exact for a convolution (every
    # output sees every tap), not for a strided transpose convolution (border outputs see fewer taps), and the
    # pruner's importance and selection read conv patches. Channels are not removed across it until pruning
    # has its own rule.
    OpSpec("TRANSPOSE_CONV", attrs.TransposeConvAttrs, transpose_conv.transpose_conv, CHANNELS_BLOCK,
           ("TRANSPOSE_CONV",), check=c.check_transpose_conv, weight_axis=0,
           lowering=Lowering._lower_transpose_conv, c_functions=("mcc_transpose_conv_s8",),
           scratch=transpose_conv_scratch),
)

