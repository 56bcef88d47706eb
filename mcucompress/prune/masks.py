"""Magnitude masks (True = kept weight): per layer, from one global threshold, or a given count per row."""

from __future__ import annotations

import numpy as np


def magnitude_mask(m: np.ndarray, ratio: float) -> np.ndarray:
    """Keep all but the round(ratio * size) smallest |w| of matrix `m` (ties broken by position)."""
    k = int(round(ratio * m.size))
    keep = np.ones(m.size, bool)
    if k > 0:
        keep[np.argsort(np.abs(m).ravel(), kind="stable")[:k]] = False
    return keep.reshape(m.shape)


def global_ratios(mats: list[np.ndarray], ratio: float) -> list[float]:
    """Per-layer ratios that one magnitude threshold across all layers gives (normalized by each layer's
    RMS, so a layer with small weights is not emptied just for its scale)."""
    scores = [np.abs(m).ravel() / (np.sqrt(np.mean(m.astype(np.float64) ** 2)) + 1e-30) for m in mats]
    allv = np.concatenate(scores)
    k = int(round(ratio * allv.size))
    if k == 0:
        return [0.0] * len(mats)
    thr = np.partition(allv, k - 1)[k - 1]
    return [float(np.mean(s <= thr)) for s in scores]


def erk_ratios(shapes: list[tuple[int, ...]], ratio: float) -> list[float]:
    """Per-layer ratios of the Erdos-Renyi-Kernel allocation (Evci et al., RigL 2020): a layer's density is
    proportional to sum(shape) / prod(shape), scaled so that `ratio` of all the weights go; layers that would
    exceed density 1 stay dense and the rest share the remaining budget. Small layers (a 16-channel 3x3 conv,
    1x1 shortcuts, the classifier) keep most of their weights while the large ones carry the sparsity,
    which suits small CNNs whose few narrow layers are the sensitive ones."""
    sizes = np.array([float(np.prod(s)) for s in shapes])
    raw = np.array([float(sum(s)) for s in shapes]) / sizes
    dense = np.zeros(len(shapes), bool)
    for _ in range(len(shapes) + 1):
        budget = (1 - ratio) * sizes.sum() - sizes[dense].sum()
        scale = budget / max(float((raw * sizes)[~dense].sum()), 1e-30)
        density = np.where(dense, 1.0, scale * raw)
        if not np.any(density > 1):
            break
        dense |= density > 1
    return [float(1 - min(max(d, 0.0), 1.0)) for d in density]


def sparsity(mats: list[np.ndarray]) -> float:
    total = sum(m.size for m in mats)
    return float(sum(int(np.sum(m == 0)) for m in mats) / max(total, 1))
