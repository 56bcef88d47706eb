"""GELU and DIV in float32, as TFLite computes them (float32 only here: TFLM has no GELU kernel, and int8 DIV is
not implemented in this toolchain; the ops' checks refuse those int8 variants in one line).

GELU: 0.5 x (1 - erf(-x / sqrt 2)) (exact) or 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) (approximate),
evaluated in float64 and rounded once to float32 (within an ulp of TFLite's float32 evaluation). DIV: IEEE float32
division with numpy broadcasting, then the fused activation's clamp.
"""

from __future__ import annotations

import math

import numpy as np

from mcucompress.ir import Graph, Op

F32 = np.float32
_ERF = np.vectorize(math.erf, otypes=[np.float64])
FLOAT_ACT_RANGE = {"NONE": (-np.inf, np.inf), "RELU": (0.0, np.inf), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def gelu_f32(x: np.ndarray, approximate: bool) -> np.ndarray:
    v = x.astype(F32).astype(np.float64)
    if approximate:
        y = 0.5 * v * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)))
    else:
        y = 0.5 * v * (1.0 - _ERF(-v / math.sqrt(2.0)))
    return y.astype(F32)


def gelu(graph: Graph, op: Op, xs: list) -> np.ndarray:
    return gelu_f32(xs[0], op.attrs.approximate)


def div(graph: Graph, op: Op, xs: list) -> np.ndarray:
    a, b = (x.astype(F32) for x in xs)
    with np.errstate(divide="ignore", invalid="ignore"):  # x / 0 is inf or nan in TFLite as in numpy
        y = (a / b).astype(F32)
    lo, hi = FLOAT_ACT_RANGE[op.attrs.activation]
    return np.clip(y, lo, hi).astype(F32)
