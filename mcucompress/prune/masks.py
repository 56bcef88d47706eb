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


def sparsity(mats: list[np.ndarray]) -> float:
    total = sum(m.size for m in mats)
    return float(sum(int(np.sum(m == 0)) for m in mats) / max(total, 1))
