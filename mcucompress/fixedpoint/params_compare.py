"""Integer parameters of the int8 comparisons (EQUAL ... GREATER_EQUAL), TFLM comparisons.cc's Prepare.

Each input is brought to a common fixed-point scale on its own: (q - zero_point) << 8 times its own scale as
a multiplier smaller than one (QuantizeMultiplierSmallerThanOneExp of the float32 scale), so two inputs of
different quantizations compare by real value. Shared by the reference executor and the C lowering.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcucompress.fixedpoint.scaling import quantize_multiplier_smaller_than_one
from mcucompress.ir import Graph, Op

LEFT_SHIFT = 8
COMPARE_CODES = {"EQUAL": 0, "NOT_EQUAL": 1, "LESS": 2, "LESS_EQUAL": 3, "GREATER": 4, "GREATER_EQUAL": 5}


@dataclass
class CompareParams:
    op: int  # COMPARE_CODES
    left_shift: int
    input1_offset: int
    input1_multiplier: int
    input1_shift: int  # <= 0: a right shift
    input2_offset: int
    input2_multiplier: int
    input2_shift: int


def compare_params(graph: Graph, op: Op) -> CompareParams:
    a, b = graph.t(op.inputs[0]), graph.t(op.inputs[1])
    m1, s1 = quantize_multiplier_smaller_than_one(float(np.float32(a.quant.s)))
    m2, s2 = quantize_multiplier_smaller_than_one(float(np.float32(b.quant.s)))
    return CompareParams(COMPARE_CODES[op.kind], LEFT_SHIFT, -a.quant.zp, m1, s1, -b.quant.zp, m2, s2)
