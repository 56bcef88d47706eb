"""N:M masks: in every run of M consecutive input channels (at one kernel tap) at most N weights survive."""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Op
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


def nm_mask(w: np.ndarray, n: int, m: int, score: np.ndarray | None = None) -> np.ndarray:
    """Keep the n largest of every m consecutive columns of the [rows, columns] matrix (by |w| or `score`)."""
    s = np.abs(w) if score is None else score
    rows, cols = s.shape
    groups = s.reshape(rows, cols // m, m)
    order = np.argsort(-groups, axis=2, kind="stable")
    keep = np.zeros_like(groups, bool)
    np.put_along_axis(keep, order[:, :, :n], True, axis=2)
    return keep.reshape(rows, cols)
