"""Range observers for activation calibration: minmax, moving-average minmax, percentile, KL, MSE.

Each observer sees float32 batches through `update(x)` and answers `range() -> (lo, hi)`. Histogram
observers keep a fixed-bin histogram over the running absolute maximum (re-binned as it grows).
"""

from __future__ import annotations

import numpy as np

from mcucompress.errors import DataError


class MinMaxObserver:
    """The full observed range: covers every outlier."""

    def __init__(self):
        self.lo, self.hi = np.inf, -np.inf

    def update(self, x: np.ndarray) -> None:
        if not np.all(np.isfinite(x)):
            raise DataError("calibration produced NaN or infinite activations; check the calibration data and model")
        self.lo = min(self.lo, float(x.min()))
        self.hi = max(self.hi, float(x.max()))

    def range(self) -> tuple[float, float]:
        return self.lo, self.hi


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Exponential moving average of per-batch min and max (as TF's fake-quant training)."""

    def __init__(self, momentum: float = 0.9):
        super().__init__()
        self.momentum = momentum
        self.seen = False

    def update(self, x: np.ndarray) -> None:
        lo, hi = float(x.min()), float(x.max())
        if not self.seen:
            self.lo, self.hi, self.seen = lo, hi, True
        else:
            m = self.momentum
            self.lo, self.hi = m * self.lo + (1 - m) * lo, m * self.hi + (1 - m) * hi


class HistogramObserver(MinMaxObserver):
    """Keeps a histogram of values over [lo, hi] of everything seen; subclasses pick the range from it."""

    bins = 2048

    def __init__(self):
        super().__init__()
        self.samples: list[np.ndarray] = []

    def update(self, x: np.ndarray) -> None:
        super().update(x)
        self.samples.append(np.asarray(x, np.float32).ravel())

    def histogram(self) -> tuple[np.ndarray, np.ndarray]:
        data = np.concatenate(self.samples)
        hist, edges = np.histogram(data, bins=self.bins, range=(self.lo, self.hi if self.hi > self.lo else self.lo + 1e-8))
        return hist.astype(np.float64), edges


class PercentileObserver(HistogramObserver):
    """Clip the lowest and highest `(100 - percentile)/2` percent of values."""

    def __init__(self, percentile: float = 99.99):
        super().__init__()
        self.percentile = percentile

    def range(self) -> tuple[float, float]:
        data = np.concatenate(self.samples)
        tail = (100.0 - self.percentile) / 2
        return float(np.percentile(data, tail)), float(np.percentile(data, 100 - tail))


def _quant_error_mse(data: np.ndarray, lo: float, hi: float, levels: int = 255) -> float:
    scale = (hi - lo) / levels
    q = np.clip(np.round((data - lo) / scale), 0, levels) * scale + lo
    return float(np.mean((q - data) ** 2))


class MseObserver(HistogramObserver):
    """Choose the clipping range that minimises the mean squared quantization error (grid search)."""

    def range(self) -> tuple[float, float]:
        data = np.concatenate(self.samples)
        if data.size > 200_000:
            data = np.random.default_rng(0).choice(data, 200_000, replace=False)
        best, best_err = (self.lo, self.hi), np.inf
        for frac in np.linspace(0.3, 1.0, 36):
            lo, hi = min(self.lo * frac, 0.0), max(self.hi * frac, 0.0)
            if hi - lo <= 0:
                continue
            err = _quant_error_mse(data, lo, hi)
            if err < best_err:
                best, best_err = (lo, hi), err
        return best


class KlObserver(HistogramObserver):
    """TensorRT-style entropy calibration: the clip threshold minimising KL(P || Q) over 128 levels."""

    target_bins = 128

    def range(self) -> tuple[float, float]:
        data = np.concatenate(self.samples)
        amax = max(abs(self.lo), abs(self.hi))
        if amax == 0:
            return 0.0, 0.0
        hist, edges = np.histogram(np.abs(data), bins=self.bins, range=(0, amax))
        hist = hist.astype(np.float64)
        best_i, best_kl = self.bins, np.inf
        for i in range(self.target_bins, self.bins + 1, 16):
            p = hist[:i].copy()
            p[i - 1] += hist[i:].sum()  # outliers are clipped into the last bin
            if p.sum() == 0:
                continue
            # quantize p into target_bins levels, then expand back over the non-zero bins
            chunks = np.array_split(np.arange(i), self.target_bins)
            q = np.zeros(i)
            for c in chunks:
                nz = hist[c] > 0
                if nz.any():
                    q[c[nz]] = hist[c].sum() / nz.sum()
            p_n, q_n = p / p.sum(), q / max(q.sum(), 1e-12)
            mask = p_n > 0
            kl = float(np.sum(p_n[mask] * np.log(p_n[mask] / np.maximum(q_n[mask], 1e-12))))
            if kl < best_kl:
                best_i, best_kl = i, kl
        threshold = float(edges[best_i])
        lo = max(self.lo, -threshold) if self.lo < 0 else self.lo
        return lo, min(self.hi, threshold)


OBSERVERS = {
    "minmax": MinMaxObserver,
    "moving_average": MovingAverageMinMaxObserver,
    "percentile": PercentileObserver,
    "kl": KlObserver,
    "mse": MseObserver,
}


def make_observer(method: str):
    if method not in OBSERVERS:
        raise DataError(f"unknown calibration method '{method}'; choose one of {', '.join(OBSERVERS)}")
    return OBSERVERS[method]()
