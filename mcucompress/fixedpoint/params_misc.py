"""Integer parameters of ADD_N and CUMSUM int8, as TFLM's Prepare() derives them (add_n.cc, cumsum.cc).

Both rescale every term to twice the input scale with 20 bits of headroom, as ADD does, and requantize the
sum to the output scale. The reference executor and the C code generator read this one record.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcucompress.fixedpoint.scaling import quantize_multiplier_smaller_than_one
from mcucompress.ir import Graph, Op

LEFT_SHIFT = 20  # kAddNIntegerShift, kCumSumIntegerShift


@dataclass
class AccumulateParams:
    input_offset: int
    left_shift: int
    input_multiplier: int
    input_shift: int
    output_multiplier: int
    output_shift: int
    output_offset: int
    act_min: int = -128
    act_max: int = 127


def accumulate_params(graph: Graph, op: Op) -> AccumulateParams:
    """TFLM computes these in double: s_in / (2 s_in) and 2 s_in / (2^20 s_out)."""
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    twice = 2 * float(inp.quant.s)
    m_in, s_in = quantize_multiplier_smaller_than_one(float(inp.quant.s) / twice)
    m_out, s_out = quantize_multiplier_smaller_than_one(twice / ((1 << LEFT_SHIFT) * float(out.quant.s)))
    return AccumulateParams(-inp.quant.zp, LEFT_SHIFT, m_in, s_in, m_out, s_out, out.quant.zp)
