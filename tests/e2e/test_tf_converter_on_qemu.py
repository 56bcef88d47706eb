"""Keras models converted by a current TF converter (tests/data/keras_digits_*.tflite) on mps2-an386 in QEMU:
the converter's int8 CNN is bit-exact and scores TFLM's top-1. (Its float CNN and MLP quantized by us:
tests/e2e/test_float_models_on_qemu.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcucompress.examples import DIGITS_TEST
from tests.conftest import TflmSession
from tests.e2e.helpers import needs_arm_toolchain_and_qemu, run_json

DATA = Path(__file__).resolve().parents[1] / "data"

pytestmark = needs_arm_toolchain_and_qemu



def test_tf_int8_cnn_bit_exact_on_qemu_with_tflms_top1(tmp_path):
    # (its float32-I/O twin runs as the same int8 core: tests/unit/test_tf_converter_models.py, host C)
    from mcucompress.dataset import load_samples
    from mcucompress.driver import load

    model = DATA / "keras_digits_cnn_int8.tflite"
    report = run_json(tmp_path, model, "--board", "mps2-an386", "--data", DIGITS_TEST,
                      "--save-outputs", tmp_path / "qemu.npy")
    assert report["samples"] == 540 and report["bit_exact"] and report["mismatches"] == 0
    graph = load(model)
    samples = load_samples(DIGITS_TEST, graph.t(graph.inputs[0]))
    tflm = TflmSession(model)
    expected = np.stack([tflm(x[None])[0] for x in samples.x])
    np.testing.assert_array_equal(np.load(tmp_path / "qemu.npy"), expected)
    assert report["accuracy"]["top1"] == float(np.mean(expected.argmax(1) == samples.y)) >= 0.95
