"""Range observers for activation calibration: minmax, moving-average minmax, percentile, KL, MSE.

Each observer sees float32 batches through `update(x)` and answers `range() -> (lo, hi)`. Every range
contains 0 (asymmetric int8 must represent 0.0 exactly: padding, ReLU) and is never a single point.
The percentile, KL and MSE observers pick their range from a bounded uniform sample of the values seen
(reservoir sampling), so memory does not grow with the calibration set.
"""

from __future__ import annotations

import numpy as np

from mcucompress.errors import DataError

EMPTY_SPAN = 1.0  # the range of an all-zero tensor: any scale represents it; this one keeps multipliers sane


def valid_range(lo: float, hi: float) -> tuple[float, float]:
    """[lo, hi] widened to contain 0 and to be wider than a point."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo <= 0.0:
        hi = EMPTY_SPAN
    return lo, hi


class MinMaxObserver:
    """The full observed range: covers every outlier."""

    def __init__(self):
        self.lo, self.hi = np.inf, -np.inf

    def update(self, x: np.ndarray) -> None:
        x = np.asarray(x)
        if x.size == 0:
            return
        if not np.all(np.isfinite(x)):
            raise DataError("calibration produced NaN or infinite activations; check the calibration data and model")
        self._observe(x)

    def _observe(self, x: np.ndarray) -> None:
        self.lo = min(self.lo, float(x.min()))
        self.hi = max(self.hi, float(x.max()))

    def range(self) -> tuple[float, float]:
        if self.lo > self.hi:
            raise DataError("no calibration values were observed; give at least one sample")
        return valid_range(*self._clip_range())

    def _clip_range(self) -> tuple[float, float]:
        return self.lo, self.hi


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Exponential moving average of per-batch min and max (as TF's fake-quant training)."""

    def __init__(self, momentum: float = 0.9):
        super().__init__()
        self.momentum = momentum
        self.seen = False

    def _observe(self, x: np.ndarray) -> None:
        lo, hi = float(x.min()), float(x.max())
        if not self.seen:
            self.lo, self.hi, self.seen = lo, hi, True
        else:
            m = self.momentum
            self.lo, self.hi = m * self.lo + (1 - m) * lo, m * self.hi + (1 - m) * hi


class SampleObserver(MinMaxObserver):
    """Keeps the exact min/max and a uniform random sample of at most `capacity` values seen."""

    capacity = 1 << 20

    def __init__(self, seed: int = 0):
        super().__init__()
        self.reservoir = np.empty(0, np.float32)
        self.seen = 0
        self.rng = np.random.default_rng(seed)

    def _observe(self, x: np.ndarray) -> None:
        super()._observe(x)
        x = np.asarray(x, np.float32).ravel()
        room = self.capacity - self.reservoir.size
        if room > 0:
            self.reservoir = np.concatenate([self.reservoir, x[:room]])
            self.seen += min(room, x.size)
            x = x[room:]
        if x.size:
            # Reservoir sampling (algorithm R), vectorized: value number i is kept with probability
            # capacity / (i + 1) in a random slot; later values win slot collisions, as sequentially.
            index = self.seen + np.arange(x.size)
            keep = self.rng.random(x.size) < self.capacity / (index + 1.0)
            slots = self.rng.integers(0, self.capacity, int(keep.sum()))
            self.reservoir[slots] = x[keep]
            self.seen += x.size

    def _clip_range(self) -> tuple[float, float]:
        raise NotImplementedError


class PercentileObserver(SampleObserver):
    """Clip the lowest and highest `(100 - percentile)/2` percent of values."""

    def __init__(self, percentile: float = 99.99):
        super().__init__()
        self.percentile = percentile

    def _clip_range(self) -> tuple[float, float]:
        tail = (100.0 - self.percentile) / 2
        lo, hi = np.percentile(self.reservoir, [tail, 100 - tail])
        return float(lo), float(hi)


