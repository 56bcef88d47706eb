"""TFLite's GetInvSqrtQuantizedMultiplierExp: 1/sqrt(x) of a positive int32 as (multiplier, shift), in gemmlowp
fixed point (a Newton-Raphson iteration in Q3.28), bit-exact. RSQRT int8 (and L2 normalization) use it.
"""

from __future__ import annotations

from mcucompress.fixedpoint.arith import INT32_MAX, rounding_divide_by_pot, wrap_int32
from mcucompress.fixedpoint.arith import saturating_rounding_doubling_high_mul as _mul
from mcucompress.fixedpoint.gemmlowp import rescale

HALF_SQRT_2_Q31 = 1518500250  # sqrt(2) / 2 in Q0.31


def _fmul(a: int, b: int) -> int:
    return int(_mul(a, b))


def inv_sqrt_multiplier_exp(x: int, reverse_shift: int) -> tuple[int, int]:
    """(multiplier, shift) with 1/sqrt(x) ~= multiplier * 2^(shift * reverse_shift - 31) ... as TFLite returns them:
    the right shift counted positive, then multiplied by `reverse_shift` (-1 turns it into a left shift)."""
    if x <= 1:  # 1 exactly, and 0 treated as 1 (TFLite does the same rather than divide by zero)
        return INT32_MAX, 0
    shift = 11
    while x >= 1 << 29:
        x //= 4
        shift += 1
    pairs = (31 - x.bit_length()) // 2 - 1  # (leading zeros - 1) // 2 - 1 bit pairs: x lands in [2^27, 2^29)
    shift -= pairs
    x <<= 2 * pairs
    half_input = int(rounding_divide_by_pot(x >> 1, 1))  # Q3.28 input / 2
    half_three = (1 << 28) + (1 << 27)  # 1.5 in Q3.28
    guess = 1 << 28  # 1.0 in Q3.28
    for _ in range(5):
        cube = int(rescale(_fmul(_fmul(guess, guess), guess), 9, 3))
        guess = int(rescale(int(wrap_int32(_fmul(half_three, guess) - _fmul(half_input, cube))), 6, 3))
    multiplier = _fmul(guess, HALF_SQRT_2_Q31)
    if shift < 0:
        multiplier = int(wrap_int32(multiplier << -shift))
        shift = 0
    return multiplier, shift * reverse_shift
