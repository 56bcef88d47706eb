"""Keras models holding issue 10's operators as the current TF converter emits them (tests/data/keras_{decoder,
gru,attention,lstm,ops_*}_*.tflite, made by tests/data/make_tf_ops_models.py): each file imports, our reference
executor and our host C are bit-exact with TFLM on the same int8 inputs, and our float reference is within 1e-5
of LiteRT.

Inputs: the 540 test digits (8x8x1 images, or 8 rows of 8 pixels for the sequence models) and, for the untrained
decoder, seeded random normal latents like its calibration data; quantized with the file's input scale. The
fused LSTM keeps its state in variable tensors between invocations: TFLM and LiteRT are reset before every
sample, so that each starts from a zero state as in Keras, and the generated C runs with the per-sample state
policy "reset" (<prefix>_reset_state() before every sample; no effect on the models without state).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
import tflite

from mcucompress.codegen.project import compile_graph
from mcucompress.dataset import quantize_input
from mcucompress.driver import default_prefix, load
from mcucompress.examples import DIGITS_TEST
from mcucompress.frontend.tflite import BUILTIN_NAMES
from mcucompress.harness.host import run_on_host
from mcucompress.ir import QuantParams, Tensor
from mcucompress.reference import executor
from tests.conftest import TflmSession

DATA = Path(__file__).resolve().parents[1] / "data"
N_BIT_EXACT = 100  # samples compared with TFLM in the reference executor and host C (all 540 for top-1)

# The TFLite builtin ops of each file, in order, as the converter wrote them (read with the tflite package).
DECODER_OPS = ["CONV_2D", "SHAPE", "STRIDED_SLICE", "PACK", "TRANSPOSE_CONV", "RESIZE_NEAREST_NEIGHBOR",
               "RESIZE_BILINEAR", "CONV_2D"]
# The unrolled GRU: per step FULLY_CONNECTED on the state, SPLIT/STRIDED_SLICE into gates, LOGISTIC, TANH,
# MUL, ADD and SUB (1 - z), as the converter orders them.
GRU_OPS = """
    RESHAPE CONV_2D CONV_2D RESHAPE UNPACK FULLY_CONNECTED SPLIT ADD LOGISTIC SUB ADD LOGISTIC MUL ADD TANH MUL
    FULLY_CONNECTED STRIDED_SLICE STRIDED_SLICE STRIDED_SLICE FULLY_CONNECTED SPLIT FULLY_CONNECTED SPLIT
    FULLY_CONNECTED SPLIT FULLY_CONNECTED SPLIT ADD LOGISTIC MUL SUB ADD LOGISTIC MUL ADD TANH MUL ADD
    FULLY_CONNECTED STRIDED_SLICE STRIDED_SLICE STRIDED_SLICE FULLY_CONNECTED SPLIT ADD LOGISTIC MUL SUB ADD
    LOGISTIC MUL ADD TANH MUL ADD FULLY_CONNECTED STRIDED_SLICE STRIDED_SLICE STRIDED_SLICE FULLY_CONNECTED
    SPLIT ADD LOGISTIC MUL SUB ADD LOGISTIC MUL ADD TANH MUL ADD FULLY_CONNECTED STRIDED_SLICE STRIDED_SLICE
    STRIDED_SLICE FULLY_CONNECTED SPLIT ADD LOGISTIC MUL SUB ADD LOGISTIC MUL ADD TANH MUL ADD FULLY_CONNECTED
    STRIDED_SLICE ADD LOGISTIC SUB MUL STRIDED_SLICE ADD LOGISTIC STRIDED_SLICE MUL ADD TANH MUL ADD
    FULLY_CONNECTED STRIDED_SLICE ADD LOGISTIC SUB MUL STRIDED_SLICE ADD LOGISTIC STRIDED_SLICE MUL ADD TANH MUL
    ADD FULLY_CONNECTED STRIDED_SLICE ADD LOGISTIC SUB MUL STRIDED_SLICE ADD LOGISTIC STRIDED_SLICE MUL ADD TANH
    MUL ADD FULLY_CONNECTED SOFTMAX
