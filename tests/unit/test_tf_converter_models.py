"""Keras models converted by a current TF converter (tests/data/keras_digits_*.tflite, made by
tests/data/make_tf_converter_models.py) import and run like TFLM: our reference executor and our host C are
bit-exact with TFLM on the 540 test digits (int8), our float reference is within 1e-5 of LiteRT (float).

The files hold what today's converter emits: SHAPE/STRIDED_SLICE/PACK feeding RESHAPE for Flatten
(folded at import), BatchNormalization folded into conv weights, per-channel FULLY_CONNECTED weights,
a Dense on a rank-3 tensor with run-time shape arithmetic and placeholder shapes (dynamic shape_signature),
and in the default int8 conversion float32 I/O through QUANTIZE/DEQUANTIZE.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import tflite

from mcucompress import cli
from mcucompress.codegen.project import compile_graph
from mcucompress.dataset import load_samples, quantize_input
from mcucompress.driver import default_prefix, load, prepare
from mcucompress.examples import DIGITS_TEST
from mcucompress.frontend.tflite import BUILTIN_NAMES
from mcucompress.harness.host import run_on_host
from mcucompress.ir import QuantParams, Tensor
from mcucompress.passes.float_io import int8_core
from mcucompress.reference import executor
from tests.conftest import TflmSession

DATA = Path(__file__).resolve().parents[1] / "data"
CNN_OPS = ["CONV_2D", "MAX_POOL_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE",
           "FULLY_CONNECTED", "SOFTMAX"]
MLP_OPS = ["RESHAPE", "FULLY_CONNECTED", "FULLY_CONNECTED", "LEAKY_RELU", "FULLY_CONNECTED", "TANH",
           "FULLY_CONNECTED", "SOFTMAX"]
ROWS_OPS = ["RESHAPE", "FULLY_CONNECTED", "RESHAPE", "ADD", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
MODELS = {
    "keras_digits_cnn_float": CNN_OPS,
    "keras_digits_cnn_int8": CNN_OPS,
    "keras_digits_cnn_int8_float_io": ["QUANTIZE", *CNN_OPS, "DEQUANTIZE"],
    "keras_digits_mlp_float": MLP_OPS,
    "keras_digits_mlp_int8": MLP_OPS,
    "keras_digits_rows_float": ROWS_OPS,
    "keras_digits_rows_int8": ROWS_OPS,
}
INT8_MODELS = ["keras_digits_cnn_int8", "keras_digits_mlp_int8"]  # the rows model has REDUCE_PROD: not in TFLM
FLOAT_MODELS = ["keras_digits_cnn_float", "keras_digits_mlp_float", "keras_digits_rows_float"]


def path(name: str) -> Path:
    return DATA / f"{name}.tflite"


def file_ops(name: str) -> list[str]:
    """The builtin ops as stored in the file (before our import folds anything)."""
    model = tflite.Model.GetRootAs(path(name).read_bytes(), 0)
    sg = model.Subgraphs(0)
    codes = [model.OperatorCodes(sg.Operators(i).OpcodeIndex()) for i in range(sg.OperatorsLength())]
    return [BUILTIN_NAMES[max(c.BuiltinCode(), c.DeprecatedBuiltinCode())] for c in codes]


@cache
def digits(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The 540 test digits in the model input's dtype (float, or quantized with the input's scale)."""
    graph = load(path(name))
    samples = load_samples(DIGITS_TEST, graph.t(graph.inputs[0]))
    return samples.x, samples.y


@cache
def tflm_outputs(name: str) -> np.ndarray:
    x, _ = digits(name)
    tflm = TflmSession(path(name))
    return np.stack([tflm(xi[None])[0] for xi in x])


@pytest.mark.parametrize("name", MODELS)
def test_imports_and_inspects(name, capsys):
    graph = load(path(name))
    assert [op.kind for op in graph.ops] == MODELS[name]
    assert cli.main(["inspect", str(path(name)), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [op["kind"] for op in report["ops"]] == MODELS[name]
    assert all(op["supported"] for op in report["ops"])
    assert report["inputs"][0]["shape"] == [1, 8, 8, 1] and report["outputs"][0]["shape"] == [1, 10]


@pytest.mark.parametrize("name", MODELS)
def test_file_holds_the_converters_flatten_arithmetic(name):
    """Keras' Flatten as the current converter lowers it; our import folds it into one RESHAPE."""
    ops = file_ops(name)
    assert {"SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE"} <= set(ops)
    assert "SHAPE" not in [op.kind for op in load(path(name)).ops]


@pytest.mark.parametrize("name", ["keras_digits_rows_float", "keras_digits_rows_int8"])
def test_dense_on_rank3_gets_the_shapes_the_converter_left_dynamic(name):
    """Keras' Dense on [batch, 8, 8]: the file stores [1, 1] for the FULLY_CONNECTED input and [1, 16] for its
    output (shape_signature [-1, -1], [-1, 16]) and computes [8, 8] at run time with SHAPE, GATHER,
    REDUCE_PROD and CONCATENATION; import folds that and gives every tensor its real shape."""
    assert {"GATHER", "REDUCE_PROD", "CONCATENATION"} <= set(file_ops(name))
    graph = load(path(name))
    fc = graph.ops[1]
    assert graph.t(fc.inputs[0]).shape == (8, 8) and graph.t(fc.outputs[0]).shape == (8, 16)
    assert [graph.t(op.outputs[0]).shape for op in graph.ops[2:5]] == [(1, 8, 16), (1, 8, 16), (1, 128)]


def litert_outputs(name: str, x: np.ndarray, resolver: str = "BUILTIN_WITHOUT_DEFAULT_DELEGATES") -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_path=str(path(name)), experimental_op_resolver_type=getattr(OpResolverType, resolver))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]
    outs = []
    for xi in x:
        interp.set_tensor(inp, xi[None])
        interp.invoke()
        outs.append(interp.get_tensor(out)[0].copy())
    return np.stack(outs)


