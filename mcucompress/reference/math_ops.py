"""Element-wise math ops of issue 10, int8 (TFLM's integer kernels) and float32: ABS, PRELU.

Every integer the int8 kernels use comes from mcucompress.fixedpoint.params_math.
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint import params_math as pm
from mcucompress.fixedpoint.arith import multiply_by_quantized_multiplier as mbqm

F32 = np.float32


def _int8(graph, op) -> bool:
    return graph.t(op.outputs[0]).dtype == "int8"


def _s8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -128, 127).astype(np.int8)


def abs_op(graph, op, xs):
    if _int8(graph, op):
        p = pm.abs_params(graph, op)
        return _s8(mbqm(np.abs(xs[0].astype(np.int64) - p.input_zero_point), p.multiplier, p.shift) + p.output_zero_point)
    return np.abs(xs[0].astype(F32))


def prelu_s8(x: np.ndarray, alpha: np.ndarray, p: pm.PreluParams) -> np.ndarray:
    d = x.astype(np.int64) + p.input_offset
    a = alpha.astype(np.int64) + p.alpha_offset
    pos = mbqm(d, p.output_multiplier_1, p.output_shift_1)
    neg = mbqm(d * a, p.output_multiplier_2, p.output_shift_2)
    return _s8(np.where(d >= 0, pos, neg) + p.output_offset)


def prelu(graph, op, xs):
    x, alpha = xs
    if _int8(graph, op):
        return prelu_s8(x, alpha, pm.prelu_params(graph, op))
    x = x.astype(F32)
    return np.where(x >= 0, x, x * alpha.astype(F32)).astype(F32)