class MseObserver(SampleObserver):
    """The clipping range [lo, hi] minimising the expected squared quantization error, over a grid.

    Error of a candidate: the exact clipping error of the values outside it, plus scale^2 / 12 (uniform
    rounding error) for each non-zero value inside (exact zeros are represented exactly). Prefix sums
    over the sorted sample make every candidate O(log n), so the grid can be fine and 2-D.
    """

    fractions = np.geomspace(0.01, 1.0, 96)

    def _clip_range(self) -> tuple[float, float]:
        xs = np.sort(self.reservoir.astype(np.float64))
        n, zeros = xs.size, int(np.count_nonzero(xs == 0))
        s1, s2 = np.concatenate([[0.0], np.cumsum(xs)]), np.concatenate([[0.0], np.cumsum(xs * xs)])
        lo0, hi0 = valid_range(self.lo, self.hi)
        his = hi0 * self.fractions if self.hi > 0 else np.array([hi0])
        los = lo0 * self.fractions if self.lo < 0 else np.array([lo0])
        k = np.searchsorted(xs, his, "right")  # values above hi: xs[k:]
        j = np.searchsorted(xs, los, "left")  # values below lo: xs[:j]
        clip_hi = (s2[n] - s2[k]) - 2 * his * (s1[n] - s1[k]) + his**2 * (n - k)
        clip_lo = s2[j] - 2 * los * s1[j] + los**2 * j
        inside = np.maximum(k[None, :] - j[:, None] - zeros, 0)
        scale = (his[None, :] - los[:, None]) / 255.0
        err = clip_hi[None, :] + clip_lo[:, None] + inside * scale**2 / 12.0
        a, b = np.unravel_index(np.argmin(err), err.shape)
        return float(los[a]), float(his[b])


class KlObserver(SampleObserver):
    """TensorRT-style entropy calibration: the clip threshold on |x| minimising KL(P || Q).

    Q quantizes the clipped histogram into as many levels as int8 gives that side of zero: 128 for
    a two-sided tensor, 256 for a one-sided one (ReLU outputs get all of [0, T] for their 256 levels).
    Three guards against KL's known failure modes, each seen on MLPerf Tiny models:
    - exact zeros are left out: the zero point represents them exactly, and the spike of a ReLU output
      at 0 would otherwise dominate the divergence and push the threshold to its minimum;
    - at most `max_clipped` of the values may be clipped: other spikes (dead channels that output a
      constant at every position) make merging bins look costly to KL although int8 represents a spike
      well, and KL would then clip whole live channels (vww: 12% of a layer, 1 dB output SQNR);
    - when the best threshold is the smallest the histogram can express (a very heavy tail squeezes
      the bulk into its first bins), the histogram zooms in on [0, that threshold] and searches again.
    """

    bins = 2048
    stride = 16
    zooms = 6
    max_clipped = 1e-3

    def _clip_range(self) -> tuple[float, float]:
        data = np.abs(self.reservoir[self.reservoir != 0]).astype(np.float64)
        top = max(abs(self.lo), abs(self.hi))
        if top == 0 or data.size == 0:
            return self.lo, self.hi
        levels = 256 if self.lo >= 0 or self.hi <= 0 else 128
        threshold = top
        for _ in range(self.zooms):
            hist, edges = np.histogram(data, bins=self.bins, range=(0, top))
            hist = hist.astype(np.float64)
            beyond = float(np.count_nonzero(data > top))  # outliers for every candidate of this histogram
            clipped = (np.cumsum(hist[::-1])[::-1] - hist + beyond) / data.size  # clipped[i - 1]: above bin i - 1
            candidates = [i for i in range(levels, self.bins + 1, self.stride) if clipped[i - 1] <= self.max_clipped]
            if not candidates:
                break
            best_i = min(candidates, key=lambda i: _kl_clipped(hist, i, levels, beyond))
            threshold = float(edges[best_i])
            if best_i > levels:
                break
            top = threshold
        return max(self.lo, -threshold), min(self.hi, threshold)


def _kl_clipped(hist: np.ndarray, i: int, levels: int, beyond: float = 0.0) -> float:
    """KL(P || Q): P is hist clipped to its first i bins (outliers, `beyond` included, added to the last
    one), Q the same bins merged into `levels` groups and spread back evenly over P's non-zero bins."""
    p = hist[:i].copy()
    p[-1] += hist[i:].sum() + beyond
    if p.sum() == 0:
        return np.inf
    starts = np.array([c[0] for c in np.array_split(np.arange(i), levels)])
    nonzero = (p > 0).astype(np.float64)
    sums = np.add.reduceat(hist[:i], starts)
    counts = np.add.reduceat(nonzero, starts)
    group = np.repeat(np.arange(levels), np.diff(np.append(starts, i)))
    q = np.where(nonzero > 0, (sums / np.maximum(counts, 1))[group], 0.0)
    p, q = p / p.sum(), q / max(q.sum(), 1e-12)
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / np.maximum(q[mask], 1e-12))))


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
