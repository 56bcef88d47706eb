"""Registry entries of the broadcasting binary ops: ADD, SUB, MUL, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, DIV, and
of ADD_N and CUMSUM (sums requantized as TFLM's ADD_N/CUMSUM do; ADD_N's inputs share one quantization).

Their kernels read element i of both operands before writing element i, so the output may overwrite
input 0; every activation operand shares channel indices with the output (a residual group). MAXIMUM
and MINIMUM compare raw int8 values, so their inputs and output share one quantization.
"""

from mcucompress.codegen import lower_int16
from mcucompress.codegen.lower import Lowering, addsub_scratch
from mcucompress.codegen.lower_misc import lower_add_n, lower_cumsum
from mcucompress.ir import constraints as c
from mcucompress.ir import constraints_misc as cmisc
from mcucompress.ir import ops as attrs
from mcucompress.ir.registry import CHANNELS_BLOCK, CHANNELS_TIED, OpSpec
from mcucompress.reference import div, math_ops, misc_ops
from mcucompress.reference import elementwise as elem
from mcucompress.reference import executor as ref

SPECS = (
    OpSpec("ADD", attrs.ElementwiseAttrs, ref.binary, CHANNELS_TIED, ("ADD",), lowering=Lowering._lower_add,
           c_functions=("mcc_add_s8",), in_place=True, int16_lowering=lower_int16.binary, scratch=addsub_scratch),
    OpSpec("SUB", attrs.ElementwiseAttrs, ref.binary, CHANNELS_TIED, ("SUB",), lowering=Lowering._lower_sub,
           c_functions=("mcc_sub_s8",), in_place=True, scratch=addsub_scratch),
    OpSpec("MUL", attrs.ElementwiseAttrs, ref.binary, CHANNELS_TIED, ("MUL",), lowering=Lowering._lower_mul,
           c_functions=("mcc_mul_s8",), in_place=True, int16_lowering=lower_int16.binary),
    OpSpec("MAXIMUM", attrs.NoAttrs, elem.maximum_minimum, CHANNELS_TIED, ("MAXIMUM",), check=c.check_maximum_minimum,
           shares_quant=True, lowering=Lowering._lower_maximum_minimum, c_functions=("mcc_maximum_s8",), in_place=True),
    OpSpec("MINIMUM", attrs.NoAttrs, elem.maximum_minimum, CHANNELS_TIED, ("MINIMUM",), check=c.check_maximum_minimum,
           shares_quant=True, lowering=Lowering._lower_maximum_minimum, c_functions=("mcc_minimum_s8",), in_place=True),
    OpSpec("SQUARED_DIFFERENCE", attrs.NoAttrs, math_ops.squared_difference, CHANNELS_TIED, ("SQUARED_DIFFERENCE",),
           check=c.check_squared_difference, lowering=Lowering._lower_squared_difference, c_functions=("mcc_squared_difference_s8",), in_place=True),
    OpSpec("DIV", attrs.ElementwiseAttrs, div.div, CHANNELS_TIED, ("DIV",), check=c.check_div,
           lowering=Lowering._lower_div, c_functions=("mcc_div_s8",), in_place=True),
    OpSpec("ADD_N", attrs.NoAttrs, misc_ops.add_n, CHANNELS_TIED, ("ADD_N",), check=cmisc.check_add_n,
           shares_quant=True, lowering=lower_add_n, c_functions=("mcc_add_n_s8",), in_place=True),
    OpSpec("CUMSUM", attrs.CumsumAttrs, misc_ops.cumsum, CHANNELS_BLOCK, ("CUMSUM",), check=cmisc.check_cumsum,
           lowering=lower_cumsum, c_functions=("mcc_cumsum_s8",), in_place=True),
)
