"""Fixed-range outputs (LOGISTIC, TANH, SOFTMAX) next to calibrated tensors: a concatenation of a sigmoid and
a ReLU branch gets a requantizing QUANTIZE, a pool of a sigmoid shares its fixed range, and the result runs
bit-exactly in TFLM, our reference executor and our host C."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import mcucompress
from mcucompress.codegen.project import compile_graph
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops
from mcucompress.reference import executor
from tests.conftest import TflmSession


def sigmoid_concat_graph(squash: str, seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    g = Graph(name="gate")

    def t(name, shape, data=None):
        g.add_tensor(Tensor(name, shape, "float32", None, None if data is None else data.astype(np.float32)))

    t("x", (1, 6, 6, 3))
    for branch in ("a", "s"):
        t(f"{branch}_w", (4, 3, 3, 3), rng.normal(0, 0.5, (4, 3, 3, 3)))
        t(f"{branch}_b", (4,), rng.normal(0, 0.1, 4))
        t(f"{branch}_conv", (1, 6, 6, 4))
    t("s", (1, 6, 6, 4))
    t("s_pool", (1, 3, 3, 4))
    t("a_pool", (1, 3, 3, 4))
    t("cat", (1, 3, 3, 8))
    t("flat", (1, 72))
    t("fc_w", (5, 72), rng.normal(0, 0.2, (5, 72)))
    t("fc_b", (5,), rng.normal(0, 0.1, 5))
    t("y", (1, 5))
    same = irops.Conv2DAttrs(pad_top=1, pad_bottom=1, pad_left=1, pad_right=1)
    pool = irops.Pool2DAttrs(filter_h=2, filter_w=2, stride_h=2, stride_w=2)
    g.ops = [
        Op("CONV_2D", ["x", "a_w", "a_b"], ["a_conv"], irops.Conv2DAttrs(**{**vars(same), "activation": "RELU"})),
        Op("CONV_2D", ["x", "s_w", "s_b"], ["s_conv"], same),
        Op(squash, ["s_conv"], ["s"]),
        Op("MAX_POOL_2D", ["s"], ["s_pool"], pool),
        Op("AVERAGE_POOL_2D", ["a_conv"], ["a_pool"], pool),
        Op("CONCATENATION", ["a_pool", "s_pool"], ["cat"], irops.ConcatenationAttrs(axis=3)),
        Op("RESHAPE", ["cat"], ["flat"]),
        Op("FULLY_CONNECTED", ["flat", "fc_w", "fc_b"], ["y"], irops.FullyConnectedAttrs()),
    ]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


@pytest.mark.parametrize("bias_correction", [False, True])
@pytest.mark.parametrize("squash", ["LOGISTIC", "TANH"])
def test_concat_of_a_fixed_range_branch_is_requantized_and_bit_exact(squash, bias_correction):
    graph = sigmoid_concat_graph(squash)
    x = np.random.default_rng(1).normal(0, 1, (64, 6, 6, 3)).astype(np.float32)
    q = mcucompress.quantize(graph, x, bias_correction=bias_correction)
    kinds = [op.kind for op in q.ops]
    assert kinds.count("QUANTIZE") == 1 and kinds.index("QUANTIZE") == kinds.index("CONCATENATION") - 1
    fixed = (1 / 256, -128) if squash == "LOGISTIC" else (1 / 128, 0)
    for name in ("s", "s_pool"):  # the pool of the fixed-range tensor keeps its range
        assert (float(q.t(name).quant.s), int(q.t(name).quant.zp)) == (np.float32(fixed[0]), fixed[1])
    tflm = TflmSession(tflite_writer.to_bytes(q))
    qi = q.t("x").quant
    xq = np.clip(np.round(x[:16] / qi.s) + qi.zp, -128, 127).astype(np.int8)
    ours = np.stack([executor.run(q, [xi[None]])[0] for xi in xq])
    np.testing.assert_array_equal(ours, np.stack([tflm(xi[None]) for xi in xq]))
    if shutil.which("gcc"):
        from mcucompress.harness.host import run_on_host

        np.testing.assert_array_equal(run_on_host(compile_graph(q, "gate"), xq, (1, 5)).reshape(ours.shape), ours)
    # the int8 model still tracks the float one
    f = np.stack([executor.run(graph, [xi[None]])[0] for xi in x[:16]]).reshape(16, -1)
    qo = q.t("y").quant
    deq = (ours.reshape(16, -1).astype(np.float32) - qo.zp) * qo.s
    sqnr = 10 * np.log10(np.sum(f**2) / np.sum((f - deq) ** 2))
    assert sqnr > 20, sqnr
