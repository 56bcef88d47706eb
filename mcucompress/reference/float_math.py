"""GELU in float32, as TFLite computes it (float32 only: TFLM has no GELU kernel; the op's check refuses int8).

0.5 x (1 - erf(-x / sqrt 2)) (exact) or 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) (approximate),
evaluated in float64 and rounded once to float32 (within an ulp of TFLite's float32 evaluation).
"""

from __future__ import annotations

import math

import numpy as np

from mcucompress.ir import Graph, Op

F32 = np.float32
_ERF = np.vectorize(math.erf, otypes=[np.float64])


def gelu_f32(x: np.ndarray, approximate: bool) -> np.ndarray:
    v = x.astype(F32).astype(np.float64)
    if approximate:
        y = 0.5 * v * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)))
    else:
        y = 0.5 * v * (1.0 - _ERF(-v / math.sqrt(2.0)))
    return y.astype(F32)


def gelu(graph: Graph, op: Op, xs: list) -> np.ndarray:
    return gelu_f32(xs[0], op.attrs.approximate)

