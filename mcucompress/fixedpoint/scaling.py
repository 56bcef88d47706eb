"""Real-valued scales to (int32 multiplier, shift) pairs, exactly as TFLite's quantization_util.cc.

The one place where a float becomes a fixed-point multiplier. Positive shift means a left shift.
"""

from __future__ import annotations

import math

from mcucompress.errors import QuantizationError


def tflite_round(x: float) -> int:
    """std::round: halves away from zero (Python's round() rounds halves to even)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(multiplier, shift) with real ~= multiplier * 2^(shift - 31), multiplier in [2^30, 2^31)."""
    if not math.isfinite(real) or real < 0:
        raise QuantizationError(f"scale {real!r} is not a finite non-negative number")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = tflite_round(q * (1 << 31))
    if q_fixed == 1 << 31:  # rounding carried into the next power of two
        q_fixed //= 2
        shift += 1
    if shift < -31:  # too small to represent: TFLite flushes to zero
        return 0, 0
    if shift > 30:
        raise QuantizationError(f"scale {real!r} is too large for a fixed-point multiplier (shift {shift} > 30)")
    return q_fixed, shift


def quantize_multiplier_smaller_than_one(real: float) -> tuple[int, int]:
    """As quantize_multiplier, for 0 < real < 1 (TFLite's QuantizeMultiplierSmallerThanOneExp)."""
    if not 0.0 < real < 1.0:
        raise QuantizationError(f"scale {real!r} must be in (0, 1) here")
    return quantize_multiplier(real)


def quantize_multiplier_greater_than_one(real: float) -> tuple[int, int]:
    """As quantize_multiplier, for real > 1; the shift is the (non-negative) left shift."""
    if not real > 1.0:
        raise QuantizationError(f"scale {real!r} must be greater than one here")
    return quantize_multiplier(real)
