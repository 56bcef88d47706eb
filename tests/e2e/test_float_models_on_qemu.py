"""Float digits models (CNN and MLP: ours as TFLite and ONNX, and Keras ones written by a current TF converter)
quantized by us lose at most 0.5 points of top-1 on the 540 held-out digits, measured on mps2-an386 in QEMU
through the harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcucompress.examples import (
    DIGITS_CALIBRATION,
    DIGITS_CNN_ONNX,
    DIGITS_FLOAT,
    DIGITS_MLP_FLOAT,
    DIGITS_MLP_ONNX,
    DIGITS_TEST,
)
from tests.e2e.helpers import needs_arm_toolchain_and_qemu, run_json

pytestmark = needs_arm_toolchain_and_qemu



KERAS = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("model", [DIGITS_FLOAT, DIGITS_CNN_ONNX, DIGITS_MLP_FLOAT, DIGITS_MLP_ONNX,
                                   KERAS / "keras_digits_cnn_float.tflite", KERAS / "keras_digits_mlp_float.tflite"],
                         ids=lambda p: p.name)
def test_float_digits_model_loses_at_most_half_a_point_on_qemu(model, tmp_path):
    float_top1 = run_json(tmp_path, model, "--board", "reference", "--data", DIGITS_TEST)["accuracy"]["top1"]
    report = run_json(tmp_path, model, "--board", "mps2-an386", "--data", DIGITS_TEST,
                      "--calibration", DIGITS_CALIBRATION)
    assert report["samples"] == 540 and report["bit_exact"]
    assert float_top1 >= 0.95
    assert float_top1 - report["accuracy"]["top1"] <= 0.005, (float_top1, report["accuracy"]["top1"])
