"""N:M masks: in every run of M consecutive input channels (at one kernel tap) at most N weights survive.

A mask may be shared by blocks of consecutive output channels (rows; `rows` = 2: row pairs 2i, 2i + 1): every row
is still N:M, and the rows of a block keep the same positions, ranked by the block's combined score. Kernels that
serve two output channels per decoded position need that; ranking by one row alone would not give it.
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op
from mcucompress.prune import layers
from mcucompress.prune.layers import in_channels

PATTERNS = {"2:4": (2, 4), "1:4": (1, 4)}


def why_not(op: Op, shape: tuple[int, ...], m: int) -> str | None:
    """None when the layer can take N:M groups of `m`, else the reason (for the error or report)."""
    if op.kind == "DEPTHWISE_CONV_2D":
        return "a depthwise convolution has one input channel per output (no input-channel groups)"
    c = in_channels(op, shape)
    if c % m:
        return f"its {c} input channels are not a multiple of {m}"
    return None


def runs_sparse(graph: Graph, op: Op, n: int, m: int) -> bool:
    """Whether the compiler would run this layer sparse once it is N:M (codegen/sparse.py's choice on the DSP
    target, where the N:M kernels run): where it would not, the zeros save neither flash nor instructions and
    only cost accuracy (ResNet-8's 1x1 shortcuts, its first stride-2 3x3 and its classifier: 68.65% -> 74.15% top-1
    int8 with reconstruction when they stay dense, at the same weight bytes and instructions)."""
    from mcucompress.codegen import sparse

    w = graph.t(op.inputs[1])
    proxy = np.where(nm_mask(layers.matrix(op, w.data), n, m), 1, 0)  # the pattern is all the choice reads
    choice = sparse.choose(graph, op, sparse.Target(), weights=layers.unmatrix(op, proxy, w.shape).astype(np.int8))
    return choice is not None and choice.format != "dense"


def block_score(score: np.ndarray, rows: int) -> np.ndarray:
    """Each row's score replaced by the sum over its block of `rows` consecutive rows (the last block may be
    shorter), so a ranking per row gives every row of a block the same order."""
    if rows <= 1:
        return score
    n = score.shape[0]
    pad = (-n) % rows
    blocks = np.pad(score, ((0, pad),) + ((0, 0),) * (score.ndim - 1)).reshape((-1, rows) + score.shape[1:])
    return np.repeat(blocks.sum(axis=1), rows, axis=0)[:n]


def nm_mask(w: np.ndarray, n: int, m: int, score: np.ndarray | None = None, rows: int = 1) -> np.ndarray:
    """Keep the n largest of every m consecutive columns of the [rows, columns] matrix (by |w| or `score`), the
    same positions for each block of `rows` consecutive rows (ranked by the block's summed score)."""
    s = block_score(np.abs(w) if score is None else score, rows)
    rows, cols = s.shape
    groups = s.reshape(rows, cols // m, m)
    order = np.argsort(-groups, axis=2, kind="stable")
    keep = np.zeros_like(groups, bool)
    np.put_along_axis(keep, order[:, :, :n], True, axis=2)
    return keep.reshape(rows, cols)
