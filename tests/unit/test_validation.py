"""Validation against the float model: the metrics' arithmetic, and `run` comparing our int8 outputs with the
float twin (the quantized float model itself, or --float-model), including a twin that cannot be one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcucompress import cli, driver
from mcucompress.errors import McuError
from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT, DIGITS_INT8, DIGITS_TEST
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops
from mcucompress.validation import compare, cosine, dequantize


def test_compare_on_hand_computed_values():
    ours = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    ref = np.array([[0.0, 0.5, 0.0], [1.0, 0.0, 0.0]])
    m = compare(ours, ref)
    err = np.array([0, 0.5, 0, -0.5, 0, 0.5])
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)))
    assert m["max_abs_error"] == pytest.approx(0.5)
    assert m["mean_abs_error"] == pytest.approx(0.25)
    # cosine of the flattened arrays: (0.5 + 0.5) / (|ours| |ref|)
    assert m["cosine"] == pytest.approx(1.0 / (np.sqrt(1.5) * np.sqrt(1.25)))
    # sample 0 agrees (index 1); sample 1: ours is a tie 0/2 -> argmax 0, ref 0: agrees
    assert m["top1_agreement"] == 1.0
    m = compare(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert m["top1_agreement"] == 0.5


def test_identical_outputs_are_perfect_and_a_single_value_has_no_top1():
    x = np.random.default_rng(0).normal(size=(7, 1))
    m = compare(x, x.copy())
    assert m["rmse"] == 0 and m["max_abs_error"] == 0 and m["cosine"] == pytest.approx(1.0)
    assert m["top1_agreement"] is None


def test_cosine_edge_cases_and_dequantize():
    assert cosine(np.zeros(3), np.zeros(3)) == 1.0
    assert cosine(np.zeros(3), np.ones(3)) == 0.0
    assert cosine(np.array([1.0, 0]), np.array([-2.0, 0])) == pytest.approx(-1.0)
    q = np.array([-128, 0, 127], np.int8)
    assert dequantize(q, 0.5, -128).tolist() == [0.0, 64.0, 127.5]
    with pytest.raises(ValueError):
        compare(np.zeros((2, 3)), np.zeros((2, 4)))


def _subset(tmp_path, n=60):
    d = np.load(DIGITS_TEST)
    path = tmp_path / "d.npz"
    np.savez(path, x=d["x"][:n], y=d["y"][:n])
    return path


def test_float_model_quantized_for_the_run_agrees_with_float(tmp_path):
    report, _ = driver.run(DIGITS_FLOAT, "reference", _subset(tmp_path), calibration=DIGITS_CALIBRATION)
    val = report["validation"]
    assert val["float_model"] == str(DIGITS_FLOAT) and val["samples"] == 60
    (out,) = val["outputs"]
    assert out["cosine"] > 0.99 and out["top1_agreement"] >= 0.95
    assert 0 < out["rmse"] <= out["max_abs_error"] < 0.2


def test_float_run_and_int8_without_twin_have_no_validation(tmp_path):
    data = _subset(tmp_path, 5)
    assert "validation" not in driver.run(DIGITS_FLOAT, "reference", data)[0]
    assert "validation" not in driver.run(DIGITS_INT8, "reference", data)[0]


def test_float_model_option_with_int8_data(tmp_path):
    """An int8 model with int8 samples: the float twin gets them dequantized with the int8 input's quant."""
    graph = driver.load(DIGITS_INT8)
    t = graph.t(graph.inputs[0])
    d = np.load(DIGITS_TEST)
    from mcucompress.dataset import quantize_input

    path = tmp_path / "q.npz"
    np.savez(path, x=quantize_input(d["x"][:60], t), y=d["y"][:60])
    js = tmp_path / "r.json"
    assert cli.main(["run", str(DIGITS_INT8), "--board", "reference", "--data", str(path), "--float-model",
                     str(DIGITS_FLOAT),
                     "--json", str(js)]) == 0
    (out,) = json.loads(js.read_text())["validation"]["outputs"]
    assert out["cosine"] > 0.99 and out["top1_agreement"] >= 0.95


def _float_twin_with_5_outputs(path):
    """A float32 model with the digits input (1, 8, 8, 1) and 5 outputs instead of 10."""
    rng = np.random.default_rng(0)
    g = Graph(name="wrong_twin")
    g.add_tensor(Tensor("x", (1, 8, 8, 1), "float32"))
    g.add_tensor(Tensor("flat", (1, 64), "float32"))
    g.add_tensor(Tensor("w", (5, 64), "float32", None, rng.normal(size=(5, 64)).astype(np.float32)))
    g.add_tensor(Tensor("b", (5,), "float32", None, np.zeros(5, np.float32)))
    g.add_tensor(Tensor("y", (1, 5), "float32"))
    g.ops = [Op("RESHAPE", ["x"], ["flat"], irops.NoAttrs(), "reshape"),
             Op("FULLY_CONNECTED", ["flat", "w", "b"], ["y"], irops.FullyConnectedAttrs(), "fc")]
    g.inputs, g.outputs = ["x"], ["y"]
    tflite_writer.write(g, path)
    return path


def test_a_wrong_float_twin_is_one_clear_line_before_the_run(tmp_path, capsys):
    twin = _float_twin_with_5_outputs(tmp_path / "twin.tflite")
    js = tmp_path / "r.json"
    code = cli.main(["run", str(DIGITS_INT8), "--data", str(_subset(tmp_path, 3)), "--float-model", str(twin),
                     "--board", "host", "--json", str(js)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "twin.tflite" in err and "output" in err and "[1, 5]" in err and "[1, 10]" in err
    assert not js.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["d.npz", "twin.tflite"]


def test_an_int8_float_twin_and_a_float_run_refuse_the_option(tmp_path):
    data = _subset(tmp_path, 3)
    with pytest.raises(McuError, match="not a float32 model"):
        driver.run(DIGITS_INT8, "reference", data, float_model=DIGITS_INT8)
    with pytest.raises(McuError, match="runs in float32 here"):
        driver.run(DIGITS_FLOAT, "reference", data, float_model=DIGITS_FLOAT)


def test_an_int8_model_with_float_io_is_validated_through_its_int8_core(tmp_path):
    """The TF converter's default int8 model (float32 I/O) runs as its int8 core on host; its float twin (the
    Keras float model) gets the float samples as they are, the core gets them quantized."""
    from tests.conftest import REPO

    data_dir = REPO / "tests" / "data"
    model, twin = data_dir / "keras_digits_cnn_int8_float_io.tflite", data_dir / "keras_digits_cnn_float.tflite"
    data = _subset(tmp_path, 40)
    report, outputs = driver.run(model, "host", data, float_model=twin)
    assert outputs.dtype == np.int8 and report["bit_exact"]
    (out,) = report["validation"]["outputs"]
    assert out["cosine"] > 0.99 and out["top1_agreement"] >= 0.95
    with pytest.raises(McuError, match="float32 inputs and outputs on the reference board"):
        driver.run(model, "reference", data, float_model=twin)