def test_int8_dense_on_rank3_bit_exact_with_tflm_in_reference_and_host_c(tmp_path):
    """TFLM has no REDUCE_PROD, so the file itself does not run in TFLM: TFLM runs our import of it written
    back with static shapes, and reference and host C equal it bit for bit. LiteRT runs the file itself;
    its int8 kernels are not TFLM's (per-channel FULLY_CONNECTED rounds differently in a few outputs, as on
    the MLP and CNN files that TFLM runs), so it only agrees on nearly every sample."""
    from mcucompress.frontend import tflite_writer

    name = "keras_digits_rows_int8"
    x, y = digits(name)
    graph = load(path(name))
    ours = executor.run(graph, [x])[0]
    static = tmp_path / "rows_static.tflite"
    tflite_writer.write(graph, static)
    tflm = TflmSession(static)
    np.testing.assert_array_equal(ours, np.stack([tflm(xi[None])[0] for xi in x]))
    host = run_on_host(compile_graph(graph, default_prefix(graph)), x, (1, 10), workdir=tmp_path)
    np.testing.assert_array_equal(host, ours)
    litert = litert_outputs(name, x, "BUILTIN_REF")
    assert np.sum(np.any(ours != litert, axis=1)) <= 5 and np.max(np.abs(ours.astype(int) - litert)) <= 16
    assert np.mean(ours.argmax(1) == y) >= 0.95 and np.mean(litert.argmax(1) == y) >= 0.95


@pytest.mark.parametrize("name", INT8_MODELS)
def test_int8_reference_bit_exact_with_tflm(name):
    x, y = digits(name)
    graph = load(path(name))
    expected = tflm_outputs(name)
    np.testing.assert_array_equal(executor.run(graph, [x])[0], expected)
    assert np.mean(expected.argmax(1) == y) >= 0.95


@pytest.mark.parametrize("name", INT8_MODELS)
def test_int8_host_c_bit_exact_with_tflm(name, tmp_path):
    x, _ = digits(name)
    graph = load(path(name))
    compiled = compile_graph(graph, default_prefix(graph))
    outputs = run_on_host(compiled, x, graph.t(graph.outputs[0]).shape, workdir=tmp_path)
    np.testing.assert_array_equal(outputs, tflm_outputs(name))


def test_int8_with_float_io_matches_tflm_in_reference_and_host_c(tmp_path):
    """The default int8 conversion (float32 I/O): the reference runs it with its QUANTIZE/DEQUANTIZE edges,
    compiling cuts them (float samples are quantized like the QUANTIZE op): both equal TFLM."""
    name = "keras_digits_cnn_int8_float_io"
    x, _ = digits(name)
    assert x.dtype == np.float32
    expected = tflm_outputs(name)
    assert expected.dtype == np.float32
    np.testing.assert_array_equal(executor.run(load(path(name)), [x])[0], expected)
    core = prepare(path(name))  # no calibration needed: already quantized
    assert core.is_quantized and [op.kind for op in core.ops] == CNN_OPS
    q_in, q_out = core.t(core.inputs[0]).quant, core.t(core.outputs[0]).quant
    x8 = load_samples(DIGITS_TEST, core.t(core.inputs[0])).x
    host = run_on_host(compile_graph(core, default_prefix(core)), x8, (1, 10), workdir=tmp_path)
    dequantized = (host.astype(np.int32) - q_out.zp).astype(np.float32) * np.float32(q_out.s)
    np.testing.assert_array_equal(dequantized, expected)
    # the same int8 core as the int8-I/O conversion of the same Keras model
    int8 = load(path("keras_digits_cnn_int8"))
    assert (q_in.s, q_in.zp) == (int8.t(int8.inputs[0]).quant.s, int8.t(int8.inputs[0]).quant.zp)
    np.testing.assert_array_equal(host, tflm_outputs("keras_digits_cnn_int8"))


def test_only_int8_models_with_float_io_have_an_int8_core():
    assert int8_core(load(path("keras_digits_cnn_float"))) is None  # a float model: quantize it
    assert int8_core(load(path("keras_digits_cnn_int8"))) is None  # already int8 I/O
    core = int8_core(load(path("keras_digits_cnn_int8_float_io")))
    assert core is not None and core.t(core.inputs[0]).dtype == core.t(core.outputs[0]).dtype == "int8"


def test_float_samples_are_quantized_like_tflites_quantize_op():
    """std::round of the float32 quotient (0.49999997 rounds to 0): what the cut-off QUANTIZE would compute."""
    half_below = float(np.nextafter(np.float32(0.5), np.float32(0)))
    x = np.array([half_below, 0.5, 1.5, 2.5, -0.5, -2.5, -half_below, 300.0, -300.0], np.float32)
    t = Tensor("x", (9,), "int8", QuantParams(np.array([1.0], np.float32), np.array([3])))
    np.testing.assert_array_equal(quantize_input(x, t), [3, 4, 5, 6, 2, 0, 3, 127, -128])


@pytest.mark.parametrize("name", FLOAT_MODELS)
def test_float_reference_close_to_litert(name):
    x, y = digits(name)
    ref = litert_outputs(name, x)
    ours = executor.run(load(path(name)), [x])[0]
    # relative to each output's magnitude (softmax probabilities: the largest is >= 0.1)
    assert np.max(np.abs(ours - ref) / np.max(np.abs(ref), axis=1, keepdims=True)) <= 1e-5
    assert np.mean(ref.argmax(1) == y) >= 0.95
