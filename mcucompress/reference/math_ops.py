"""Element-wise math ops of issue 10, int8 (TFLM's integer kernels) and float32: ABS, PRELU, SQUARED_DIFFERENCE,
ELU, RSQRT, L2_NORMALIZATION, LOG_SOFTMAX, SQRT, EXP and NEG (float32 only).

Every integer the int8 kernels use comes from mcucompress.fixedpoint.params_math.
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint import params_math as pm
from mcucompress.fixedpoint.arith import INT32_MIN, rounding_divide_by_pot, wrap_int32
from mcucompress.fixedpoint.arith import multiply_by_quantized_multiplier as mbqm
from mcucompress.fixedpoint.gemmlowp import exp_on_negative_values, rescale
from mcucompress.fixedpoint.inv_sqrt import inv_sqrt_multiplier_exp
from mcucompress.fixedpoint.log_fixed import log_x_ge_1

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


def squared_difference_s8(a: np.ndarray, b: np.ndarray, p: pm.SquaredDifferenceParams) -> np.ndarray:
    sa = mbqm((a.astype(np.int64) + p.input1_offset) << p.left_shift, p.input1_multiplier, p.input1_shift)
    sb = mbqm((b.astype(np.int64) + p.input2_offset) << p.left_shift, p.input2_multiplier, p.input2_shift)
    diff = sa - sb  # |diff| <= 255 * 2^6: the square fits in int32
    return _s8(mbqm(wrap_int32(diff * diff), p.output_multiplier, p.output_shift) + p.output_offset)


def squared_difference(graph, op, xs):
    a, b = xs
    if _int8(graph, op):
        return squared_difference_s8(a, b, pm.squared_difference_params(graph, op))
    d = a.astype(F32) - b.astype(F32)
    return (d * d).astype(F32)


def elu(graph, op, xs):
    if _int8(graph, op):
        return pm.elu_table(graph, op)[xs[0].astype(np.int64) + 128]
    x = xs[0].astype(F32)
    return np.where(x < 0, np.expm1(x.astype(np.float64)).astype(F32), x).astype(F32)  # TFLM: expm1f


def rsqrt(graph, op, xs):
    if _int8(graph, op):
        return pm.rsqrt_table(graph, op)[xs[0].astype(np.int64) + 128]
    x = xs[0].astype(F32)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (F32(1) / np.sqrt(x.astype(np.float64)).astype(F32)).astype(F32)  # TFLM: 1.f / sqrtf(x)


def sqrt(graph, op, xs):
    """float32 only (the op's check rejects int8): sqrtf is correctly rounded, as numpy's float32 sqrt."""
    with np.errstate(invalid="ignore"):
        return np.sqrt(xs[0].astype(F32))


def exp(graph, op, xs):
    """float32 only: libm's expf, correctly rounded, is float64 exp rounded once."""
    with np.errstate(over="ignore"):
        return np.exp(xs[0].astype(F32).astype(np.float64)).astype(F32)


def l2_normalization_s8(x: np.ndarray, input_zero_point: int) -> np.ndarray:
    """TFLM's int8 L2 normalization over the last axis: x / ||x|| in Q0.7 (output scale 1/128, zero point 0), with
    TFLite's fixed-point inverse square root of the row's integer sum of squares."""
    diff = x.astype(np.int64) - input_zero_point
    rows = diff.reshape(-1, diff.shape[-1])
    out = np.empty_like(rows)
    for i, row in enumerate(rows):
        m, s = inv_sqrt_multiplier_exp(int((row * row).sum()), -1)
        out[i] = mbqm(row, m, s + 7)  # the * 128 of the Q0.7 output folded into the shift
    return _s8(out.reshape(diff.shape))


def l2_normalization(graph, op, xs):
    if _int8(graph, op):
        return l2_normalization_s8(xs[0], graph.t(op.inputs[0]).quant.zp)
    x = xs[0].astype(F32)
    acc = np.zeros(x.shape[:-1], F32)
    for c in range(x.shape[-1]):  # TFLM's float32 sum, channel by channel
        acc += x[..., c] * x[..., c]
    norm = np.maximum(np.sqrt(acc), F32(1e-6))
    return (x / norm[..., None]).astype(F32)


def log_softmax_s8(x: np.ndarray, p: pm.LogSoftmaxParams) -> np.ndarray:
    """TFLM's int8 LOG_SOFTMAX over the last axis: output Q4.27 rounded to 16/256 units, zero point 127."""
    rows = x.reshape(-1, x.shape[-1]).astype(np.int64)
    diff = rows - rows.max(axis=1, keepdims=True)
    diff_q5 = mbqm(diff, p.input_multiplier, p.input_left_shift)
    exps = rescale(exp_on_negative_values(diff_q5, 5), 0, 12)  # Q0.31 -> Q12.19
    sum_q12 = wrap_int32(np.where(diff >= p.diff_min, exps, 0).sum(axis=1))
    log_sum = log_x_ge_1(sum_q12, 12, 5)
    shifted = wrap_int32(log_sum + INT32_MIN)
    adjusted_min = np.maximum(p.diff_min - 1, mbqm(shifted, p.reverse_scaling_divisor, p.reverse_scaling_shift))
    out = rounding_divide_by_pot(wrap_int32(diff_q5 - log_sum[:, None]), 31 - 5 - 4) + 127
    out = np.where(diff > adjusted_min[:, None], out, -128)
    return _s8(out).reshape(x.shape)


def log_softmax(graph, op, xs):
    if _int8(graph, op):
        return log_softmax_s8(xs[0], pm.log_softmax_params(graph, op))
    # TFLM's float32 order: row max, sequential sum of expf(x - max), logf, then x - max - log_sum
    x = xs[0].astype(F32)
    shifted = (x - x.max(axis=-1, keepdims=True)).astype(F32)
    exps = np.exp(shifted.astype(np.float64)).astype(F32)
    total = np.zeros(x.shape[:-1], F32)
    for c in range(x.shape[-1]):
        total += exps[..., c]
    log_sum = np.log(total.astype(np.float64)).astype(F32)
    return (shifted - log_sum[..., None]).astype(F32)


def neg(graph, op, xs):
    """float32 only (the op's check rejects int8)."""
    return np.negative(xs[0].astype(F32))
