"""ADD, SUB, MUL, MAXIMUM, MINIMUM with numpy broadcasting, int8 (TFLM integer arithmetic) and float32."""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint.arith import (
    multiply_by_quantized_multiplier,
)
from mcucompress.fixedpoint.arith import (
    multiply_by_quantized_multiplier_smaller_than_one_exp as mbqm_small,
)
from mcucompress.fixedpoint.params import AddSubParams, MulParams


def add_sub_s8(a: np.ndarray, b: np.ndarray, p: AddSubParams, subtract: bool) -> np.ndarray:
    a1 = (a.astype(np.int64) + p.input1_offset) * (1 << p.left_shift)
    b1 = (b.astype(np.int64) + p.input2_offset) * (1 << p.left_shift)
    sa = mbqm_small(a1, p.input1_multiplier, p.input1_shift)
    sb = mbqm_small(b1, p.input2_multiplier, p.input2_shift)
    raw = sa - sb if subtract else sa + sb
    out = mbqm_small(raw, p.output_multiplier, p.output_shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


def mul_s8(a: np.ndarray, b: np.ndarray, p: MulParams) -> np.ndarray:
    prod = (a.astype(np.int64) + p.input1_offset) * (b.astype(np.int64) + p.input2_offset)
    out = multiply_by_quantized_multiplier(prod, p.output_multiplier, p.output_shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


def maximum_minimum(graph, op, xs) -> np.ndarray:
    """TFLM compares the raw values: int8 inputs share the output's quantization (the op's check), so no rescale."""
    a, b = xs
    fn = np.maximum if op.kind == "MAXIMUM" else np.minimum
    return fn(a, b).astype(graph.t(op.outputs[0]).dtype)
