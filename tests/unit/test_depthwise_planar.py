"""DEPTHWISE_CONV_2D's channel-planar 3x3 path (mcc_depthwise_conv_s8.c, DSP builds; MCC_DW_PLANAR) in generated
models: random layers of its geometry (3x3, dilation 1, stride_h 1 or 2, any stride_w, SAME or VALID, widths and
heights 1-9, channel counts not multiples of four) run on the host (in place where the output row is as wide
as the input row), with the emulated DSP extension (the
planar path) and without it (the band path's unrolled 3x3), bit-exact with the reference executor and TFLM."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mcucompress.codegen.lower import depthwise_writes_over_input
from mcucompress.codegen.project import compile_graph
from mcucompress.codegen.variants import VARIANTS_HEADER
from mcucompress.harness import host
from mcucompress.ir import ops as irops
from tests.random_graphs import Builder, _weighted_op, _window_attrs
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs, samples
from tests.unit.test_reference_ops import tflm

CASES = 10


def planar_graph(rng: np.random.Generator, case: int):
    """One depthwise layer of the planar geometry; every third one with a ReLU (a clamp the planar path leaves to
    the band path when the output zero point is not -128)."""
    b = Builder(rng, f"dw_planar_{case}")
    h, w = (int(v) for v in rng.integers(1, 10, 2))
    c = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 12, 19]))
    stride = (int(rng.choice([1, 1, 2])), int(rng.choice([1, 1, 2, 3])))
    x = b.input((1, h, w, c))
    (oh, ow), pads = _window_attrs(rng, (h, w), (3, 3), stride, (1, 1), None)
    activation = "RELU" if case % 3 == 2 else "NONE"
    inputs, y = _weighted_op(b, x, (1, 3, 3, c), c, 9, 3, True, activation, (1, oh, ow, c), None)
    attrs = irops.DepthwiseConv2DAttrs(*stride, 1, 1, **pads, activation=activation)
    return b.finish(b.op("DEPTHWISE_CONV_2D", inputs, y, attrs))


@pytest.mark.parametrize("dsp", [True, False], ids=["emulated-dsp", "portable"])
def test_planar_depthwise_in_place_bit_exact(dsp, tmp_path, monkeypatch):
    if dsp:
        monkeypatch.setattr(host, "HOST_CFLAGS", [*host.HOST_CFLAGS, "-DMCC_EMULATE_DSP"])
    rng = np.random.default_rng(2026)
    planar = 0
    for case in range(CASES):
        graph = planar_graph(rng, case)
        op = graph.ops[0]
        in_w, out_w = graph.t(op.inputs[0]).shape[2], graph.t(op.outputs[0]).shape[2]
        assert depthwise_writes_over_input(graph, op) == (in_w == out_w), f"case {case}: in place or not"
        header = compile_graph(graph, "m").files[VARIANTS_HEADER]
        planar += re.search(r"^#define MCC_DW_PLANAR +1 ", header, re.MULTILINE) is not None
        xs = samples(graph, rng)
        want = reference_outputs(graph, xs)
        assert_same(host_outputs(graph, xs, tmp_path / str(case)), want)
        if case < 4:  # the reference executor agrees with TFLM
            run = tflm(graph)
            for x, ref in zip(xs, want):
                assert np.array_equal(run(x.reshape(graph.t(graph.inputs[0]).shape)), ref.reshape(
                    graph.t(graph.outputs[0]).shape)), f"case {case}: reference differs from TFLM"
    assert planar >= CASES // 2  # most layers take the planar path