""".split()  # noqa: SIM905 (137 names: one readable block)
ATTENTION_OPS = ["FULLY_CONNECTED", "FULLY_CONNECTED", "FULLY_CONNECTED", "BATCH_MATMUL", "MUL", "SOFTMAX",
                 "FULLY_CONNECTED", "BATCH_MATMUL", "FULLY_CONNECTED", "ADD", "MEAN", "FULLY_CONNECTED", "SOFTMAX"]
LSTM_OPS = ["UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "FULLY_CONNECTED", "SOFTMAX"]


def _ops_model(elu: list[str], head: str) -> list[str]:
    return ["CONV_2D", "PRELU", "SPACE_TO_DEPTH", "CONV_2D", *elu, "DEPTH_TO_SPACE", "MIRROR_PAD", "CONV_2D", "SPLIT",
            "MAXIMUM", "TRANSPOSE", "STRIDED_SLICE", "REDUCE_MAX", "SUM", "CONCATENATION", "RESHAPE",
            "FULLY_CONNECTED", head]


# The int8 conversion leaves ELU in float32 between DEQUANTIZE and QUANTIZE (TF 2.21 does not quantize it).
INT8_ELU = ["DEQUANTIZE", "ELU", "QUANTIZE"]
MODELS = {  # name: (input kind, stored ops)
    "keras_decoder_float": ("latent", DECODER_OPS),
    "keras_decoder_int8": ("latent", DECODER_OPS),
    "keras_gru_float": ("rows", GRU_OPS),
    "keras_gru_int8": ("rows", GRU_OPS),
    "keras_attention_float": ("rows", ATTENTION_OPS),
    "keras_attention_int8": ("rows", ATTENTION_OPS),
    "keras_lstm_float": ("rows", LSTM_OPS),
    "keras_lstm_int8": ("rows", LSTM_OPS),
    "keras_ops_logsoftmax_float": ("image", _ops_model(["ELU"], "LOG_SOFTMAX")),
    "keras_ops_logsoftmax_int8": ("image", _ops_model(INT8_ELU, "LOG_SOFTMAX")),
    "keras_ops_argmax_float": ("image", _ops_model(["ELU"], "ARG_MAX")),
    "keras_ops_argmax_int8": ("image", _ops_model(INT8_ELU, "ARG_MAX")),
}
INT8_MODELS = [name for name in MODELS if name.endswith("_int8")]
FLOAT_MODELS = [name for name in MODELS if name.endswith("_float")]
CLASSIFIERS = [name for name in MODELS if MODELS[name][0] != "latent"]
MIN_TOP1 = {"keras_attention": 0.7}  # one attention block over 8 rows; the other classifiers reach 0.9


def path(name: str) -> Path:
    return DATA / f"{name}.tflite"


def _subgraph(name: str):
    model = tflite.Model.GetRootAs(path(name).read_bytes(), 0)
    return model, model.Subgraphs(0)


def file_ops(name: str) -> list[str]:
    model, sg = _subgraph(name)
    codes = [model.OperatorCodes(sg.Operators(i).OpcodeIndex()) for i in range(sg.OperatorsLength())]
    return [BUILTIN_NAMES[max(c.BuiltinCode(), c.DeprecatedBuiltinCode())] for c in codes]


def file_input(name: str) -> Tensor:
    """The model input as the file declares it (read without our import, which may refuse the file)."""
    _, sg = _subgraph(name)
    t = sg.Tensors(sg.Inputs(0))
    q = t.Quantization()
    quant = None
    if q is not None and q.ScaleLength():
        quant = QuantParams(q.ScaleAsNumpy().astype(np.float32), q.ZeroPointAsNumpy().astype(np.int64))
    dtype = {tflite.TensorType.INT8: "int8", tflite.TensorType.FLOAT32: "float32"}[t.Type()]
    return Tensor("input", tuple(int(d) for d in t.ShapeAsNumpy()), dtype, quant)


@cache
def samples(name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs [N, *input shape] in the file's input dtype, and the labels (None for the decoder)."""
    kind = MODELS[name][0]
    t = file_input(name)
    if kind == "latent":
        x, y = np.random.default_rng(1).standard_normal((16, *t.shape[1:])).astype(np.float32), None
    else:
        digits = np.load(DIGITS_TEST)
        x, y = digits["x"].astype(np.float32), digits["y"]
        if kind == "rows":
            x = x[..., 0]
    return quantize_input(x, t)[:, None], y


