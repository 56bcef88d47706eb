"""16x8 ops compiled to C with the host gcc (ASan/UBSan): bit-exact with the reference executor and TFLM.

The C model takes and returns int8, so each random 16x8 op runs between QUANTIZE int8 -> int16 and
QUANTIZE int16 -> int8 (tests/int16_graphs.int8_wrapped); the int16 op itself is checked against TFLM
directly in test_int16_ops.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.int16_graphs import KINDS, int8_wrapped, random_graph
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs
from tests.unit.test_int16_ops import run_tflm

CONFIGS = 8


@pytest.mark.parametrize("kind", KINDS)
def test_int16_op_bit_exact_on_host(kind, tmp_path):
    rng = np.random.default_rng(5000 + KINDS.index(kind))
    for i in range(CONFIGS):
        graph = int8_wrapped(random_graph(kind, rng), rng)
        shape = graph.t("x8").shape
        xs = rng.integers(-128, 128, (4,) + shape, dtype=np.int8)
        ours = host_outputs(graph, xs, tmp_path / str(i))
        ref = reference_outputs(graph, xs)
        assert_same(ours, ref)
        for x, y in zip(xs, ref):
            np.testing.assert_array_equal(y.reshape(-1), run_tflm(graph, [x.reshape(shape)]).reshape(-1))


def test_wide_layers_bit_exact_on_host(tmp_path):
    """The kernels' long-sum paths: FULLY_CONNECTED over 700 inputs (int32 chunks of 256), CONV_2D over 520
    input channels (per-product int64 accumulation), both with int64 and int32 biases."""
    from mcucompress.ir import Graph, Op, QuantParams, Tensor
    from mcucompress.ir import ops as irops
    from tests.int16_graphs import q16

    rng = np.random.default_rng(99)
    for i, (kind, wide) in enumerate([("FULLY_CONNECTED", True), ("FULLY_CONNECTED", False), ("CONV_2D", True),
                                      ("CONV_2D", False)]):
        g = Graph(name=f"wide{i}")
        if kind == "FULLY_CONNECTED":
            x_shape, w_shape, out_shape, attrs = (1, 700), (6, 700), (1, 6), irops.FullyConnectedAttrs()
        else:
            x_shape, w_shape, out_shape, attrs = (1, 2, 2, 520), (3, 1, 1, 520), (1, 2, 2, 3), irops.Conv2DAttrs()
        channels = w_shape[0]
        w_scale = rng.uniform(0.002, 0.02, channels).astype(np.float32)
        g.add_tensor(Tensor("x", x_shape, "int16", q16(1e-3)))
        g.add_tensor(Tensor("w", w_shape, "int8", QuantParams(w_scale, np.zeros(channels, np.int64), 0),
                            rng.integers(-127, 128, w_shape)))
        g.add_tensor(Tensor("b", (channels,), "int64" if wide else "int32",
                            QuantParams((np.float32(1e-3) * w_scale).astype(np.float32), np.zeros(channels, np.int64), 0),
                            rng.integers(-50000, 50000, channels)))
        g.add_tensor(Tensor("out", out_shape, "int16", q16(1e-3 * 0.01 * 700 * 40)))
        g.ops = [Op(kind, ["x", "w", "b"], ["out"], attrs, "layer")]
        g.inputs, g.outputs = ["x"], ["out"]
        graph = int8_wrapped(g, rng)
        shape = graph.t("x8").shape
        xs = rng.integers(-128, 128, (3,) + shape, dtype=np.int8)
        ref = reference_outputs(graph, xs)
        assert_same(host_outputs(graph, xs, tmp_path / str(i)), ref)
        for x, y in zip(xs, ref):
            np.testing.assert_array_equal(y.reshape(-1), run_tflm(graph, [x.reshape(shape)]).reshape(-1))
        assert len(np.unique(ref)) > 4  # not all saturated
