"""TFLite's log_x_for_x_greater_than_or_equal_to_1 in gemmlowp fixed point, vectorised, bit-exact (LOG_SOFTMAX).

ln(z) for z >= 1 given as FixedPoint<int32, in_bits>: z = 2^k * r with r normalised (two candidate
normalisations, the one with r nearer 1 wins), ln(z) = k * ln 2 + a rational approximation of ln(r) around
2^(-1/4). Accumulated with one integer bit more than the output's, then rescaled. Raw int32 in int64 arrays.
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint.arith import INT32_MAX, INT32_MIN, wrap_int32
from mcucompress.fixedpoint.arith import saturating_rounding_doubling_high_mul as mul
from mcucompress.fixedpoint.gemmlowp import (
    count_leading_zeros_u32,
    one_over_one_plus_x_for_x_in_0_1,
    rounding_half_sum,
    saturating_rounding_multiply_by_pot,
)

# Q0.31 constants
LOG_2 = 1488522236
SQRT_SQRT_HALF = 1805811301
SQRT_HALF = 1518500250
ONE_QUARTER = 536870912
ALPHA_N = 117049297  # 11/240 * 2^(1/4)
ALPHA_D = 127690142  # 1/20 * 2^(1/4)
ALPHA_I = 1057819769  # 2 / 2^(1/4) - 2^(1/4)
ALPHA_F = 638450708  # 1/4 * 2^(1/4)


def _pot(x, exponent) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT with a per-element exponent."""
    x, exponent = np.broadcast_arrays(np.asarray(x, np.int64), np.asarray(exponent, np.int64))
    out = np.empty(x.shape, np.int64)
    for e in np.unique(exponent):
        sel = exponent == e
        out[sel] = saturating_rounding_multiply_by_pot(x[sel], int(e))
    return out


def _sat(x) -> np.ndarray:
    return np.clip(x, INT32_MIN, INT32_MAX)


def log_x_ge_1(z, in_bits: int, out_bits: int) -> np.ndarray:
    """ln(z) as FixedPoint<int32, out_bits> raw values, z (>= 1) as FixedPoint<int32, in_bits> raw values."""
    z = np.asarray(z, np.int64)
    accum_bits = out_bits + 1
    shifted_quarter = int(saturating_rounding_multiply_by_pot(ONE_QUARTER, -accum_bits))
    # normalisation a: r_a = z * 2^(headroom) * sqrt(1/2) * 2
    head_a = count_leading_zeros_u32(z)
    r_a = _pot(mul(_pot(z, head_a - 1), SQRT_HALF), 1)
    k_a = _sat(_pot(in_bits - head_a, 31 - accum_bits) + shifted_quarter)
    # normalisation b: z * sqrt(1/2) decides the shift
    head_b = count_leading_zeros_u32(mul(z, SQRT_HALF)) - 1
    r_b = _pot(z, head_b)
    k_b = _sat(_pot(in_bits - head_b, 31 - accum_bits) - shifted_quarter)
    r = np.minimum(r_a, r_b)
    k = np.maximum(k_a, k_b)
    p = rounding_half_sum(r, SQRT_SQRT_HALF)
    q = wrap_int32(r - SQRT_SQRT_HALF)
    q = wrap_int32(q + q)
    q2 = mul(q, q)
    num = wrap_int32(mul(q, r) + mul(mul(q, q2), ALPHA_N))
    inner = wrap_int32(wrap_int32(ALPHA_I + q) + mul(ALPHA_D, q2))
    denom_minus_one = wrap_int32(mul(p, inner) + mul(ALPHA_F, q))
    recip = one_over_one_plus_x_for_x_in_0_1(denom_minus_one)
    num_scaled = saturating_rounding_multiply_by_pot(num, -accum_bits)  # Rescale<accum_bits> from Q0.31
    total = wrap_int32(mul(k, LOG_2) + mul(num_scaled, recip))
    return saturating_rounding_multiply_by_pot(total, accum_bits - out_bits)
