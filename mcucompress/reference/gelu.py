"""GELU: float32 as TFLite's reference gelu.h computes it, and int8 through TFLite's 256-entry lookup table.

Exact form: 0.5 x (1 + erf(x sqrt(1/2))), whose erf and sum TFLite evaluates in double (the constant M_SQRT1_2 is
a double) and rounds to float32 once. Approximate form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) in float32
arithmetic (tanhf approximated by float64 tanh rounded once).

int8 (LiteRT's gelu.cc; TFLM has no GELU kernel): for each int8 value v the table holds
clamp(round(f(s_in * (v - zp_in)) * (1 / s_out)) + zp_out), every product in float32, round half away from zero.
The C code looks values up in that table (mcc_lookup_s8).
"""

from __future__ import annotations

import math

import numpy as np

from mcucompress.ir import Graph, Op

F32 = np.float32
M_SQRT1_2 = 0.70710678118654752440  # as the C double constant
SQRT_2_OVER_PI = F32(1.12837916709551257390 * M_SQRT1_2)  # M_2_SQRTPI * M_SQRT1_2 as a float constexpr
_ERF = np.vectorize(math.erf, otypes=[np.float64])  # CPython's math.erf is libm's erf


def gelu_f32(x: np.ndarray, approximate: bool) -> np.ndarray:
    x = np.asarray(x, F32)
    if approximate:
        inner = (SQRT_2_OVER_PI * (x + (F32(0.044715) * x * x * x).astype(F32))).astype(F32)
        t = np.tanh(inner.astype(np.float64)).astype(F32)
        return (F32(0.5) * x * (F32(1) + t)).astype(F32)
    half = (F32(0.5) * x).astype(np.float64)
    return (half * (1.0 + _ERF(x.astype(np.float64) * M_SQRT1_2))).astype(F32)


def gelu_table(graph: Graph, op: Op) -> np.ndarray:
    """The int8 table, entry v + 128 for input value v (TFLite's LUTPopulate for int8)."""
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    v = np.arange(-128, 128)
    x = (F32(inp.quant.s) * (v - inp.quant.zp).astype(F32)).astype(F32)
    scaled = (gelu_f32(x, op.attrs.approximate) * (F32(1) / F32(out.quant.s))).astype(F32)
    rounded = np.copysign(np.floor(np.abs(scaled.astype(np.float64)) + 0.5), scaled)  # std::round
    return np.clip(rounded.astype(np.int64) + out.quant.zp, -128, 127).astype(np.int8)


def gelu(graph: Graph, op: Op, xs: list) -> np.ndarray:
    if graph.t(op.outputs[0]).dtype == "int8":
        return gelu_table(graph, op)[xs[0].astype(np.int64) + 128]
    return gelu_f32(xs[0], op.attrs.approximate)
