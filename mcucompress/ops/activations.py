"""Registry entries of the activations: LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH, SOFTMAX, ABS, PRELU,
ELU, RSQRT, L2_NORMALIZATION, LOG_SOFTMAX, GELU (int8: a table, as LiteRT; TFLM has no GELU), the internal LOOKUP
(a folded float island, passes/float_island.py), and the float32-only
SQRT, EXP, NEG, LOG. L2_NORMALIZATION and LOG_SOFTMAX
normalise over the channels (fixed int8 output ranges, like SOFTMAX).

The element-wise ones run in place. LOGISTIC, TANH and SOFTMAX have TFLite's fixed int8 output ranges;
RELU6 clamps without rescaling in TFLM, so it shares its input's quantization. SOFTMAX normalises over
the channels, so pruning may not remove channels across it. PRELU's alpha is a constant operand that
broadcasts against the input (per channel, usually), sliced with the channels when pruning removes some.
"""

from mcucompress.codegen import lower_int16
from mcucompress.codegen.lower import Lowering
from mcucompress.ir import constraints as c
from mcucompress.ir import ops as attrs
from mcucompress.ir.registry import CHANNELS_BLOCK, CHANNELS_PASSTHROUGH, CHANNELS_TIED, OpSpec
from mcucompress.reference import activations as act
from mcucompress.reference import executor as ref
from mcucompress.reference import gelu as gelu_ref
from mcucompress.reference import lookup as lookup_ref
from mcucompress.reference import math_ops, misc_ops

_UNARY = {"channels": CHANNELS_PASSTHROUGH, "lowering": Lowering._lower_unary, "in_place": True}

SPECS = (
    OpSpec("LOGISTIC", attrs.NoAttrs, act.sigmoid_tanh, tflite_names=("LOGISTIC",), check=c.check_logistic,
           fixed_output=(1 / 256, -128), c_functions=("mcc_logistic_s8",), **_UNARY,
           int16_lowering=lower_int16.sigmoid_tanh),
    OpSpec("TANH", attrs.NoAttrs, act.sigmoid_tanh, tflite_names=("TANH",), check=c.check_tanh,
           fixed_output=(1 / 128, 0), c_functions=("mcc_tanh_s8",), **_UNARY, int16_lowering=lower_int16.sigmoid_tanh),
    OpSpec("RELU", attrs.NoAttrs, act.relu, tflite_names=("RELU",), c_functions=("mcc_requantize_s8",), **_UNARY),
    OpSpec("RELU6", attrs.NoAttrs, act.relu6, tflite_names=("RELU6",), check=c.check_relu6, shares_quant=True,
           c_functions=("mcc_relu6_s8",), **_UNARY),
    OpSpec("LEAKY_RELU", attrs.LeakyReluAttrs, act.leaky_relu, tflite_names=("LEAKY_RELU",),
           c_functions=("mcc_leaky_relu_s8",), **_UNARY),
    OpSpec("HARD_SWISH", attrs.NoAttrs, act.hard_swish, tflite_names=("HARD_SWISH",), check=c.check_hard_swish,
           c_functions=("mcc_hard_swish_s8",), **_UNARY),
    OpSpec("SOFTMAX", attrs.SoftmaxAttrs, ref.softmax_op, CHANNELS_BLOCK, ("SOFTMAX",), check=c.check_softmax,
           fixed_output=(1 / 256, -128), lowering=Lowering._lower_softmax, c_functions=("mcc_softmax_s8",),
           int16_lowering=lower_int16.softmax),
    OpSpec("ABS", attrs.NoAttrs, math_ops.abs_op, tflite_names=("ABS",), c_functions=("mcc_abs_s8",), **_UNARY),
    OpSpec("ELU", attrs.NoAttrs, math_ops.elu, tflite_names=("ELU",), c_functions=("mcc_lookup_s8",),
           **{**_UNARY, "lowering": Lowering._lower_lookup}),
    OpSpec("RSQRT", attrs.NoAttrs, math_ops.rsqrt, tflite_names=("RSQRT",), check=c.check_rsqrt,
           c_functions=("mcc_lookup_s8",), **{**_UNARY, "lowering": Lowering._lower_lookup}),
    OpSpec("L2_NORMALIZATION", attrs.NoAttrs, math_ops.l2_normalization, CHANNELS_BLOCK, ("L2_NORMALIZATION",),
           check=c.check_l2_normalization, fixed_output=(1 / 128, 0), lowering=Lowering._lower_l2_normalization,
           c_functions=("mcc_l2_normalization_s8",), in_place=True),
    OpSpec("LOG_SOFTMAX", attrs.NoAttrs, math_ops.log_softmax, CHANNELS_BLOCK, ("LOG_SOFTMAX",),
           check=c.check_log_softmax, fixed_output=(16 / 256, 127), lowering=Lowering._lower_log_softmax,
           c_functions=("mcc_log_softmax_s8",), in_place=True),
    # float32 only: TFLM has no int8 kernel, so no C kernel either (the check rejects int8)
    OpSpec("SQRT", attrs.NoAttrs, math_ops.sqrt, CHANNELS_PASSTHROUGH, ("SQRT",), check=c.check_float_only),
    OpSpec("EXP", attrs.NoAttrs, math_ops.exp, CHANNELS_PASSTHROUGH, ("EXP",), check=c.check_float_only),
    OpSpec("NEG", attrs.NoAttrs, math_ops.neg, CHANNELS_PASSTHROUGH, ("NEG",), check=c.check_float_only),
    OpSpec("LOG", attrs.NoAttrs, misc_ops.log, CHANNELS_PASSTHROUGH, ("LOG",), check=c.check_float_only),
    # PRELU's one activation input shares channels with its output; pruning slices a per-channel alpha with them.
    OpSpec("PRELU", attrs.NoAttrs, math_ops.prelu, CHANNELS_TIED, ("PRELU",), check=c.check_prelu,
           lowering=Lowering._lower_prelu, c_functions=("mcc_prelu_s8",), in_place=True),
    # int8 through a 256-entry table (LiteRT's arithmetic; TFLM has no GELU kernel)
    OpSpec("GELU", attrs.GeluAttrs, gelu_ref.gelu, CHANNELS_PASSTHROUGH, ("GELU",), check=c.check_gelu,
           lowering=Lowering._lower_lookup, c_functions=("mcc_lookup_s8",), in_place=True),
    # internal (passes/float_island.py): a float32 island of element-wise ops folded into its int8 table
    OpSpec("LOOKUP", attrs.LookupAttrs, lookup_ref.lookup, CHANNELS_PASSTHROUGH, check=c.check_lookup,
           lowering=Lowering._lower_lookup, c_functions=("mcc_lookup_s8",), in_place=True),
)
