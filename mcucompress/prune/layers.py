"""Weighted layers (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) seen as matrices, and their input patches.

A layer's weights are the matrix W [rows, columns] with y = W . patch: for CONV_2D the rows are output
channels and the columns (kh, kw, in_channel) in the weight's own memory order, so the input-channel axis
is the fastest one (N:M groups are runs of consecutive columns); FULLY_CONNECTED is [out, in] already.
A DEPTHWISE_CONV_2D (multiplier 1) has one row per channel and kh*kw columns, each row seeing its own
input channel. `patches` gives the matching rows of inputs (im2col), padding included, so that
W . patch is exactly the layer's pre-activation output less its bias.
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op

WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def weighted_ops(graph: Graph) -> list[Op]:
    return [op for op in graph.ops if op.kind in WEIGHTED]


def matrix(op: Op, w: np.ndarray) -> np.ndarray:
    """The [rows, columns] view of a weight array (a copy for depthwise)."""
    if op.kind == "DEPTHWISE_CONV_2D":
        return w.reshape(-1, w.shape[3]).T.copy()
    return w.reshape(w.shape[0], -1)


def unmatrix(op: Op, m: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of `matrix` for a weight of `shape`."""
    if op.kind == "DEPTHWISE_CONV_2D":
        return np.ascontiguousarray(m.T).reshape(shape)
    return m.reshape(shape)


def in_channels(op: Op, shape: tuple[int, ...]) -> int:
    """Length of the input-channel run in a row of `matrix` (1 for depthwise: one input per row)."""
    return 1 if op.kind == "DEPTHWISE_CONV_2D" else shape[-1]


def patches(graph: Graph, op: Op, x: np.ndarray) -> np.ndarray:
    """Input rows of the layer for activations x [N, ...]: [N * positions, columns] (depthwise: [.., kh*kw, C])."""
    w_shape = graph.t(op.inputs[1]).shape
    if op.kind == "FULLY_CONNECTED":
        return x.reshape(-1, w_shape[1])
    a = op.attrs
    out_h, out_w = graph.t(op.outputs[0]).shape[1:3]
    kh, kw = w_shape[1], w_shape[2]
    xp = np.pad(x, ((0, 0), (a.pad_top, a.pad_bottom), (a.pad_left, a.pad_right), (0, 0)))
    cols = [xp[:, i * a.dilation_h: i * a.dilation_h + a.stride_h * (out_h - 1) + 1: a.stride_h,
               j * a.dilation_w: j * a.dilation_w + a.stride_w * (out_w - 1) + 1: a.stride_w, :]
            for i in range(kh) for j in range(kw)]
    stacked = np.stack(cols, axis=3)  # [N, out_h, out_w, kh*kw, C]
    if op.kind == "DEPTHWISE_CONV_2D":
        return stacked.reshape(-1, kh * kw, x.shape[-1])
    return stacked.reshape(-1, kh * kw * x.shape[-1])


def patch_mean(graph: Graph, op: Op, x: np.ndarray, chunk: int = 64) -> np.ndarray:
    """Mean input row (depthwise: [kh*kw, C]) over every sample and output position."""
    total, count = 0.0, 0
    for s in range(0, len(x), chunk):
        p = patches(graph, op, x[s:s + chunk]).astype(np.float64)
        total = total + p.sum(axis=0)
        count += len(p)
    return total / count


def hessians(graph_p: Graph, op_p: Op, x_p: np.ndarray, graph_d: Graph, op_d: Op, x_d: np.ndarray,
             chunk: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(X_p^T X_p, X_p^T X_d) / rows, with a constant 1 column appended to both (for the bias): the normal
    equations of refitting the pruned layer on its own inputs X_p to the dense layer's outputs on X_d."""
    hpp = hpd = 0.0
    rows = 0
    for s in range(0, len(x_p), chunk):  # float32 products per chunk (BLAS speed), summed in float64
        p = patches(graph_p, op_p, x_p[s:s + chunk]).astype(np.float32)
        p = np.hstack([p, np.ones((len(p), 1), np.float32)])
        d = p if x_d is x_p and graph_d is graph_p else patches(graph_d, op_d, x_d[s:s + chunk]).astype(np.float32)
        if d is not p:
            d = np.hstack([d, np.ones((len(d), 1), np.float32)])
        hpp = hpp + (p.T @ p).astype(np.float64)
        hpd = hpd + (p.T @ d).astype(np.float64)
        rows += len(p)
    return hpp / rows, hpd / rows
