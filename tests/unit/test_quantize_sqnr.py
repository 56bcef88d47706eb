"""Quantization quality: our int8 output is as close to float as TF's converter's, digits accuracy
survives int8, bias correction helps and stays bit-exact in TFLM, dead channels keep their bias.

The MLPerf Tiny autoencoder (ad01) runs on the real log-mel windows in ../shared/data: calibration on
the first 100 windows, evaluation on the last 50, which share no frame with them.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mcucompress.dataset import quantize_input
from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT, DIGITS_TEST
from mcucompress.frontend import load_model, tflite_writer
from mcucompress.quantize.api import quantize
from mcucompress.quantize.report import output_sqnr
from mcucompress.reference import executor
from tests.conftest import SHARED_MODELS, TflmSession, shared_model

AD01_DATA = SHARED_MODELS.parents[1] / "data" / "mlperf_tiny" / "ad01_normal_id_01_00000000_hist_librosa.bin"


@pytest.fixture(scope="module")
def ad01():
    """(float graph, TF converter's int8 graph, calibration windows, evaluation windows)."""
    float_path, int8_path = shared_model("ad01_fp32"), shared_model("ad01_int8")
    if not AD01_DATA.exists():
        pytest.skip(f"ad01 log-mel data {AD01_DATA} is absent (../shared/data not laid beside the repo)")
    frames = np.fromfile(AD01_DATA, dtype="<f4").reshape(200, 128)
    windows = np.stack([frames[i : i + 5].ravel() for i in range(196)])  # model input: 5 frames, stride 1
    return load_model(float_path), load_model(int8_path), windows[:100], windows[-50:]


@pytest.fixture(scope="module")
def digits():
    test = np.load(DIGITS_TEST)
    return load_model(DIGITS_FLOAT), np.load(DIGITS_CALIBRATION)["x"], test["x"], test["y"]


def test_ad01_default_method_is_at_least_as_good_as_tf_converter(ad01):
    float_graph, tf_graph, x_cal, x_eval = ad01
    ours = output_sqnr(float_graph, quantize(float_graph, x_cal), x_eval)["output"]
    tf = output_sqnr(float_graph, tf_graph, x_eval)["output"]
    assert ours >= tf - 0.0, (ours, tf)


def test_ad01_bias_correction_improves_output_sqnr(ad01):
    float_graph, _, x_cal, x_eval = ad01
    plain = output_sqnr(float_graph, quantize(float_graph, x_cal), x_eval)["output"]
    corrected = output_sqnr(float_graph, quantize(float_graph, x_cal, bias_correction=True), x_eval)["output"]
    assert corrected >= plain + 1.0, (plain, corrected)


def top1(graph, x: np.ndarray) -> np.ndarray:
    x_in = quantize_input(x, graph.t(graph.inputs[0]))
    return executor.run(graph, [x_in])[0].reshape(len(x), -1).argmax(axis=1)


@pytest.mark.parametrize("bias_correction", [False, True])
def test_digits_int8_top1_within_half_a_point_of_float(digits, bias_correction):
    float_graph, x_cal, x_test, y_test = digits
    int8_graph = quantize(float_graph, x_cal, bias_correction=bias_correction)
    float_acc = np.mean(top1(float_graph, x_test) == y_test)
    int8_acc = np.mean(top1(int8_graph, x_test) == y_test)
    assert int8_acc >= float_acc - 0.005, (float_acc, int8_acc)


def without_fc_bias(graph):
    """The digits graph with its FULLY_CONNECTED bias dropped (bias correction must then add one)."""
    g = copy.deepcopy(graph)
    fc = next(op for op in g.ops if op.kind == "FULLY_CONNECTED")
    fc.inputs = fc.inputs[:2]
    g.remove_unused_tensors()
    return g


@pytest.mark.parametrize("variant", ["digits", "digits_without_fc_bias"])
def test_bias_corrected_model_runs_bit_exact_in_tflm(digits, variant):
    float_graph, x_cal, x_test, _ = digits
    if variant == "digits_without_fc_bias":
        float_graph = without_fc_bias(float_graph)
    plain = quantize(float_graph, x_cal)
    corrected = quantize(float_graph, x_cal, bias_correction=True)
    fc = next(op for op in corrected.ops if op.kind == "FULLY_CONNECTED")
    assert len(fc.inputs) > 2 and corrected.t(fc.inputs[2]).dtype == "int32"
    changed = [op.inputs[2] for op in corrected.ops if len(op.inputs) > 2 and op.inputs[2] in plain.tensors
               and not np.array_equal(corrected.t(op.inputs[2]).data, plain.t(op.inputs[2]).data)]
    assert changed, "bias correction changed no bias"
    tflm = TflmSession(tflite_writer.to_bytes(corrected))
    x_in = quantize_input(x_test[:100], corrected.t(corrected.inputs[0]))
    ours = executor.run(corrected, [x_in])[0]
    for i in range(len(x_in)):
        np.testing.assert_array_equal(tflm(x_in[i : i + 1])[0], ours[i])


def test_ad01_bias_corrected_model_runs_bit_exact_in_tflm(ad01):
    float_graph, _, x_cal, x_eval = ad01
    corrected = quantize(float_graph, x_cal, bias_correction=True)
    tflm = TflmSession(tflite_writer.to_bytes(corrected))
    x_in = quantize_input(x_eval, corrected.t(corrected.inputs[0]))
    ours = executor.run(corrected, [x_in])[0]
    for i in range(len(x_in)):
        np.testing.assert_array_equal(tflm(x_in[i : i + 1])[0], ours[i])


def test_dead_channel_keeps_its_bias(digits):
    """Weights ~1e-30 with bias 0.5: the int32 bias must not overflow (it used to wrap to -2^31)."""
    float_graph, x_cal, _, _ = digits
    g = copy.deepcopy(float_graph)
    conv = g.ops[0]
    g.t(conv.inputs[1]).data[0] = 1e-30
    g.t(conv.inputs[2]).data[0] = 0.5
    q = quantize(g, x_cal)
    bias = q.t(q.ops[0].inputs[2]).data
    assert 0 < bias[0] <= 2**30
    x = x_cal[:8]
    f_out = executor.run(g, [x], keep_all=True)[conv.outputs[0]][..., 0]
    out_t = q.t(q.ops[0].outputs[0])
    q_out = executor.run(q, [quantize_input(x, q.t(q.inputs[0]))], keep_all=True)[out_t.name][..., 0]
    np.testing.assert_allclose((q_out.astype(np.float64) - out_t.quant.zp) * out_t.quant.s, f_out, atol=out_t.quant.s)


def test_pruned_channel_keeps_a_live_scale_and_runs_in_tflm(digits):
    """An all-zero (pruned) channel with a bias computes its bias only; its weight scale is the median of the live
    channels' instead of the ~1e-8 that just fits the bias, so its requantization shift stays in the kernels' fast
    range (a digits depthwise layer pruned to 80% ran 3x slower on the M4 with the tiny scale)."""
    float_graph, x_cal, _, _ = digits
    g = copy.deepcopy(float_graph)
    dw = next(op for op in g.ops if op.kind == "DEPTHWISE_CONV_2D")
    g.t(dw.inputs[1]).data[..., 0] = 0.0
    g.t(dw.inputs[2]).data[0] = 0.25
    q = quantize(g, x_cal)
    qdw = next(op for op in q.ops if op.kind == "DEPTHWISE_CONV_2D")
    scales = np.asarray(q.t(qdw.inputs[1]).quant.scale)
    assert scales[0] == pytest.approx(np.median(scales[1:]), rel=0.1)  # live: scales[1:] are what they were
    assert np.all(q.t(qdw.inputs[1]).data[..., 0] == 0)
    tflm = TflmSession(tflite_writer.to_bytes(q))
    x_in = quantize_input(x_cal[:4], q.t(q.inputs[0]))
    ours = executor.run(q, [x_in])[0]
    for i in range(len(x_in)):
        np.testing.assert_array_equal(tflm(x_in[i : i + 1])[0], ours[i])
