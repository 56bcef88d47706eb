"""Registry entries of the ops with int32 or bool tensors: ARG_MAX, ARG_MIN (int32 indices), EQUAL, NOT_EQUAL,
LESS, LESS_EQUAL, GREATER, GREATER_EQUAL (bool output), SELECT_V2 (bool condition), ZEROS_LIKE and FILL.

Quantization: the indices and bools carry none. SELECT_V2 and FILL copy raw values, so their int8 values
and output share one quantization. ZEROS_LIKE writes raw zeros (0.0 only with zero point 0, its check); our PTQ
folds it into a constant of zeros, which the consumer quantizes exactly. The comparisons rescale each input on
its own, so their inputs keep their own ranges.
"""

from mcucompress.codegen import lower_typed as lt
from mcucompress.ir import constraints as c
from mcucompress.ir import ops as attrs
from mcucompress.ir.consistency_typed import COMPARISONS
from mcucompress.ir.registry import CHANNELS_BLOCK, OpSpec
from mcucompress.reference import typed_ops

SPECS = (
    OpSpec("ARG_MAX", attrs.ArgMinMaxAttrs, typed_ops.arg_min_max, CHANNELS_BLOCK, ("ARG_MAX",),
           check=c.check_arg_min_max, lowering=lt.lower_arg_min_max, c_functions=("mcc_arg_max_s8",)),
    OpSpec("ARG_MIN", attrs.ArgMinMaxAttrs, typed_ops.arg_min_max, CHANNELS_BLOCK, ("ARG_MIN",),
           check=c.check_arg_min_max, lowering=lt.lower_arg_min_max, c_functions=("mcc_arg_min_s8",)),
    *(OpSpec(kind, attrs.NoAttrs, typed_ops.compare, CHANNELS_BLOCK, (kind,), check=c.check_compare,
             lowering=lt.lower_compare, c_functions=("mcc_compare_s8",)) for kind in COMPARISONS),
    OpSpec("SELECT_V2", attrs.NoAttrs, typed_ops.select_v2, CHANNELS_BLOCK, ("SELECT_V2",), check=c.check_select_v2,
           shares_quant=True, lowering=lt.lower_select_v2, c_functions=("mcc_select_s8",)),
    OpSpec("ZEROS_LIKE", attrs.NoAttrs, typed_ops.zeros_like, CHANNELS_BLOCK, ("ZEROS_LIKE",),
           check=c.check_zeros_like, lowering=lt.lower_zeros_like,
           c_functions=("mcc_zeros",)),
    OpSpec("FILL", attrs.NoAttrs, typed_ops.fill, CHANNELS_BLOCK, ("FILL",), check=c.check_fill, shares_quant=True,
           lowering=lt.lower_fill, c_functions=("mcc_fill",)),
)
