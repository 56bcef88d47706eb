"""The reference executor is bit-exact with TFLM on the MLPerf Tiny int8 models, close to LiteRT on float."""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.frontend import load_model
from mcucompress.reference import executor
from tests.conftest import FLOAT_MODELS, INT8_MODELS, TflmSession, lcg_input, shared_model

ANCHOR_OUTPUTS = {
    "kws_ref_model": "8080808080808080809a8066",
    "vww_96_int8": "7888",
    "ic_pretrainedResnet_quant": "8080828380807b808080",
}


def fnv1a32(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


@pytest.mark.parametrize("name", INT8_MODELS)
def test_int8_model_bit_exact_with_tflm(name):
    path = shared_model(name)
    graph = load_model(path)
    tflm = TflmSession(path)
    shape = graph.t(graph.inputs[0]).shape
    rng = np.random.default_rng(1234)
    for _ in range(20):
        x = rng.integers(-128, 128, size=shape, dtype=np.int8)
        np.testing.assert_array_equal(executor.run(graph, [x])[0], tflm(x))


@pytest.mark.parametrize("name", INT8_MODELS)
def test_int8_model_matches_published_anchor_vector(name):
    graph = load_model(shared_model(name))
    shape = graph.t(graph.inputs[0]).shape
    x = lcg_input(int(np.prod(shape))).reshape(shape)
    out = executor.run(graph, [x])[0].tobytes()
    if name == "ad01_int8":
        assert fnv1a32(out) == 0x1FD3ED06
        assert out[:16].hex() == "e405051e2f3e2e312f302c30322d272b"
    else:
        assert out.hex() == ANCHOR_OUTPUTS[name]


@pytest.mark.parametrize("name", FLOAT_MODELS)
def test_float_model_close_to_litert(name):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    path = shared_model(name)
    graph = load_model(path)
    interp = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    rng = np.random.default_rng(7)
    for _ in range(3):
        x = rng.standard_normal(graph.t(graph.inputs[0]).shape).astype(np.float32)
        interp.set_tensor(interp.get_input_details()[0]["index"], x)
        interp.invoke()
        ref = interp.get_tensor(interp.get_output_details()[0]["index"])
        ours = executor.run(graph, [x])[0]
        # relative to the output's magnitude: an element near zero has no meaningful relative error
        assert np.max(np.abs(ours - ref)) <= 1e-5 * np.max(np.abs(ref))
