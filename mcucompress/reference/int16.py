"""The 16x8 ops (int16 activations, int8 weights) with TFLM's integer arithmetic.

CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED accumulate in 64 bits (int64 bias: TFLM's 64-bit
MultiplyByQuantizedMultiplier with its rounded 16-bit multiplier) or in 32 bits (int32 bias: the ordinary
one). ADD and MUL are the int8 formulas on int16 values; pools too. SOFTMAX looks exp(x) and 1/(1+x) up
in two 513-entry int16 tables with linear interpolation (mcucompress.fixedpoint.lut16).
Sums of int16 x int8 products are below 2^53 for any tensor we accept, so float64 products are exact.
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint import lut16, sigmoid16
from mcucompress.fixedpoint import params_int16 as p16
from mcucompress.fixedpoint.arith import multiply_by_quantized_multiplier, trunc_div, wrap_int32
from mcucompress.fixedpoint.arith import multiply_by_quantized_multiplier_smaller_than_one_exp as mbqm_small
from mcucompress.reference import conv, pool


def multiply_by_quantized_multiplier_64(x, multiplier, shift) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier(int64 x): the multiplier rounded to 16 bits, one rounding shift."""
    x, m, s = (np.asarray(v, dtype=np.int64) for v in (x, multiplier, shift))
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    total = 15 - s
    return wrap_int32((x * reduced + (np.int64(1) << (total - 1))) >> total)


def _requantize(acc: np.ndarray, p: p16.Conv16Params) -> np.ndarray:
    mult = np.broadcast_to(p.multipliers, acc.shape[-1:])
    shift = np.broadcast_to(p.shifts, acc.shape[-1:])
    acc = acc + p.bias
    if p.wide_bias:
        out = multiply_by_quantized_multiplier_64(acc, mult, shift)
    else:
        out = multiply_by_quantized_multiplier(wrap_int32(acc), mult, shift)
    return np.clip(out + p.output_offset, p.act_min, p.act_max).astype(np.int16)


def conv2d_s16(x: np.ndarray, w: np.ndarray, p, attrs, out_shape) -> np.ndarray:
    """x [N,H,W,C] int16, w [O,kh,kw,C] int8: one float64 matrix product per kernel tap (zero padding)."""
    _, oh, ow, oc = out_shape
    n, in_h, in_w, _ = x.shape
    kh, kw = w.shape[1], w.shape[2]
    need_h = (oh - 1) * attrs.stride_h + (kh - 1) * attrs.dilation_h + 1
    need_w = (ow - 1) * attrs.stride_w + (kw - 1) * attrs.dilation_w + 1
    bottom, right = max(need_h - in_h - attrs.pad_top, 0), max(need_w - in_w - attrs.pad_left, 0)
    xp = np.pad(x.astype(np.float64), ((0, 0), (attrs.pad_top, bottom), (attrs.pad_left, right), (0, 0)))
    wt = w.astype(np.float64)
    acc = np.zeros((n, oh, ow, oc))
    for i in range(kh):
        for j in range(kw):
            y0, x0 = i * attrs.dilation_h, j * attrs.dilation_w
            tap = xp[:, y0:y0 + attrs.stride_h * (oh - 1) + 1:attrs.stride_h,
                     x0:x0 + attrs.stride_w * (ow - 1) + 1:attrs.stride_w, :]
            acc += tap @ wt[:, i, j, :].T
    return _requantize(acc.astype(np.int64), p)


def depthwise_conv2d_s16(x: np.ndarray, w: np.ndarray, p, attrs, out_shape) -> np.ndarray:
    _, oh, ow, _ = out_shape
    cols = conv.patches(x, w.shape[1], w.shape[2], attrs, oh, ow, 0).astype(np.float64)
    cols = np.repeat(cols, attrs.depth_multiplier, axis=-1)
    acc = np.einsum("nyxhwc,hwc->nyxc", cols, w[0].astype(np.float64))
    return _requantize(acc.astype(np.int64), p)


def fully_connected_s16(x: np.ndarray, w: np.ndarray, p, out_shape) -> np.ndarray:
    rows = x.reshape(-1, w.shape[1]).astype(np.float64)
    acc = rows @ (w.astype(np.float64) + p.filter_offset).T
    return _requantize(acc.astype(np.int64), p).reshape((-1,) + tuple(out_shape[1:]))


def weighted(graph, op, xs) -> np.ndarray:
    p = p16.conv_params_s16(graph, op)
    out_shape = graph.t(op.outputs[0]).shape
    if op.kind == "CONV_2D":
        return conv2d_s16(xs[0], xs[1], p, op.attrs, out_shape)
    if op.kind == "DEPTHWISE_CONV_2D":
        return depthwise_conv2d_s16(xs[0], xs[1], p, op.attrs, out_shape)
    return fully_connected_s16(xs[0], xs[1], p, out_shape)


