"""The float digits CNN quantized to 16x8 (--activations int16) runs on mps2-an386 in QEMU bit-exact with the
reference executor (itself bit-exact with TFLM: tests/unit/test_int16_quantize.py) and keeps its accuracy."""

from __future__ import annotations

from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT, DIGITS_TEST
from tests.e2e.helpers import needs_arm_toolchain_and_qemu, run_json


@needs_arm_toolchain_and_qemu
def test_digits_cnn_16x8_bit_exact_on_qemu(tmp_path):
    report = run_json(tmp_path, DIGITS_FLOAT, "--board", "mps2-an386", "--data", DIGITS_TEST,
                      "--calibration", DIGITS_CALIBRATION, "--activations", "int16")
    assert report["samples"] == 540 and report["bit_exact"] and report["mismatches"] == 0
    assert report["accuracy"]["top1"] >= 0.97  # measured 0.9796 (the float model: 0.98)
