"""Registry entries of the data-movement and conversion ops: RESHAPE, PAD, CONCATENATION, QUANTIZE, DEQUANTIZE.

RESHAPE, PAD and CONCATENATION move int8 values without arithmetic, so inputs and output share one
quantization; RESHAPE is a view of its input (no code, no memory). QUANTIZE requantizes (in place);
DEQUANTIZE has float output, so it runs in the reference executor only (the C code takes and returns int8).
"""

from mcucompress.codegen.lower import Lowering
from mcucompress.ir import constraints as c
from mcucompress.ir import ops as attrs
from mcucompress.ir.registry import CHANNELS_BLOCK, CHANNELS_CONCAT, CHANNELS_PASSTHROUGH, CHANNELS_RESHAPE, OpSpec
from mcucompress.reference import activations as act
from mcucompress.reference import executor as ref

SPECS = (
    OpSpec("RESHAPE", attrs.NoAttrs, ref.reshape, CHANNELS_RESHAPE, ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"),
           shares_quant=True, lowering=Lowering._lower_reshape, c_functions=("mcc_copy_s8",), alias=True),
    OpSpec("PAD", attrs.PadAttrs, ref.pad, CHANNELS_PASSTHROUGH, ("PAD", "PADV2"), check=c.check_pad,
           shares_quant=True, lowering=Lowering._lower_pad, c_functions=("mcc_pad_s8",)),
    OpSpec("CONCATENATION", attrs.ConcatenationAttrs, ref.concatenation, CHANNELS_CONCAT, ("CONCATENATION",),
           check=c.check_concatenation, shares_quant=True, lowering=Lowering._lower_concatenation,
           c_functions=("mcc_concat_s8",)),
    OpSpec("QUANTIZE", attrs.NoAttrs, act.quantize, CHANNELS_PASSTHROUGH, ("QUANTIZE",), check=c.check_quantize,
           lowering=Lowering._lower_unary, c_functions=("mcc_requantize_s8",), in_place=True),
    OpSpec("DEQUANTIZE", attrs.NoAttrs, act.dequantize, CHANNELS_BLOCK, ("DEQUANTIZE",)),
)
