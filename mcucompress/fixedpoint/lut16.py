"""TFLite's int16 lookup tables: 513 int16 samples of a function, read with 7-bit linear interpolation.

The int16 SOFTMAX samples exp(x) on [-10, 0] and 1/(1+x) on [0, 1]. TFLM fills each table at Prepare in
float32 (LUTPopulate<int16_t>): 512 steps over the input range, each sample corrected by half the error of
the interpolated midpoint. Every product and sum here is rounded to float32 as C's float arithmetic does;
the function values are computed in float64 and rounded once (libm's expf is within half an ulp nearly
always). The tables do not depend on the model, so the C kernels embed this module's output.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

F32 = np.float32
STEPS = 512


def _round(x: np.float32) -> np.float32:
    """std::round on a float: halves away from zero."""
    return F32(math.copysign(math.floor(abs(float(x)) + 0.5), float(x)))


def populate(fn, input_scale: np.float32, input_zero_point: int, output_scale: np.float32,
             output_zero_point: int) -> np.ndarray:
    """The 513 table entries for fn (float64 -> float64) over int16 inputs of this quantization."""
    input_min = F32(input_scale * F32(-32768 - input_zero_point))
    input_max = F32(input_scale * F32(32767 - input_zero_point))
    output_min = F32(output_scale * F32(-32768 - output_zero_point))
    output_max = F32(output_scale * F32(32767 - output_zero_point))
    step = F32((input_max - input_min) / F32(STEPS))
    half_step = F32(step / F32(2))
    inv = F32(F32(65536) / F32(output_max - output_min))

    def f(v: np.float32) -> np.float32:
        return F32(fn(float(v)))

    lut = np.zeros(STEPS + 1, np.int64)
    for i in range(STEPS):
        at = F32(input_min + F32(F32(i) * step))
        val = f(at)
        val_mid = f(F32(at + half_step))
        val_next = f(F32(input_min + F32(F32(i + 1) * step)))
        sample = _round(F32(val * inv))
        interp = _round(F32(F32(F32(val_next * inv) + sample) / F32(2)))
        mid = _round(F32(val_mid * inv))
        bias = _round(F32(F32(interp - mid) / F32(2)))
        lut[i] = int(min(max(F32(sample - bias), F32(-32768)), F32(32767)))
    lut[STEPS] = int(min(max(_round(F32(f(input_max) * inv)), F32(-32768)), F32(32767)))
    return lut


_RANGE = F32(65535)  # int16 max - min, as the int32 TFLM divides by


@lru_cache(maxsize=1)
def exp_table() -> np.ndarray:
    """exp(x) for x in [-10, 0] onto [-32768, 32767] (output scale 2/65535, zero point 0)."""
    return populate(math.exp, F32(F32(10) / _RANGE), 32767, F32(F32(2) / _RANGE), 0)


@lru_cache(maxsize=1)
def one_over_one_plus_x_table() -> np.ndarray:
    """1 / (1 + x) for x in [0, 1] (TFLM computes it in float32)."""
    return populate(lambda v: F32(1) / F32(F32(1) + F32(v)), F32(F32(1) / _RANGE), -32768, F32(F32(2) / _RANGE), 0)


def lookup(x, table: np.ndarray) -> np.ndarray:
    """TFLite's LUTLookup: the top 9 bits pick an entry, the low 7 interpolate to the next (rounded)."""
    x = np.asarray(x, dtype=np.int64)
    index = 256 + (x >> 7)
    offset = x & 0x7F
    base = table[index]
    slope = table[index + 1] - base
    return ((base + ((slope * offset + 64) >> 7)) << 48) >> 48  # the int16 cast of base + delta