class Tflm:
    """TFLM reset before every sample: the fused LSTM's state starts from zero each time."""

    def __init__(self, name: str):
        self.session = TflmSession(path(name))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.session.interp.reset()
        return self.session(x)


@cache
def tflm_outputs(name: str) -> np.ndarray:
    x, _ = samples(name)
    tflm = Tflm(name)
    return np.stack([tflm(xi) for xi in x])


def litert_outputs(name: str, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_path=str(path(name)),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]
    outs = []
    for xi in x:
        interp.reset_all_variables()
        interp.set_tensor(inp, xi)
        interp.invoke()
        outs.append(interp.get_tensor(out).copy())
    return np.stack(outs)


def reference_outputs(graph, x: np.ndarray) -> np.ndarray:
    return np.stack([executor.run(graph, [xi])[0] for xi in x])


def host_outputs(graph, x: np.ndarray, tmp_path) -> np.ndarray:
    """Host C outputs in the model output's dtype (the harness decodes ArgMax's int32 output buffer
    itself), with the state reset before every sample (each digit is an independent sequence)."""
    out = graph.t(graph.outputs[0])
    raw = run_on_host(compile_graph(graph, default_prefix(graph)), x, out.shape, workdir=tmp_path, state="reset")
    return np.asarray(raw).reshape(len(x), *out.shape)


@pytest.mark.parametrize("name", MODELS)
def test_file_holds_the_converters_ops(name):
    assert file_ops(name) == MODELS[name][1]
    assert path(name).stat().st_size < 50_000


@pytest.mark.parametrize("name", [n for n in INT8_MODELS if n in CLASSIFIERS])
def test_int8_file_scores_the_digits_in_tflm(name):
    """The files are working classifiers (TFLM's top-1 on the 540 test digits): not a random network."""
    _, y = samples(name)
    out = tflm_outputs(name).reshape(len(y), -1)
    pred = out[:, 0] if out.shape[1] == 1 else out.argmax(1)  # ArgMax gives the class
    assert np.mean(pred == y) >= MIN_TOP1.get(name.rsplit("_", 1)[0], 0.9)


@pytest.mark.parametrize("name", MODELS)
def test_imports_with_every_op_supported(name):
    graph = load(path(name))
    assert graph.t(graph.inputs[0]).shape == file_input(name).shape


@pytest.mark.parametrize("name", INT8_MODELS)
def test_int8_reference_bit_exact_with_tflm(name):
    x, _ = samples(name)
    x = x[:N_BIT_EXACT]
    np.testing.assert_array_equal(reference_outputs(load(path(name)), x), tflm_outputs(name)[:N_BIT_EXACT])


@pytest.mark.parametrize("name", INT8_MODELS)
def test_int8_host_c_bit_exact_with_tflm(name, tmp_path):
    x, _ = samples(name)
    x = x[:N_BIT_EXACT]
    host = host_outputs(load(path(name)), x, tmp_path)
    np.testing.assert_array_equal(host, tflm_outputs(name)[:N_BIT_EXACT])


@pytest.mark.parametrize("name", FLOAT_MODELS)
def test_float_reference_close_to_litert(name):
    x, _ = samples(name)
    x = x[:N_BIT_EXACT]
    expected = litert_outputs(name, x)
    ours = reference_outputs(load(path(name)), x)
    assert ours.shape == expected.shape and ours.dtype == expected.dtype
    if expected.dtype == np.int32:  # ArgMax
        np.testing.assert_array_equal(ours, expected)
        return
    flat, ref = ours.reshape(len(x), -1), expected.reshape(len(x), -1)
    # relative to each output's magnitude (log-probabilities, probabilities or decoded pixels)
    assert np.max(np.abs(flat - ref) / np.max(np.abs(ref), axis=1, keepdims=True)) <= 1e-5
