"""The one QEMU run of the data formats: the ONNX digits CNN given NCHW test data (as PyTorch users hold it) and
NCHW calibration data runs bit-exact on mps2-an386 with the accuracy of the same data as NHWC."""

from __future__ import annotations

import numpy as np

from mcucompress import driver
from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_CNN_ONNX, DIGITS_TEST
from tests.e2e.helpers import needs_arm_toolchain_and_qemu, run_json


@needs_arm_toolchain_and_qemu
def test_onnx_cnn_on_nchw_data_runs_bit_exact_on_qemu(tmp_path):
    d = np.load(DIGITS_TEST)
    np.savez(tmp_path / "nchw.npz", x=d["x"][:24].transpose(0, 3, 1, 2), y=d["y"][:24])
    np.savez(tmp_path / "nhwc.npz", x=d["x"][:24], y=d["y"][:24])
    np.savez(tmp_path / "cal.npz", x=np.load(DIGITS_CALIBRATION)["x"].transpose(0, 3, 1, 2))
    report = run_json(tmp_path, DIGITS_CNN_ONNX, "--board", "mps2-an386", "--data", tmp_path / "nchw.npz",
                      "--calibration", tmp_path / "cal.npz")
    expected, _ = driver.run(DIGITS_CNN_ONNX, "reference", tmp_path / "nhwc.npz", calibration=DIGITS_CALIBRATION)
    assert report["bit_exact"] is True and report["samples"] == 24
    assert report["data"]["layout"].startswith("NCHW as the model file declares")
    assert report["accuracy"]["top1"] == expected["accuracy"]["top1"] > 0.9
