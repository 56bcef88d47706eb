"""Element-wise activations and (de)quantization, int8 (TFLM's integer kernels) and float32.

LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, RELU, RELU6, QUANTIZE and DEQUANTIZE; the op registry
(mcucompress/ops/) names which function runs which kind. Every integer the int8 kernels use comes from
mcucompress.fixedpoint.params.
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint import params as fp
from mcucompress.fixedpoint.arith import (
    multiply_by_quantized_multiplier,
    rounding_divide_by_pot,
    rounding_divide_by_pot_int16,
    saturating_doubling_high_mul_int16,
    saturating_left_shift,
    saturating_rounding_doubling_high_mul_int16,
    wrap_int16,
    wrap_int32,
)
from mcucompress.fixedpoint.gemmlowp import logistic, tanh
from mcucompress.reference import int16

F32 = np.float32
mbqm = multiply_by_quantized_multiplier
srdhm16 = saturating_rounding_doubling_high_mul_int16


def _int8(graph, op) -> bool:
    return graph.t(op.outputs[0]).dtype == "int8"


def _s8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -128, 127).astype(np.int8)


def sigmoid_tanh_s8(x: np.ndarray, p: fp.LogisticParams, is_tanh: bool) -> np.ndarray:
    """gemmlowp logistic/tanh on a Q4.27 input, rounded to Q0.7 (tanh) or Q0.8 - 128 (logistic)."""
    d = x.astype(np.int64) - p.input_zero_point
    q4 = mbqm(d, p.input_multiplier, p.input_left_shift)
    if is_tanh:
        y = rounding_divide_by_pot(tanh(q4, 4), 31 - 7)
    else:
        y = rounding_divide_by_pot(logistic(q4, 4), 31 - 8) - 128
    y = np.where(d <= -p.input_range_radius, -128, np.where(d >= p.input_range_radius, 127, y))
    return _s8(y)


def hard_swish_s8(x: np.ndarray, p: fp.HardSwishParams) -> np.ndarray:
    """TFLite's reference HardSwish: x * relu6(x + 3) / 6 in int16 fixed point."""
    hires = wrap_int16((x.astype(np.int64) - p.input_zero_point) * (1 << 7))
    preshift_out = srdhm16(hires, p.output_multiplier_fixedpoint_int16)
    reluish = hires
    e = p.reluish_multiplier_exponent
    if e > 0:
        reluish = saturating_left_shift(reluish, e - 1, bits=16)
    reluish = srdhm16(reluish, p.reluish_multiplier_fixedpoint_int16)
    if e > 0:
        reluish = saturating_left_shift(reluish, 1, bits=16)
    elif e < 0:
        reluish = rounding_divide_by_pot_int16(reluish, -e)
    reluish = (reluish + (1 << 15)) >> 1  # [-1, 1] -> [0, 1] in Q0.15
    out = saturating_doubling_high_mul_int16(reluish, preshift_out)
    out = wrap_int16(rounding_divide_by_pot_int16(out, -p.output_multiplier_exponent) + p.output_zero_point)
    return _s8(out)


def leaky_relu_s8(x: np.ndarray, p: fp.LeakyReluParams) -> np.ndarray:
    d = x.astype(np.int64) - p.input_zero_point
    identity = mbqm(d, p.output_multiplier_identity, p.output_shift_identity)
    m = p.output_multiplier_alpha
    # TFLM multiplies by |multiplier| and negates afterwards for a negative alpha.
    alpha = -mbqm(d, wrap_int32(-m), p.output_shift_alpha) if m < 0 else mbqm(d, m, p.output_shift_alpha)
    return _s8(p.output_zero_point + np.where(d >= 0, identity, alpha))


def requantize_s8(x: np.ndarray, p: fp.RequantParams) -> np.ndarray:
    y = mbqm(x.astype(np.int64) - p.input_zero_point, p.multiplier, p.shift) + p.output_zero_point
    return np.clip(y, max(p.act_min, -128), min(p.act_max, 127)).astype(np.int8)


