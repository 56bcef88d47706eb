"""gemmlowp's fixed-point exp, reciprocal, logistic and tanh, vectorised, bit-exact (SOFTMAX, LOGISTIC, TANH).

Values are raw int32 held in int64 arrays; `int_bits` follows gemmlowp's FixedPoint<int32, IntegerBits>.
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint.arith import (
    INT32_MAX,
    INT32_MIN,
    rounding_divide_by_pot,
    trunc_div,
    wrap_int32,
)
from mcucompress.fixedpoint.arith import (
    saturating_rounding_doubling_high_mul as mul,
)


def rescale(raw, src_int_bits: int, dst_int_bits: int) -> np.ndarray:
    """gemmlowp::Rescale: SaturatingRoundingMultiplyByPOT<src - dst>."""
    exponent = src_int_bits - dst_int_bits
    return saturating_rounding_multiply_by_pot(raw, exponent)


def saturating_rounding_multiply_by_pot(raw, exponent: int) -> np.ndarray:
    raw = np.asarray(raw, dtype=np.int64)
    if exponent == 0:
        return raw
    if exponent < 0:
        return rounding_divide_by_pot(raw, -exponent)
    return np.clip(raw << exponent, INT32_MIN, INT32_MAX)


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a) -> np.ndarray:
    constant_term = 1895147668
    constant_1_over_3 = 715827883
    x = wrap_int32(a + (1 << 28))
    x2 = mul(x, x)
    x3 = mul(x2, x)
    x4 = mul(x2, x2)
    x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2)
    poly = saturating_rounding_multiply_by_pot(wrap_int32(mul(wrap_int32(x4_over_4 + x3), constant_1_over_3) + x2), -1)
    return wrap_int32(constant_term + mul(constant_term, wrap_int32(x + poly)))


_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a, int_bits: int) -> np.ndarray:
    """exp(a) for a <= 0 given as FixedPoint<int32, int_bits>; result is FixedPoint<int32, 0>."""
    a = np.asarray(a, dtype=np.int64)
    frac_bits = 31 - int_bits
    one_quarter = 1 << (frac_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = wrap_int32((a & mask) - one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(rescale(a_mod_quarter_minus_one_quarter, int_bits, 0))
    remainder = wrap_int32(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in _BARREL:
        if int_bits > exponent:
            shift = frac_bits + exponent
            result = np.where(remainder & (1 << shift), mul(result, multiplier), result)
    if int_bits > 5:
        clamp = -(1 << (36 - int_bits))
        result = np.where(a < clamp, 0, result)
    return np.where(a == 0, INT32_MAX, result)


def rounding_half_sum(a, b) -> np.ndarray:
    s = np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)
    return trunc_div(s + np.where(s >= 0, 1, -1), 2)


def _newton_reciprocal_of_half_denominator(half_denominator) -> np.ndarray:
    """FixedPoint<int32, 2> approximation of 1 / half_denominator: 48/17 - 32/17 d, then 3 Newton steps."""
    x = wrap_int32(1515870810 + mul(half_denominator, -1010580540))
    one_f2 = 1 << 29
    for _ in range(3):
        half_denominator_times_x = mul(half_denominator, x)
        one_minus = wrap_int32(one_f2 - half_denominator_times_x)
        x = wrap_int32(x + rescale(mul(x, one_minus), 4, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """1 / (1 + a) for a in [0, 1) as FixedPoint<int32, 0>, by gemmlowp's Newton-Raphson."""
    x = _newton_reciprocal_of_half_denominator(rounding_half_sum(a, INT32_MAX))
    # ExactMulByPot<-1> only relabels x as FixedPoint<1> (raw unchanged); Rescale<0> then doubles it, saturating.
    return rescale(x, 1, 0)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """(1 - a) / (1 + a) for a in [0, 1) as FixedPoint<int32, 0>; the same Newton-Raphson as above."""
    x = _newton_reciprocal_of_half_denominator(rounding_half_sum(a, INT32_MAX))
    return rescale(wrap_int32(x - (1 << 29)), 2, 0)


def logistic(a, int_bits: int) -> np.ndarray:
    """gemmlowp::logistic of FixedPoint<int32, int_bits> raw values; result is FixedPoint<int32, 0>."""
    a = np.asarray(a, dtype=np.int64)
    abs_a = np.where(a > 0, a, wrap_int32(-a))
    if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(wrap_int32(-abs_a), int_bits))
    result = np.where(a > 0, if_positive, wrap_int32(INT32_MAX - if_positive))
    return np.where(a == 0, 1 << 30, result)


def tanh(a, int_bits: int) -> np.ndarray:
    """gemmlowp::tanh of FixedPoint<int32, int_bits> raw values; result is FixedPoint<int32, 0>."""
    a = np.asarray(a, dtype=np.int64)
    neg_abs = np.where(a < 0, a, wrap_int32(-a))
    # neg_tanh_on_negative_values: ExactMulByPot<1> reads the same raw value with one more integer bit.
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(neg_abs, int_bits + 1))
    return np.where(a == 0, 0, np.where(a < 0, wrap_int32(-t), t))


def count_leading_zeros_u32(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64) & 0xFFFFFFFF
    out = np.full(x.shape, 32, dtype=np.int64)
    nz = x > 0
    out[nz] = 31 - np.floor(np.log2(x[nz].astype(np.float64))).astype(np.int64)
    # log2 of float64 is exact enough for 32-bit integers except near powers of two; fix up.
    too_big = nz & ((x << out) >= (1 << 32))
    out[too_big] += 1
    too_small = nz & (((x << out) & 0xFFFFFFFF) < (1 << 31))
    out[too_small] -= 1
    return out


def get_reciprocal(x, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's GetReciprocal: (FixedPoint<int32,0> reciprocal raw, num_bits_over_unit)."""
    x = np.asarray(x, dtype=np.int64)
    headroom_plus_one = count_leading_zeros_u32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = wrap_int32(((x & 0xFFFFFFFF) << headroom_plus_one) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit
