"""Vectorised numpy versions of gemmlowp/TFLite integer primitives, bit-exact with their C.

All functions take and return int64 arrays holding int32 values, so products never overflow.
"""

from __future__ import annotations

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def trunc_div(n, d) -> np.ndarray:
    """C integer division (truncates toward zero); numpy's // floors."""
    n, d = _i64(n), _i64(d)
    q = np.abs(n) // np.abs(d)
    return np.where((n < 0) != (d < 0), -q, q)


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    a, b = _i64(a), _i64(b)
    overflow = (a == b) & (a == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    res = trunc_div(ab + nudge, 1 << 31)
    return np.where(overflow, INT32_MAX, res)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    x, exponent = _i64(x), _i64(exponent)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier (double rounding, the TFLM default build)."""
    x, multiplier, shift = _i64(x), _i64(multiplier), _i64(shift)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = wrap_int32(x * (np.int64(1) << left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def multiply_by_quantized_multiplier_smaller_than_one_exp(x, multiplier, shift) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp (shift <= 0)."""
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), -_i64(shift))


def wrap_int32(x) -> np.ndarray:
    """Two's-complement wrap to int32, as C arithmetic on int32_t does on every target we build for."""
    x = _i64(x)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def saturating_left_shift(x, shift: int, bits: int = 32) -> np.ndarray:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(_i64(x) * (1 << shift), lo, hi)


# int16 primitives (HARD_SWISH): C promotes int16 operands to int, then narrows results back to int16_t.


def wrap_int16(x) -> np.ndarray:
    x = _i64(x)
    return ((x + (1 << 15)) & 0xFFFF) - (1 << 15)


def saturating_rounding_doubling_high_mul_int16(a, b) -> np.ndarray:
    a, b = _i64(a), _i64(b)
    ab = a * b
    res = trunc_div(ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14)), 1 << 15)
    return np.where((a == b) & (a == -(1 << 15)), (1 << 15) - 1, wrap_int16(res))


def saturating_doubling_high_mul_int16(a, b) -> np.ndarray:
    """TFLite's SaturatingDoublingHighMul: as above but truncating toward zero (ARM SQDMULH)."""
    a, b = _i64(a), _i64(b)
    return np.where((a == b) & (a == -(1 << 15)), (1 << 15) - 1, wrap_int16(trunc_div(a * b, 1 << 15)))


def rounding_divide_by_pot_int16(x, exponent: int) -> np.ndarray:
    """RoundingDivideByPOT<int16_t>: the mask (2^exponent - 1) is narrowed to int16 too, as in C."""
    x = _i64(x)
    mask = int(wrap_int16((1 << exponent) - 1))
    threshold = wrap_int16((mask >> 1) + (x < 0))
    return wrap_int16((x >> exponent) + ((x & mask) > threshold))
