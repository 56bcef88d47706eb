"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED in int8 (TFLM reference_integer_ops) and float32.

Accumulation runs as float64 matrix products: every partial sum of int8 x int8 products stays far
below 2^53, so the float64 result is the exact int32 accumulator, computed with BLAS speed.
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint.arith import multiply_by_quantized_multiplier
from mcucompress.fixedpoint.params import ConvParams


def patches(x: np.ndarray, kh: int, kw: int, attrs, out_h: int, out_w: int, pad_value) -> np.ndarray:
    """im2col: [N, out_h, out_w, kh, kw, C] windows of the zero-point-padded NHWC input."""
    _, in_h, in_w, _ = x.shape
    dh, dw = attrs.dilation_h, attrs.dilation_w
    need_h = (out_h - 1) * attrs.stride_h + (kh - 1) * dh + 1
    need_w = (out_w - 1) * attrs.stride_w + (kw - 1) * dw + 1
    bottom = max(need_h - in_h - attrs.pad_top, 0)
    right = max(need_w - in_w - attrs.pad_left, 0)
    padded = np.pad(x, ((0, 0), (attrs.pad_top, bottom), (attrs.pad_left, right), (0, 0)), constant_values=pad_value)
    ys = (np.arange(out_h) * attrs.stride_h)[:, None] + np.arange(kh) * dh  # [out_h, kh]
    xs = (np.arange(out_w) * attrs.stride_w)[:, None] + np.arange(kw) * dw  # [out_w, kw]
    return padded[:, ys[:, None, :, None], xs[None, :, None, :], :]


def _requantize(acc: np.ndarray, p: ConvParams) -> np.ndarray:
    mult = np.broadcast_to(p.multipliers, acc.shape[-1:])
    shift = np.broadcast_to(p.shifts, acc.shape[-1:])
    out = multiply_by_quantized_multiplier(acc, mult, shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


def conv2d_s8(x: np.ndarray, w: np.ndarray, p: ConvParams, attrs, out_shape) -> np.ndarray:
    """x [N,H,W,C] int8, w [O,kh,kw,C] int8 -> [N,oh,ow,O] int8.

    One matrix product per kernel tap on a strided view of the padded input (no im2col copy). A tap's sum
    over C channels of (x + offset) * w is an integer below C * 255 * 127, exact in float32 while that is
    below 2^24; the taps are summed in float64, exact below 2^53."""
    _, oh, ow, oc = out_shape
    n, in_h, in_w, c = x.shape
    kh, kw = w.shape[1], w.shape[2]
    need_h = (oh - 1) * attrs.stride_h + (kh - 1) * attrs.dilation_h + 1
    need_w = (ow - 1) * attrs.stride_w + (kw - 1) * attrs.dilation_w + 1
    bottom = max(need_h - in_h - attrs.pad_top, 0)
    right = max(need_w - in_w - attrs.pad_left, 0)
    dt = np.float32 if c * 256 * 128 < 2**24 else np.float64
    xp = np.pad(x.astype(dt) + p.input_offset, ((0, 0), (attrs.pad_top, bottom), (attrs.pad_left, right), (0, 0)))
    wt = w.astype(dt)
    acc = np.zeros((n, oh, ow, oc))
    for i in range(kh):
        for j in range(kw):
            y0, x0 = i * attrs.dilation_h, j * attrs.dilation_w
            tap = xp[:, y0:y0 + attrs.stride_h * (oh - 1) + 1:attrs.stride_h,
                     x0:x0 + attrs.stride_w * (ow - 1) + 1:attrs.stride_w, :]
            acc += tap @ wt[:, i, j, :].T
    return _requantize(acc.astype(np.int64) + p.bias, p)


def depthwise_conv2d_s8(x: np.ndarray, w: np.ndarray, p: ConvParams, attrs, out_shape) -> np.ndarray:
    """w [1,kh,kw,C*M]; output channel c*M+m reads input channel c."""
    _, oh, ow, _ = out_shape
    m = attrs.depth_multiplier
    cols = patches(x, w.shape[1], w.shape[2], attrs, oh, ow, -p.input_offset).astype(np.float64) + p.input_offset
    cols = np.repeat(cols, m, axis=-1)  # [N,oh,ow,kh,kw,C*M]
    acc = np.einsum("nyxhwc,hwc->nyxc", cols, w[0].astype(np.float64))
    return _requantize(acc.astype(np.int64) + p.bias, p)


def fully_connected_s8(x: np.ndarray, w: np.ndarray, p: ConvParams, out_shape) -> np.ndarray:
    """x flattened to [-1, in], w [out, in]."""
    rows = x.reshape(-1, w.shape[1]).astype(np.float64) + p.input_offset
    acc = rows @ (w.astype(np.float64) + p.filter_offset).T
    return _requantize(acc.astype(np.int64) + p.bias, p).reshape((-1,) + tuple(out_shape[1:]))


def conv2d_f32(x, w, b, attrs, out_shape):
    _, oh, ow, oc = out_shape
    cols = patches(x, w.shape[1], w.shape[2], attrs, oh, ow, 0.0).reshape(x.shape[0], oh, ow, -1)
    out = cols.astype(np.float32) @ w.reshape(oc, -1).T.astype(np.float32)
    return out + (b if b is not None else 0)


def depthwise_conv2d_f32(x, w, b, attrs, out_shape):
    _, oh, ow, _ = out_shape
    cols = patches(x, w.shape[1], w.shape[2], attrs, oh, ow, 0.0)
    cols = np.repeat(cols, attrs.depth_multiplier, axis=-1)
    out = np.einsum("nyxhwc,hwc->nyxc", cols.astype(np.float32), w[0].astype(np.float32))
    return out + (b if b is not None else 0)


def fully_connected_f32(x, w, b, out_shape):
    out = x.reshape(-1, w.shape[1]).astype(np.float32) @ w.T.astype(np.float32)
    return (out + (b if b is not None else 0)).reshape((-1,) + tuple(out_shape[1:]))


def weighted_f32(kind: str, x, w, b, attrs, out_shape):
    """Float CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED before its fused activation."""
    if kind == "CONV_2D":
        return conv2d_f32(x, w, b, attrs, out_shape)
    if kind == "DEPTHWISE_CONV_2D":
        return depthwise_conv2d_f32(x, w, b, attrs, out_shape)
    return fully_connected_f32(x, w, b, out_shape)