def add_s16(a: np.ndarray, b: np.ndarray, p) -> np.ndarray:
    a1 = (a.astype(np.int64) + p.input1_offset) * (1 << p.left_shift)
    b1 = (b.astype(np.int64) + p.input2_offset) * (1 << p.left_shift)
    raw = mbqm_small(a1, p.input1_multiplier, p.input1_shift) + mbqm_small(b1, p.input2_multiplier, p.input2_shift)
    out = mbqm_small(raw, p.output_multiplier, p.output_shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(np.int16)


def mul_s16(a: np.ndarray, b: np.ndarray, p) -> np.ndarray:
    prod = (a.astype(np.int64) + p.input1_offset) * (b.astype(np.int64) + p.input2_offset)
    out = multiply_by_quantized_multiplier(prod, p.output_multiplier, p.output_shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(np.int16)


def binary(graph, op, xs) -> np.ndarray:
    """ADD and MUL: the int8 element formulas (int16 values never overflow their int32 steps), int16 clamp."""
    if op.kind == "MUL":
        return mul_s16(*xs, p16.mul_params_s16(graph, op))
    return add_s16(*xs, p16.add_params_s16(graph, op))


def pooling(graph, op, xs) -> np.ndarray:
    """AVERAGE_POOL_2D (rounded division by the in-image tap count) and MAX_POOL_2D, int16 clamp."""
    lo, hi = p16.activation_range_s16(op.attrs.activation, graph.t(op.outputs[0]))
    out_shape = graph.t(op.outputs[0]).shape
    if op.kind == "MAX_POOL_2D":
        win, _ = pool._windows(xs[0].astype(np.int64), op.attrs, out_shape[1], out_shape[2], -(1 << 40))
        return np.clip(win.max(axis=(3, 4)), lo, hi).astype(np.int16)
    win, valid = pool._windows(xs[0].astype(np.int64), op.attrs, out_shape[1], out_shape[2], 0)
    acc = win.sum(axis=(3, 4))
    count = valid.sum(axis=(2, 3))[None, :, :, None].astype(np.int64)
    half = count // 2
    avg = np.where(acc > 0, trunc_div(acc + half, count), trunc_div(acc - half, count))
    return np.clip(avg, lo, hi).astype(np.int16)


def softmax(graph, op, xs) -> np.ndarray:
    """TFLM's SoftmaxInt16 over the last axis: exp table on the rescaled x - max, reciprocal table on the sum."""
    p = p16.softmax_params_s16(graph, op)
    x = xs[0].astype(np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    scaled = multiply_by_quantized_multiplier(diff, p.input_multiplier, p.input_left_shift)
    exps = lut16.lookup(np.clip(scaled + 32767, -32768, 32767), lut16.exp_table())
    total = exps.sum(axis=-1, keepdims=True)  # Q16.15, positive (the max's exp is 32767)
    headroom_plus_one = 32 - np.floor(np.log2(total)).astype(np.int64) - 1  # count of leading zeros of uint32
    shifted = ((total << (headroom_plus_one - 1)) + (1 << 13)) >> 14
    recip = lut16.lookup(np.clip(shifted - ((1 << 15) + (1 << 16)), -32768, 32767), lut16.one_over_one_plus_x_table())
    right = 31 - headroom_plus_one
    out = (exps * recip + (np.int64(1) << (right - 1))) >> right
    return np.clip(out, 0, 32767).astype(np.int16)


def quantize(graph, op, xs) -> np.ndarray:
    """QUANTIZE to or from int16: float32 -> int16 (AffineQuantize), int8 <-> int16 (Requantize)."""
    x, out = xs[0], graph.t(op.outputs[0])
    lo, hi = (p16.Q16MIN, p16.Q16MAX) if out.dtype == "int16" else (-128, 127)
    if x.dtype == np.float32:
        v = (x.astype(np.float32) / np.float32(out.quant.s)).astype(np.float64)  # float32 quotient, std::round
        r = np.copysign(np.floor(np.abs(v) + 0.5), v)
        y = np.clip(r, -(1 << 31), (1 << 31) - 1).astype(np.int64) + out.quant.zp
    else:
        p = p16.requantize_params_16(graph, op)
        y = multiply_by_quantized_multiplier(x.astype(np.int64) - p.input_zero_point, p.multiplier, p.shift)
        y = y + p.output_zero_point
    return np.clip(y, lo, hi).astype(out.dtype)


def sigmoid_tanh(graph, op, xs) -> np.ndarray:
    """LOGISTIC / TANH int16 -> int16 (output scale 1/32768) through TFLite's sigmoid table."""
    is_tanh = op.kind == "TANH"
    return sigmoid16.evaluate(xs[0], sigmoid16.params(graph.t(op.inputs[0]).quant.s, is_tanh), is_tanh)
