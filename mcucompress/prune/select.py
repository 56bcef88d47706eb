"""Reconstruction-aware channel selection (ThiNet / channel pruning by least squares, as group OBS).

Removing channel j of a group takes the columns R_j it feeds in every consumer layer (each kernel tap, each
flattened position). With the consumer's input Hessian H = X^T X (a constant column appended, so the bias
takes part) and its weights W [rows, columns + 1], the least-squares refit of the remaining columns leaves
the output error tr(W_R (H^-1_RR)^-1 W_R^T) (Optimal Brain Surgeon for a group of columns), and the refit is
W -= W_R (H^-1_RR)^-1 H^-1_R:, with H^-1 -= H^-1_:R (H^-1_RR)^-1 H^-1_R: for the columns left. Channels are
removed greedily, each time the one whose summed relative error over the consumers is the smallest, so the
order ranks channels by what least squares cannot make good, not by their own size. The refitted weights of
every step are kept for the sensitivity pass (the error a ratio costs after reconstruction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mcucompress.ir import Graph, Op
from mcucompress.prune import layers

DAMP = 1e-4  # of the mean Hessian diagonal: the refit stays (nearly) exact least squares


@dataclass
class Consumer:
    index: int  # op index
    cols: np.ndarray  # [channels of the group, k] weight columns each channel feeds
    w: np.ndarray  # [rows, columns + 1] current (refitted) weights, bias last
    hinv: np.ndarray  # [columns + 1, columns + 1] inverse Hessian of the columns left
    scale: float  # output energy tr(W H W^T), to compare consumers
    steps: list[np.ndarray] = field(default_factory=list)  # weights after 0, 1, 2, ... removals


def channel_columns(graph: Graph, op: Op, offsets: list[int], size: int, c_all: int, repeat: int) -> np.ndarray:
    """[size, k]: the columns of `op`'s weight matrix that read each channel of a group at `offsets`."""
    w = graph.t(op.inputs[1]).data
    taps = layers.matrix(op, w).shape[1] // (c_all * repeat) if op.kind != "FULLY_CONNECTED" else 1
    per = taps * repeat
    base = np.concatenate([off + np.arange(size)[:, None] for off in offsets], axis=1)  # [size, segments]
    stride = np.arange(per) * c_all
    return (base[:, :, None] + stride[None, None, :]).reshape(size, -1)


def hessian(graph: Graph, op: Op, x: np.ndarray, chunk: int = 64) -> np.ndarray:
    """(X^T X) / rows of the layer's input rows with a constant column appended."""
    h, rows = 0.0, 0
    for s in range(0, len(x), chunk):
        p = layers.patches(graph, op, x[s:s + chunk]).astype(np.float32)
        p = np.hstack([p, np.ones((len(p), 1), np.float32)])
        h = h + (p.T @ p).astype(np.float64)
        rows += len(p)
    return h / rows


def inverse(h: np.ndarray, damp: float = DAMP) -> np.ndarray:
    h = h.copy()
    d = np.diag(h).copy()
    dead = d <= 0
    h[dead, dead] = 1.0
    h[np.diag_indices_from(h)] += damp * np.mean(d[~dead]) if np.any(~dead) else damp
    return np.linalg.inv(h)


def _cost(c: Consumer, cand: np.ndarray) -> np.ndarray:
    """Relative output error of removing each candidate channel (rows of c.cols[cand]) from consumer c."""
    r = c.cols[cand]  # [n, k]
    hrr = c.hinv[r[:, :, None], r[:, None, :]]  # [n, k, k]
    s = np.linalg.inv(hrr)
    wr = np.moveaxis(c.w[:, r], 0, 1)  # [n, rows, k]
    return np.einsum("nrk,nkl,nrl->n", wr, s, wr) / c.scale


def _remove(c: Consumer, j: int) -> None:
    r = c.cols[j]
    s = np.linalg.inv(c.hinv[np.ix_(r, r)])
    c.w -= (c.w[:, r] @ s) @ c.hinv[r, :]
    c.hinv -= c.hinv[:, r] @ s @ c.hinv[r, :]
    c.w[:, r] = 0.0
    c.hinv[r, :] = 0.0
    c.hinv[:, r] = 0.0
    c.steps.append(c.w.copy())


def greedy_order(consumers: list[Consumer], size: int, keep_min: int = 1) -> tuple[np.ndarray, list[float]]:
    """Channels in removal order (first removed first), the last `keep_min` in order of the error they would
    cost; and the summed relative error after each removal."""
    left = list(range(size))
    order, errs, total = [], [], 0.0
    while len(left) > keep_min:
        cand = np.array(left)
        cost = sum(_cost(c, cand) for c in consumers)
        j = int(cand[int(np.argmin(cost))])
        total += float(np.min(cost))
        for c in consumers:
            _remove(c, j)
        order.append(j)
        errs.append(total)
        left.remove(j)
    if left:
        cand = np.array(left)
        cost = sum(_cost(c, cand) for c in consumers)
        order.extend(int(cand[i]) for i in np.argsort(cost, kind="stable"))
    return np.array(order), errs


def consumer_state(graph: Graph, op: Op, index: int, x: np.ndarray, cols: np.ndarray) -> Consumer:
    from mcucompress.prune.recovery import weights_and_bias

    h = hessian(graph, op, x)
    w = weights_and_bias(graph, op)
    scale = float(np.einsum("rc,cd,rd->", w, h, w)) + 1e-30
    return Consumer(index, cols, w.copy(), inverse(h), scale, [w.copy()])
