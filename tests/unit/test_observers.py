"""Calibration observers on distributions whose right answer is known.

minmax covers outliers, KL and MSE clip them when that lowers the error, percentile clips at the
requested quantile, moving average tracks the mean batch extremes, and every range is usable by
asymmetric int8: it contains 0 and is wider than a point, even for constant or all-zero tensors.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.errors import DataError
from mcucompress.quantize.observers import (
    OBSERVERS,
    KlObserver,
    MovingAverageMinMaxObserver,
    PercentileObserver,
    make_observer,
)
from mcucompress.quantize.quantizer import activation_quant

METHODS = sorted(OBSERVERS)


def observe(method_or_observer, x: np.ndarray, batches: int = 10) -> tuple[float, float]:
    obs = make_observer(method_or_observer) if isinstance(method_or_observer, str) else method_or_observer
    for chunk in np.array_split(np.asarray(x, np.float32), batches):
        obs.update(chunk)
    return obs.range()


def quant_mse(x: np.ndarray, lo: float, hi: float) -> float:
    """Mean squared error of x through the int8 quantization the quantizer derives from [lo, hi]."""
    q = activation_quant(lo, hi)
    s, zp = q.s, q.zp
    deq = (np.clip(np.round(x / s) + zp, -128, 127) - zp) * s
    return float(np.mean((deq - x) ** 2))


def laplace_with_outliers(rng, n=200_000, outliers=50, at=60.0) -> np.ndarray:
    x = rng.laplace(size=n)
    x[rng.choice(n, outliers, replace=False)] = at * rng.choice([-1.0, 1.0], outliers)
    return x


def test_minmax_covers_outliers_kl_clips_them():
    x = laplace_with_outliers(np.random.default_rng(0))
    lo, hi = observe("minmax", x)
    assert (lo, hi) == (-60.0, 60.0)
    lo, hi = observe("kl", x)
    # Laplace(1): 99.9% of |x| lies below 6.9; KL keeps the bulk and drops the +-60 outliers.
    assert 5.0 < hi < 20.0 and -20.0 < lo < -5.0
    bulk = x[np.abs(x) < 5]  # finer steps for the values that matter
    assert quant_mse(bulk, lo, hi) < quant_mse(bulk, -60.0, 60.0) / 10


def test_kl_clips_a_cauchy_tail_but_at_most_its_clipping_budget():
    x = np.random.default_rng(1).standard_cauchy(200_000)
    amax = float(np.abs(x).max())
    lo, hi = observe("kl", x)
    assert hi < amax / 50 and lo > -amax / 50
    clipped = np.mean((x > hi) | (x < lo))
    assert 0 < clipped <= KlObserver.max_clipped


def spiky(rng, budget: float) -> tuple[np.ndarray, tuple[float, float]]:
    """A ReLU-like layer with dead channels: each outputs one small constant at all 3600 positions."""
    x = np.concatenate([rng.exponential(0.3, 100_000), rng.exponential(2.0, 2000)]
                       + [np.full(3600, c) for c in rng.uniform(0.0, 0.45, 20)])
    x = rng.permutation(np.minimum(x, 9.0))
    obs = KlObserver()
    obs.max_clipped = budget
    return x, observe(obs, x)


def test_kl_does_not_clip_live_values_because_of_constant_spikes():
    """Spikes look costly to KL when bins merge (int8 represents them well), so plain KL picks its
    smallest threshold and clips live values; the clipping budget stops that."""
    x, (lo, hi) = spiky(np.random.default_rng(9), budget=1.0)
    assert np.mean(x > hi) > 0.02  # the failure the budget exists for
    x, (lo, hi) = spiky(np.random.default_rng(9), budget=KlObserver.max_clipped)
    assert lo == 0.0 and 0 < np.mean(x > hi) <= KlObserver.max_clipped


def test_kl_ignores_the_relu_spike_at_zero():
    """Half the values of a ReLU output are exactly 0; they must not drive the threshold to its minimum."""
    x = np.maximum(np.random.default_rng(2).normal(size=200_000), 0)
    lo, hi = observe("kl", x)
    assert lo == 0.0 and 3.0 < hi <= x.max()


@pytest.mark.parametrize("percentile, expected", [(99.0, 2.5758), (99.9, 3.2905)])
def test_percentile_clips_a_normal_at_its_quantile(percentile, expected):
    x = np.random.default_rng(3).normal(size=400_000)
    lo, hi = observe(PercentileObserver(percentile), x)
    assert hi == pytest.approx(expected, abs=0.05) and lo == pytest.approx(-expected, abs=0.05)


def test_percentile_of_a_uniform_beyond_the_reservoir():
    """More values than the reservoir holds: the uniform sample still gives the right quantiles."""
    obs = PercentileObserver(98.0)
    obs.capacity = 20_000
    x = np.random.default_rng(4).uniform(-1.0, 3.0, 300_000)
    lo, hi = observe(obs, x, batches=30)
    assert obs.reservoir.size == 20_000 and obs.seen == 300_000
    assert lo == pytest.approx(-1.0 + 4 * 0.01, abs=0.02) and hi == pytest.approx(3.0 - 4 * 0.01, abs=0.02)


def test_mse_is_narrower_than_minmax_and_quantizes_better():
    rng = np.random.default_rng(5)
    x = rng.normal(size=400_000)
    x[:3] = [7.0, -6.5, 6.8]  # rare: clipping them costs less than the coarser scale covering them
    mm, mse = observe("minmax", x), observe("mse", x)
    assert mse[1] - mse[0] < 0.85 * (mm[1] - mm[0])
    assert quant_mse(x, *mse) < quant_mse(x, *mm)


def test_mse_keeps_outliers_that_cost_more_clipped():
    """Many far outliers: clipping them costs more than the coarser scale that covers them."""
    x = laplace_with_outliers(np.random.default_rng(6), outliers=200, at=100.0)
    lo, hi = observe("mse", x)
    assert hi > 90.0 and lo < -90.0


def test_moving_average_tracks_mean_batch_extremes():
    rng = np.random.default_rng(7)
    batches = [rng.normal(size=1000) for _ in range(300)]
    obs = MovingAverageMinMaxObserver()
    for b in batches:
        obs.update(b)
    lo, hi = obs.range()
    mean_min, mean_max = np.mean([b.min() for b in batches]), np.mean([b.max() for b in batches])
    assert lo == pytest.approx(mean_min, abs=0.25) and hi == pytest.approx(mean_max, abs=0.25)
    all_x = np.concatenate(batches)
    assert all_x.min() < lo and hi < all_x.max()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("value", [0.0, 3.0, -2.0])
def test_constant_tensor_gives_a_usable_range_that_represents_it(method, value):
    lo, hi = observe(method, np.full(5000, value))
    assert lo <= 0.0 <= hi and hi - lo > 0
    q = activation_quant(lo, hi)
    code = np.clip(np.round(value / q.s) + q.zp, -128, 127)
    assert (code - q.zp) * q.s == pytest.approx(value, abs=1e-6 * max(1.0, abs(value)))
    assert q.s > 1e-6  # not a degenerate scale that would overflow downstream multipliers


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("a, b", [(2.0, 5.0), (-5.0, -2.0), (-1.0, 4.0)])
def test_ranges_always_contain_zero(method, a, b):
    lo, hi = observe(method, np.random.default_rng(8).uniform(a, b, 20_000))
    assert lo <= 0.0 <= hi and hi > lo


@pytest.mark.parametrize("method", METHODS)
def test_non_finite_values_are_refused(method):
    obs = make_observer(method)
    with pytest.raises(DataError, match="NaN or infinite"):
        obs.update(np.array([1.0, np.nan], np.float32))


@pytest.mark.parametrize("method", METHODS)
def test_a_range_needs_values(method):
    with pytest.raises(DataError, match="no calibration values"):
        make_observer(method).range()


def test_unknown_method():
    with pytest.raises(DataError, match="choose one of"):
        make_observer("entropy")
