"""Validation against the float model (as `stedgeai validate`): how far the int8 outputs are from float32.

`compare` is the arithmetic alone: our int8 outputs, dequantized with the output's scale and zero point,
against the float model's outputs on the same samples. RMSE, max |error| and cosine similarity are taken
over all values of all samples (cosine of the flattened arrays, as stedgeai does); top-1 agreement is the
share of samples whose largest output is at the same index (only for outputs of more than one value).
"""

from __future__ import annotations

import numpy as np


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (q.astype(np.float64) - zero_point) * scale


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two flattened arrays; two all-zero arrays agree (1), one all-zero array does not (0)."""
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0
    return float(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))


def compare(ours: np.ndarray, reference: np.ndarray) -> dict:
    """Metrics of `ours` (dequantized int8 outputs, [N, ...]) against the float `reference` of the same shape."""
    if ours.shape != reference.shape:
        raise ValueError(f"outputs of shape {ours.shape} cannot be compared with {reference.shape}")
    a = ours.reshape(len(ours), -1).astype(np.float64)
    b = reference.reshape(len(reference), -1).astype(np.float64)
    err = a - b
    agree = float(np.mean(a.argmax(axis=1) == b.argmax(axis=1))) if a.shape[1] > 1 else None
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "max_abs_error": float(np.max(np.abs(err))),
        "mean_abs_error": float(np.mean(np.abs(err))),
        "cosine": cosine(a, b),
        "top1_agreement": agree,
    }
