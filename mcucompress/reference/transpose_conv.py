"""TRANSPOSE_CONV in int8 (TFLM reference_integer_ops::TransposeConv) and float32 (reference_ops).

TFLM scatters: input pixel (y, x) adds (x + input_offset) * w[o, ky, kx, :] to output pixel
(y * stride_h - pad_top + ky, x * stride_w - pad_left + kx) when that lies inside the output, into int32
accumulators; then bias, per-channel requantization, output offset and the activation clamp. Here each
kernel tap is one matrix product added to a strided view of a canvas holding the full scatter (and any
extra rows a negative pad_bottom / pad_right asks for), cropped to the output at the end. Every partial sum
is an integer far below 2^53, so float64 accumulation is the exact int32 accumulator.
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint import params as fp
from mcucompress.ir import Graph, Op
from mcucompress.reference.conv import _requantize

FLOAT_ACT_RANGE = {"NONE": (-np.inf, np.inf), "RELU": (0.0, np.inf), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def _scatter(x: np.ndarray, w: np.ndarray, attrs, out_shape, dtype) -> np.ndarray:
    """sum over taps of x @ w[:, ky, kx, :].T placed at stride steps, cropped to out_shape [N, OH, OW, O]."""
    n, h, wd, _ = x.shape
    oc, kh, kw, _ = w.shape
    _, oh, ow, _ = out_shape
    sh, sw = attrs.stride_h, attrs.stride_w
    rows = max((h - 1) * sh + kh, attrs.pad_top + oh)
    cols = max((wd - 1) * sw + kw, attrs.pad_left + ow)
    canvas = np.zeros((n, rows, cols, oc), dtype)
    xt, wt = x.astype(dtype), w.astype(dtype)
    for i in range(kh):
        for j in range(kw):
            canvas[:, i:i + (h - 1) * sh + 1:sh, j:j + (wd - 1) * sw + 1:sw, :] += xt @ wt[:, i, j, :].T
    return canvas[:, attrs.pad_top:attrs.pad_top + oh, attrs.pad_left:attrs.pad_left + ow, :]


def transpose_conv_s8(x: np.ndarray, w: np.ndarray, p: fp.ConvParams, attrs, out_shape) -> np.ndarray:
    """x [N,H,W,C] int8, w [O,KH,KW,C] int8 (zero point 0) -> [N,OH,OW,O] int8."""
    acc = _scatter(x.astype(np.float64) + p.input_offset, w, attrs, out_shape, np.float64)
    return _requantize(acc.astype(np.int64) + p.bias, p)


def transpose_conv_f32(x: np.ndarray, w: np.ndarray, b, attrs, out_shape) -> np.ndarray:
    out = _scatter(x, w, attrs, out_shape, np.float32)
    out = out + (b.astype(np.float32) if b is not None else np.float32(0))
    lo, hi = FLOAT_ACT_RANGE[attrs.activation]
    return np.clip(out, lo, hi).astype(np.float32)


def transpose_conv(graph: Graph, op: Op, xs: list) -> np.ndarray:
    """The executor's entry (OpSpec.reference): inputs [x, weights, optional bias]."""
    out = graph.t(op.outputs[0])
    if out.dtype == "int8":
        return transpose_conv_s8(xs[0], xs[1], fp.conv_params(graph, op), op.attrs, out.shape)
    return transpose_conv_f32(xs[0], xs[1], xs[2] if len(xs) > 2 else None, op.attrs, out.shape)
