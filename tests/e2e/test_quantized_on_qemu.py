"""Our quantizer end to end: a float model quantized by `mcucompress quantize`, exported to .tflite, runs in
TFLM bit-exactly like our C on QEMU; float models keep their accuracy on the target."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT, DIGITS_TEST
from tests.cli import run_cli
from tests.conftest import TflmSession, shared_model
from tests.e2e.helpers import needs_arm_toolchain_and_qemu, run_json

pytestmark = needs_arm_toolchain_and_qemu


def cli(*args) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=None, check=True)


def quantized_export_matches_tflm_and_qemu(model, calibration, data, tmp_path, *options: str) -> dict:
    """quantize -> .tflite; TFLM on it == our firmware on QEMU on it, for every sample of `data`."""
    exported = tmp_path / "model_int8.tflite"
    cli("quantize", model, "--calibration", calibration, "-o", exported, *options)
    cli("run", exported, "--board", "mps2-an386", "--data", data, "--save-outputs", tmp_path / "qemu.npy",
        "--json", tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    from mcucompress.dataset import load_samples
    from mcucompress.driver import load

    graph = load(exported)
    x = load_samples(data, graph.t(graph.inputs[0])).x
    tflm = TflmSession(exported)
    expected = np.stack([tflm(xi[None])[0] for xi in x])
    np.testing.assert_array_equal(np.load(tmp_path / "qemu.npy"), expected)
    assert report["bit_exact"] and report["mismatches"] == 0
    return report


@pytest.mark.parametrize("options", [(), ("--bias-correction", "--calibration-method", "kl"), ("--per-tensor",)],
                         ids=["default", "kl_bias_correction", "per_tensor"])
def test_quantized_digits_cnn_is_bit_exact_in_tflm_and_on_qemu(tmp_path, options):
    data = np.load(DIGITS_TEST)
    subset = tmp_path / "test100.npz"
    np.savez(subset, x=data["x"][:100], y=data["y"][:100])
    report = quantized_export_matches_tflm_and_qemu(DIGITS_FLOAT, DIGITS_CALIBRATION, subset, tmp_path, *options)
    assert report["accuracy"]["top1"] >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("name, int8_name", [("ad01_fp32", "ad01_int8"), ("vww_96_float", "vww_96_int8"),
                                             ("ic_pretrainedResnet_float", "ic_pretrainedResnet_quant")])
def test_quantized_mlperf_float_model_is_bit_exact_in_tflm_and_on_qemu(name, int8_name, tmp_path):
    from mcucompress.driver import load

    model = shared_model(name)
    shape = load(model).t(load(model).inputs[0]).shape
    rng = np.random.default_rng(0)
    scale = 1.0 if name != "ad01_fp32" else 10.0  # ad01 takes log-mel energies of a few units
    np.savez(tmp_path / "cal.npz", x=(rng.random((16, *shape[1:])) * scale).astype(np.float32))
    np.savez(tmp_path / "data.npz", x=(rng.random((2, *shape[1:])) * scale).astype(np.float32))
    quantized_export_matches_tflm_and_qemu(model, tmp_path / "cal.npz", tmp_path / "data.npz", tmp_path)


def test_hybrid_kws_quantized_with_calibration_runs_on_qemu(tmp_path):
    """kws_ref_model_float32 is the converter's hybrid output (int8 weights, float activations): refused without
    calibration data, with it quantized fully (weights dequantized exactly, then our PTQ) and run bit-exact."""
    path = shared_model("kws_ref_model_float32")
    refused = run_cli("run", path, "--board", "mps2-an386", "--samples", "1", cwd=None)
    assert refused.returncode == 2 and "hybrid model" in refused.stderr and "--calibration" in refused.stderr
    cal = tmp_path / "cal.npz"
    np.savez(cal, x=np.random.default_rng(0).normal(-20, 30, (32, 49, 10, 1)).astype(np.float32))
    report = run_json(tmp_path, path, "--calibration", cal, "--board", "mps2-an386", "--samples", "2")
    assert report["bit_exact"] is True and report["latency"]["unit"] == "instructions"
    assert report["validation"]["outputs"][0]["cosine"] > 0.99  # against the hybrid's dequantized float weights
