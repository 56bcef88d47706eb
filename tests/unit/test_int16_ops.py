"""16x8 single-op models (int16 activations, int8 weights): the reference executor equals TFLM bit for bit.

Each case draws a random configuration (shapes, strides, padding, dilation, broadcast, activation, per-tensor or
per-channel weights, int64 or int32 bias), writes it with the TFLite writer and runs TFLM's kernels on random
int16 inputs (one holding both extremes).
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.frontend import tflite_writer
from mcucompress.reference import executor
from tests.int16_graphs import KINDS, int16_inputs, random_graph

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