def quantize_f32_to_s8(x: np.ndarray, p: fp.AffineQuantizeParams) -> np.ndarray:
    """TFLM's AffineQuantize: float32 division, std::round (halves away from zero), cast to int32, + zero point
    (int32), clamp. The cast of NaN, +-inf or a value beyond int32 (a float island's LOG(0), RSQRT(0), EXP
    overflow) is undefined in C++; x86, where the TFLM oracle runs, gives INT32_MIN, and adding a negative zero
    point then wraps to a large positive value (127 after the clamp): done here the same way."""
    v = (x.astype(F32) / F32(p.scale)).astype(np.float64)  # float32 quotient, then exact rounding in float64
    with np.errstate(invalid="ignore"):
        r = np.copysign(np.floor(np.abs(v) + 0.5), v)
        wild = ~np.isfinite(r) | (r < -(1 << 31)) | (r >= (1 << 31))
    i = np.where(wild, -(1 << 31), np.nan_to_num(r)).astype(np.int64) + p.zero_point
    return _s8(np.asarray((i + (1 << 31)) % (1 << 32) - (1 << 31)))  # the int32 addition wraps


def sigmoid_tanh(graph, op, xs):
    if graph.t(op.outputs[0]).dtype == "int16":  # 16x8
        return int16.sigmoid_tanh(graph, op, xs)
    is_tanh = op.kind == "TANH"
    if _int8(graph, op):
        p = (fp.tanh_params if is_tanh else fp.logistic_params)(graph, op)
        return sigmoid_tanh_s8(xs[0], p, is_tanh)
    # libm's expf/tanhf are (nearly always) correctly rounded: evaluate in float64, round once to float32.
    x = xs[0].astype(F32)
    x64 = x.astype(np.float64)
    if is_tanh:
        return np.tanh(x64).astype(F32)
    with np.errstate(over="ignore"):
        y = F32(1) / (F32(1) + np.exp(-x64).astype(F32))
    # TFLM's float Logistic: 1 above 16.619047..., exp(x) below -9.
    return np.where(x > F32(16.619047164916992188), F32(1), np.where(x < F32(-9), np.exp(x64).astype(F32), y)).astype(F32)


def hard_swish(graph, op, xs):
    if _int8(graph, op):
        return hard_swish_s8(xs[0], fp.hard_swish_params(graph, op))
    x = xs[0].astype(F32)
    return (x * np.minimum(F32(6), np.maximum(F32(0), x + F32(3))) / F32(6)).astype(F32)


def leaky_relu(graph, op, xs):
    if _int8(graph, op):
        return leaky_relu_s8(xs[0], fp.leaky_relu_params(graph, op))
    x = xs[0].astype(F32)
    return np.where(x > 0, x, x * F32(op.attrs.alpha)).astype(F32)


def relu(graph, op, xs):
    if _int8(graph, op):
        return requantize_s8(xs[0], fp.relu_params(graph, op))
    return np.maximum(xs[0].astype(F32), F32(0))


def relu6(graph, op, xs):
    if _int8(graph, op):
        p = fp.relu6_params(graph, op)
        return np.clip(xs[0], p.zero, p.six).astype(np.int8)
    return np.clip(xs[0].astype(F32), F32(0), F32(6))


def quantize(graph, op, xs):
    x = xs[0]
    if "int16" in (x.dtype, graph.t(op.outputs[0]).dtype):  # 16x8 graphs
        return int16.quantize(graph, op, xs)
    if x.dtype == np.float32:
        return quantize_f32_to_s8(x, fp.quantize_params(graph, op))
    return requantize_s8(x, fp.requantize_params(graph, op))


def dequantize(graph, op, xs):
    p = fp.dequantize_params(graph, op)
    return ((xs[0].astype(np.int32) - p.zero_point).astype(F32) * F32(p.scale)).astype(F32)
