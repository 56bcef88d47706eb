"""DIV with numpy broadcasting: int8 with TFLM's integer arithmetic (reference div.h) and float32 (IEEE division).

int8, per element: n = x1 - zp1, d = x2 - zp2 (both negated when d < 0); the reciprocal of d from TFLite's
GetReciprocal (gemmlowp's 1 / (1 + x), Q0.31, with the bits of d above one as a shift); n scaled up by its
headroom (leading sign bits) times the reciprocal (SaturatingRoundingDoublingHighMul); then
MultiplyByQuantizedMultiplierSmallerThanOneExp by s1 / (s2 * so) (a float32 expression, as TFLM's Prepare
computes it) at shift output_shift - reciprocal shift - headroom, plus zp_out, clamped to the fused activation.
A zero divisor (x2 == zp2), where TFLM's arithmetic is undefined, gives the clamp bound of n's sign here.

The final shift exceeds 31 for small dividends (always for n = 0: 31 bits of headroom): TFLite's
RoundingDivideByPOT is undefined there, and TFLM as built for x86-64 (the tflite_micro package, our oracle)
computes (x >> (exponent mod 32)) + (x >= 0): its mask (1 << exponent) - 1 truncates to all ones and the
shifter takes the count mod 32. We follow it, so 0 / d is zp_out + 1 as in TFLM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcucompress.fixedpoint.arith import rounding_divide_by_pot
from mcucompress.fixedpoint.arith import saturating_rounding_doubling_high_mul as srdhm
from mcucompress.fixedpoint.gemmlowp import count_leading_zeros_u32, get_reciprocal
from mcucompress.fixedpoint.params import activation_range
from mcucompress.fixedpoint.scaling import quantize_multiplier
from mcucompress.ir import Graph, Op

F32 = np.float32
FLOAT_ACT_RANGE = {"NONE": (-np.inf, np.inf), "RELU": (0.0, np.inf), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


@dataclass
class DivParams:
    """DIV int8 (TFLM div.cc): offsets are negated input zero points, output_offset the output zero point."""

    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def div_params(graph: Graph, op: Op) -> DivParams:
    a, b, out = (graph.t(n) for n in (*op.inputs[:2], op.outputs[0]))
    real = float(F32(a.quant.s) / (F32(b.quant.s) * F32(out.quant.s)))  # float32 arithmetic, then double
    m, s = quantize_multiplier(real)
    lo, hi = activation_range(op.attrs.activation, out)
    return DivParams(-a.quant.zp, -b.quant.zp, out.quant.zp, m, s, lo, hi)


def _rounding_divide_by_pot_tflm(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """RoundingDivideByPOT, with TFLM's x86-64 result for exponents of 32 and more (see the module docstring)."""
    wide = exponent >= 32
    beyond = (x >> np.where(wide, exponent & 31, 0)) + (x >= 0)
    return np.where(wide, beyond, rounding_divide_by_pot(x, np.where(wide, 0, exponent)))


def div_s8(a: np.ndarray, b: np.ndarray, p: DivParams) -> np.ndarray:
    n, d = np.broadcast_arrays(a.astype(np.int64) + p.input1_offset, b.astype(np.int64) + p.input2_offset)
    n = np.where(d < 0, -n, n)
    d = np.abs(d)
    safe = np.where(d == 0, 1, d)
    inv, recip_shift = get_reciprocal(safe, 31)
    headroom = count_leading_zeros_u32(np.where(n < 0, ~n, n)) - 1  # GCC's __builtin_clrsb (31 for 0)
    quotient = srdhm(n * (np.int64(1) << headroom), inv)
    exponent = -(p.output_shift - recip_shift - headroom)  # MultiplyByQuantizedMultiplierSmallerThanOneExp
    out = p.output_offset + _rounding_divide_by_pot_tflm(srdhm(quotient, p.output_multiplier), exponent)
    out = np.where(d == 0, np.where(n >= 0, p.act_max, p.act_min), out)
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


def div(graph: Graph, op: Op, xs: list) -> np.ndarray:
    if graph.t(op.outputs[0]).dtype == "int8":
        return div_s8(xs[0], xs[1], div_params(graph, op))
    a, b = (x.astype(F32) for x in xs)
    with np.errstate(divide="ignore", invalid="ignore"):  # x / 0 is inf or nan in TFLite as in numpy
        y = (a / b).astype(F32)
    lo, hi = FLOAT_ACT_RANGE[op.attrs.activation]
    return np.clip(y, lo, hi).astype(F32)
