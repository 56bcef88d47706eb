"""SOFTMAX int8 -> int8 over the last axis, TFLM's gemmlowp fixed-point algorithm."""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint.arith import rounding_divide_by_pot, saturating_rounding_doubling_high_mul
from mcucompress.fixedpoint.gemmlowp import exp_on_negative_values, get_reciprocal, rescale
from mcucompress.fixedpoint.params import SoftmaxParams

SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12


def softmax_s8(x: np.ndarray, p: SoftmaxParams) -> np.ndarray:
    x = x.astype(np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    valid = diff >= p.diff_min
    rescaled = saturating_rounding_doubling_high_mul(diff * (1 << p.input_left_shift), p.input_multiplier)
    exps = exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS)
    exps = np.where(valid, exps, 0)
    sum_of_exps = rescale(exps, 0, ACCUMULATION_INTEGER_BITS).sum(axis=-1, keepdims=True)
    shifted_scale, num_bits_over_unit = get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS)
    unsat = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted_scale, exps), num_bits_over_unit + 31 - 8)
    out = np.clip(unsat - 128, -128, 127)
    return np.where(valid, out, -128).astype(np.int8)


def softmax_f32(x: np.ndarray, beta: float) -> np.ndarray:
    z = (x - x.max(axis=-1, keepdims=True)) * np.float32(beta)
    e = np.exp(z.astype(np.float32))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
