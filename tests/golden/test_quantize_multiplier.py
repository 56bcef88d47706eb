"""Golden values of quantize_multiplier (TFLite convention: real = m * 2^(shift-31), m in [2^30, 2^31))."""

import pytest

from mcucompress.errors import QuantizationError
from mcucompress.fixedpoint.scaling import quantize_multiplier, tflite_round


@pytest.mark.parametrize(
    "real, expected",
    [
        (0.0, (0, 0)),
        (0.5, (1 << 30, 0)),
        (1.0, (1 << 30, 1)),
        (0.25, (1 << 30, -1)),
        (0.75, (1610612736, 0)),
        (2.0 ** -40, (0, 0)),  # below 2^-31 TFLite flushes to zero
        (0.0003921568627, (1724724122, -11)),
        # 1 - 2^-33 rounds up to 2^31: the multiplier is halved and the shift bumped (the edge case).
        (1.0 - 2.0 ** -33, (1 << 30, 1)),
    ],
)
def test_golden(real, expected):
    assert quantize_multiplier(real) == expected


def test_reconstructs_real_within_one_ulp_of_the_multiplier():
    for real in (1e-6, 0.001234, 0.3, 0.999, 3.5, 1000.0):
        m, shift = quantize_multiplier(real)
        assert abs(m * 2.0 ** (shift - 31) - real) <= 2.0 ** (shift - 31)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.5, 2.0 ** 40])
def test_rejects_out_of_range(bad):
    with pytest.raises(QuantizationError):
        quantize_multiplier(bad)


def test_round_half_away_from_zero():
    assert [tflite_round(v) for v in (0.5, 1.5, 2.5, -0.5, -2.5)] == [1, 2, 3, -1, -3]
