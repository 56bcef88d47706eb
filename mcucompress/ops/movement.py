"""Registry entries of the data-movement and conversion ops: RESHAPE, PAD, CONCATENATION, QUANTIZE, DEQUANTIZE,
and TRANSPOSE, SLICE, STRIDED_SLICE, SPLIT (and SPLIT_V), PACK, UNPACK, SPACE_TO_DEPTH, DEPTH_TO_SPACE, MIRROR_PAD,
REVERSE_V2, BROADCAST_TO, GATHER, TILE, GATHER_ND, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND.

RESHAPE, PAD and CONCATENATION move int8 values without arithmetic, so inputs and output share one
quantization; RESHAPE is a view of its input (no code, no memory). QUANTIZE requantizes (in place);
DEQUANTIZE has float output, so it runs in the reference executor only (the C code takes and returns int8).
The other movement ops are index maps (mcucompress.ir.index_maps) run by one C kernel, mcc_index_copy_s8;
PACK runs as a CONCATENATION;
SPACE_TO_BATCH_ND, whose map also pads, has its own kernel (mcc_space_to_batch_s8). Channels may not be pruned across them (they may move the channel axis).
"""

from mcucompress.codegen import lower_int16
from mcucompress.codegen.lower import Lowering
from mcucompress.codegen.lower_misc import lower_space_to_batch
from mcucompress.ir import constraints as c
from mcucompress.ir import constraints_movement as cm
from mcucompress.ir import ops as attrs
from mcucompress.ir.registry import CHANNELS_BLOCK, CHANNELS_CONCAT, CHANNELS_PASSTHROUGH, CHANNELS_RESHAPE, OpSpec
from mcucompress.reference import activations as act
from mcucompress.reference import executor as ref
from mcucompress.reference import movement as mv

_MOVE = {"reference": mv.move, "channels": CHANNELS_BLOCK, "shares_quant": True,
         "lowering": Lowering._lower_index_copy, "c_functions": ("mcc_index_copy_s8",)}

SPECS = (
    OpSpec("RESHAPE", attrs.NoAttrs, ref.reshape, CHANNELS_RESHAPE, ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"),
           shares_quant=True, lowering=Lowering._lower_reshape, c_functions=("mcc_copy_s8",), alias=True),
    OpSpec("PAD", attrs.PadAttrs, ref.pad, CHANNELS_PASSTHROUGH, ("PAD", "PADV2"), check=c.check_pad,
           shares_quant=True, lowering=Lowering._lower_pad, c_functions=("mcc_pad_s8",)),
    OpSpec("CONCATENATION", attrs.ConcatenationAttrs, ref.concatenation, CHANNELS_CONCAT, ("CONCATENATION",),
           check=c.check_concatenation, shares_quant=True, lowering=Lowering._lower_concatenation,
           c_functions=("mcc_concat_s8",)),
    OpSpec("QUANTIZE", attrs.NoAttrs, act.quantize, CHANNELS_PASSTHROUGH, ("QUANTIZE",), check=c.check_quantize,
           lowering=Lowering._lower_unary, c_functions=("mcc_requantize_s8",), in_place=True,
           int16_lowering=lower_int16.quantize),
    OpSpec("DEQUANTIZE", attrs.NoAttrs, act.dequantize, CHANNELS_BLOCK, ("DEQUANTIZE",)),
    OpSpec("TRANSPOSE", attrs.TransposeAttrs, tflite_names=("TRANSPOSE",), check=cm.check_transpose, **_MOVE),
    OpSpec("SLICE", attrs.SliceAttrs, tflite_names=("SLICE",), check=cm.check_slice, **_MOVE),
    OpSpec("STRIDED_SLICE", attrs.StridedSliceAttrs, tflite_names=("STRIDED_SLICE",), check=cm.check_slice, **_MOVE),
    OpSpec("SPLIT", attrs.SplitAttrs, tflite_names=("SPLIT", "SPLIT_V"), check=cm.check_split, **_MOVE),
    OpSpec("UNPACK", attrs.AxisAttrs, tflite_names=("UNPACK",), check=cm.check_unpack, **_MOVE),
    OpSpec("SPACE_TO_DEPTH", attrs.BlockAttrs, tflite_names=("SPACE_TO_DEPTH",), check=cm.check_space_to_depth, **_MOVE),
    OpSpec("DEPTH_TO_SPACE", attrs.BlockAttrs, tflite_names=("DEPTH_TO_SPACE",), check=cm.check_depth_to_space, **_MOVE),
    OpSpec("MIRROR_PAD", attrs.MirrorPadAttrs, tflite_names=("MIRROR_PAD",), check=cm.check_mirror_pad, **_MOVE),
    OpSpec("REVERSE_V2", attrs.ReverseAttrs, tflite_names=("REVERSE_V2",), check=cm.check_reverse, **_MOVE),
    OpSpec("BROADCAST_TO", attrs.NoAttrs, tflite_names=("BROADCAST_TO",), check=cm.check_broadcast_to, **_MOVE),
    OpSpec("GATHER", attrs.GatherAttrs, tflite_names=("GATHER",), check=cm.check_gather, **_MOVE),
    OpSpec("TILE", attrs.TileAttrs, tflite_names=("TILE",), check=cm.check_tile, **_MOVE),
    OpSpec("GATHER_ND", attrs.GatherNdAttrs, tflite_names=("GATHER_ND",), check=cm.check_gather_nd, **_MOVE),
    OpSpec("BATCH_TO_SPACE_ND", attrs.SpaceBatchAttrs, tflite_names=("BATCH_TO_SPACE_ND",),
           check=cm.check_batch_to_space_nd, **_MOVE),
    OpSpec("SPACE_TO_BATCH_ND", attrs.SpaceBatchAttrs, tflite_names=("SPACE_TO_BATCH_ND",),
           check=cm.check_space_to_batch_nd, **{**_MOVE, "lowering": lower_space_to_batch,
                                                "c_functions": ("mcc_space_to_batch_s8",)}),
    OpSpec("PACK", attrs.AxisAttrs, mv.pack, CHANNELS_BLOCK, ("PACK",), check=cm.check_pack, shares_quant=True,
           lowering=Lowering._lower_pack, c_functions=("mcc_concat_s8",)),
)
