"""Bad calibration data for `mcucompress quantize`, as a user meets it on the command line.

Each case exits with code 2 and one stderr line naming the file, the array 'x' and what was expected
against what was found; no traceback, and no output model is written.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.examples import DIGITS_FLOAT
from tests.unit.test_cli_errors import assert_one_line_error, mcc

GOOD = np.random.default_rng(0).uniform(0, 16, (4, 8, 8, 1)).astype(np.float32)  # digits: 8x8x1 in [0, 16]


def nan_data() -> np.ndarray:
    x = GOOD.copy()
    x[2, 3, 4, 0] = np.nan
    x[3, 0, 0, 0] = np.inf
    x[3, 1, 0, 0] = np.nan
    return x


CASES = {  # name -> (arrays to save, needles the error line must hold)
    "wrong_shape": ({"x": np.zeros((5, 7, 7, 1), np.float32)}, ["'x'", "(5, 7, 7, 1)", "(N, 8, 8, 1)"]),
    "wrong_rank": ({"x": np.zeros((5, 8, 8), np.float32)}, ["'x'", "(5, 8, 8)", "(N, 8, 8, 1)"]),
    "int8_for_float_model": ({"x": GOOD.astype(np.int8)}, ["'x'", "int8", "float32 model input", "float inputs"]),
    "uint8_for_float_model": ({"x": GOOD.astype(np.uint8)}, ["'x'", "raw uint8 values", "--normalize"]),
    "strings": ({"x": np.array(["a", "b"])}, ["'x'", "<U1", "expected numbers"]),
    "objects": ({"x": np.array([GOOD[0], None], dtype=object)}, ["'x' holds Python objects", "dtype object", "expected numbers"]),
    "nan_and_inf": ({"x": nan_data()}, ["'x'", "3 NaN or infinite values", "x[2, 3, 4, 0]"]),
    "empty": ({"x": np.zeros((0, 8, 8, 1), np.float32)}, ["'x'", "no samples", "(0, 8, 8, 1)"]),
    "missing_x": ({"inputs": GOOD}, ["no array 'x'", "found: inputs"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_calibration_data(tmp_path, case):
    arrays, needles = CASES[case]
    data = tmp_path / f"{case}.npz"
    np.savez(data, **arrays)
    out = tmp_path / "out.tflite"
    result = mcc("quantize", DIGITS_FLOAT, "--calibration", data, "-o", out)
    assert_one_line_error(result, str(data), *needles)
    assert not out.exists() and not list(tmp_path.glob("out.tflite*"))


def test_good_calibration_data_writes_the_model(tmp_path):
    """The control: the same command with sound data succeeds (so the failures above are about the data)."""
    data = tmp_path / "good.npz"
    np.savez(data, x=GOOD)
    out = tmp_path / "out.tflite"
    result = mcc("quantize", DIGITS_FLOAT, "--calibration", data, "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.exists() and out.stat().st_size > 0
