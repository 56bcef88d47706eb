"""16x8 single-op models (int16 activations, int8 weights): the reference executor equals TFLM bit for bit.

Each case draws a random configuration (shapes, strides, padding, dilation, broadcast, activation, per-tensor or
per-channel weights, int64 or int32 bias), writes it with the TFLite writer and runs TFLM's kernels on random
int16 inputs (one holding both extremes).
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.fixedpoint import sigmoid16
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Tensor
from mcucompress.ir import ops as irops
from mcucompress.reference import executor
from tests.int16_graphs import KINDS, _graph, int16_inputs, q16, random_graph

CONFIGS = 8


def run_tflm(graph, xs: list[np.ndarray]) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(tflite_writer.to_bytes(graph), arena_size=1 << 20)
    for i, x in enumerate(xs):
        interp.set_input(x, i)
    interp.invoke()
    return interp.get_output(0).copy()


def assert_matches_tflm(graph, rng) -> None:
    per_input = [int16_inputs(graph.t(n), rng) for n in graph.inputs]
    for xs in zip(*per_input):
        ours = executor.run(graph, list(xs))[0]
        ref = run_tflm(graph, list(xs))
        assert ours.dtype == ref.dtype == np.int16 and ours.shape == ref.shape
        np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(CONFIGS))
def test_int16_op_matches_tflm(kind, seed):
    rng = np.random.default_rng(1000 * KINDS.index(kind) + seed)
    assert_matches_tflm(random_graph(kind, rng), rng)


@pytest.mark.parametrize("kind", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize("scale", [2.0**-12, 2.0**-11, 3.1e-4, 1e-5])
def test_sigmoid_tanh_every_int16_value(kind, scale):
    g = _graph(kind, [Tensor("x", (1, 65536), "int16", q16(scale)), Tensor("out", (1, 65536), "int16", q16(1 / 32768))],
               ["x"], irops.NoAttrs())
    x = np.arange(-32768, 32768, dtype=np.int16).reshape(1, -1)
    np.testing.assert_array_equal(executor.run(g, [x])[0], run_tflm(g, [x]))


def test_sigmoid_table_matches_tflm():
    """Read TFLM's sigmoid table back through its int16 TANH: with input scale just above 1/6144 its Prepare
    gives multiplier 2^14 and shift 13 (table input 2x), so x = 128 i lands exactly on entry i and the output
    is TABLE[i] - 32768; the last entry shows in the slope just below the saturation point."""
    s = np.float32(1 / 6144)
    while float(s) * 12288.0 < 2.0:
        s = np.nextafter(s, np.float32(1))
    assert sigmoid16.params(float(s), True) == sigmoid16.SigmoidTanh16Params(16384, 13)
    g = _graph("TANH", [Tensor("x", (1, 256), "int16", q16(float(s))), Tensor("out", (1, 256), "int16", q16(1 / 32768))],
               ["x"], irops.NoAttrs())
    x = np.zeros((1, 256), np.int16)
    x[0, :255] = 128 * np.arange(255)
    x[0, 255] = 128 * 254 + 127  # entry 254 plus 254/256 of the step to entry 255
    y = run_tflm(g, [x]).astype(np.int64)[0]
    np.testing.assert_array_equal(sigmoid16.TABLE[:255], y[:255] + 32768)
    step = sigmoid16.TABLE[255] - sigmoid16.TABLE[254]
    assert (254 * step + 128) // 256 == y[255] + 32768 - sigmoid16.TABLE[254]


def test_import_round_trip():
    """Every random 16x8 model read back from its .tflite runs identically (int16 tensors, int64 biases)."""
    import tempfile
    from pathlib import Path

    from mcucompress.frontend import tflite

    for kind in KINDS:
        rng = np.random.default_rng(77 + KINDS.index(kind))
        g = random_graph(kind, rng)
        with tempfile.TemporaryDirectory() as d:
            tflite_writer.write(g, Path(d) / "m.tflite")
            h = tflite.load(Path(d) / "m.tflite")
        assert [t.dtype for t in h.tensors.values()] == [t.dtype for t in g.tensors.values() if t.name in h.tensors]
        xs = [int16_inputs(g.t(n), rng)[0] for n in g.inputs]
        np.testing.assert_array_equal(executor.run(g, xs)[0], executor.run(h, xs)[0])
