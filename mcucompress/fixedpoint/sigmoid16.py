"""LOGISTIC and TANH in int16: TFLite's 256-entry sigmoid table read with linear interpolation.

TABLE[i] is sigmoid(i / 24) in unsigned 0.16 fixed point as TFLite tabulates it (44 entries are one above
round(65536 * sigmoid(i / 24)): the table is tuned for interpolation, not a rounding of the function). The
values were read back from the installed TFLM by driving its int16 TANH at table points;
tests/unit/test_int16_ops.py::test_sigmoid_table_matches_tflm repeats that measurement. TANH uses the same
table through tanh(x) = 2 sigmoid(2x) - 1. The input is first brought to the table's scale, 1/(3 * 4096)
(a power-of-two input scale shifts instead; TFLM's Prepare picks which), so +/-2^17 spans +/-10.7.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TABLE = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535,
], dtype=np.int64)


@dataclass
class SigmoidTanh16Params:
    """input_data = (x * input_multiplier + round) >> input_left_shift puts x on the table's scale."""

    input_multiplier: int
    input_left_shift: int


def params(input_scale: float, is_tanh: bool) -> SigmoidTanh16Params:
    """TFLM's Prepare for int16 LOGISTIC / TANH, with the kernel's power-of-two rewrite folded in."""
    s = np.float32(input_scale)
    log2 = np.float32(np.float32(np.log(s)) * np.float32(1.0 / np.float32(np.log(np.float32(2.0)))))
    rounded = math.copysign(math.floor(abs(float(log2)) + 0.5), float(log2))
    pot = abs(float(np.float32(log2 - np.float32(rounded)))) < 1e-3
    left_shift = 12 + int(rounded)
    pot = pot and (left_shift in (0, 1) if is_tanh else left_shift == 0)
    if pot:
        return SigmoidTanh16Params(3 << left_shift, 0)
    multiplier, shift = float(s) * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return SigmoidTanh16Params(int(multiplier), shift)


def evaluate(x: np.ndarray, p: SigmoidTanh16Params, is_tanh: bool) -> np.ndarray:
    """int16 in, int16 out: TFLM's reference_integer_ops::Logistic / Tanh for int16."""
    rnd = (1 << (p.input_left_shift - 1)) if p.input_left_shift > 0 else 0
    v = (x.astype(np.int64) * p.input_multiplier + rnd) >> p.input_left_shift
    a = np.abs(v)
    bits = 8 if is_tanh else 9
    uh = a >> bits
    inside = uh < 255
    idx = np.minimum(uh, 254)
    ua, ub = TABLE[idx], TABLE[idx + 1]
    ut = a & ((1 << bits) - 1)
    saturated = (0xFFFF << 8) if is_tanh else (0x7FFF << 10)
    result = np.where(inside, (ua << bits) + ut * (ub - ua), saturated)
    if is_tanh:
        out = np.where(v >= 0, result - (1 << 23) + (1 << 7), -result + (1 << 23) + (1 << 7) - 1) >> 8
    else:
        out = np.where(v >= 0, result + (1 << 9), (1 << 25) - result + (1 << 9) - 1) >> 10
    return ((out << 48) >> 48).astype(np.int16)  # the int16 cast
