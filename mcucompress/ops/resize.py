"""Registry entries of RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (NHWC, int8 and float32).

Both keep channel c at channel c (pruning may pass through) and share the input's quantization. Nearest
neighbour is an index map (reference.movement.move) run by mcc_resize_nearest_s8 from per-row and per-column
source offsets; bilinear int8 runs mcc_resize_bilinear_s8 with per-row and per-column tables of source offsets
and 1/1024 weights. All tables come from mcucompress.ir.resize.
"""

from mcucompress.codegen.lower import Lowering
from mcucompress.ir import constraints_resize as cr
from mcucompress.ir import ops as attrs
from mcucompress.ir.registry import CHANNELS_PASSTHROUGH, OpSpec
from mcucompress.reference import movement as mv
from mcucompress.reference import resize as rs

SPECS = (
    OpSpec("RESIZE_NEAREST_NEIGHBOR", attrs.ResizeAttrs, mv.move, CHANNELS_PASSTHROUGH, ("RESIZE_NEAREST_NEIGHBOR",),
           check=cr.check_resize_nearest_neighbor, shares_quant=True, lowering=Lowering._lower_resize,
           c_functions=("mcc_resize_nearest_s8",)),
    OpSpec("RESIZE_BILINEAR", attrs.ResizeAttrs, rs.bilinear, CHANNELS_PASSTHROUGH, ("RESIZE_BILINEAR",),
           check=cr.check_resize_bilinear, shares_quant=True, lowering=Lowering._lower_resize,
           c_functions=("mcc_resize_bilinear_s8",)),
)
