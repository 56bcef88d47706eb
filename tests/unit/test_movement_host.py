"""Data-movement ops in generated C (host gcc, ASan/UBSan): bit-exact with the reference executor.

The host entry point takes one input and returns one output, so SPLIT and UNPACK are followed by an op joining
their outputs in reverse order (CONCATENATION, PACK): the planner and the lowering then handle several
outputs of one op inside the graph. PACK takes its one input several times.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.ir import Op, Tensor
from mcucompress.ir import ops as irops
from mcucompress.ir.index_maps import index_maps
from mcucompress.ir.verify import verify
from tests.movement_cases import KINDS, graph, movement_chain
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs

CONFIGS = 6


def _single_io(g):
    """Make `g` one input, one output (see the module docstring)."""
    op = g.ops[0]
    if op.kind == "PACK":
        op.inputs = ["in0"] * len(op.inputs)
        for n in g.inputs[1:]:
            del g.tensors[n]
        g.inputs = ["in0"]
    if len(op.outputs) > 1:
        t0 = g.t(op.outputs[0])
        if op.kind == "SPLIT":
            axis = op.attrs.axis % len(t0.shape)
            shape = g.t("in0").shape
            join = Op("CONCATENATION", op.outputs[::-1], ["joined"], irops.ConcatenationAttrs(axis), "join")
        else:
            axis = op.attrs.axis
            shape = index_maps("TRANSPOSE", irops.TransposeAttrs(tuple(range(len(t0.shape) + 1))),
                               g.t("in0").shape, [None])[0].shape
            join = Op("PACK", op.outputs[::-1], ["joined"], irops.AxisAttrs(axis), "join")
        g.add_tensor(Tensor("joined", shape, "int8", t0.quant))
        g.ops.append(join)
        g.outputs = ["joined"]
    return g


@pytest.mark.parametrize("kind", KINDS)
def test_movement_bit_exact_on_host(kind, tmp_path):
    rng = np.random.default_rng(300 + KINDS.index(kind))
    for i in range(CONFIGS):
        g = _single_io(graph(kind, rng))
        verify(g)
        xs = rng.integers(-128, 128, (3, *g.t("in0").shape), dtype=np.int8)
        ours = host_outputs(g, xs, tmp_path / str(i))
        assert_same(ours, reference_outputs(g, xs))


def test_movement_chain_bit_exact_with_tflm_and_on_host(tmp_path):
    from tests.unit.test_movement_ops import _tflm

    g = movement_chain()
    verify(g)
    xs = np.random.default_rng(5).integers(-128, 128, (3, *g.t("x").shape), dtype=np.int8)
    ref = reference_outputs(g, xs)
    for x, y in zip(xs, ref):
        np.testing.assert_array_equal(_tflm(g, [x])[0], y)
    assert_same(host_outputs(g, xs, tmp_path), ref)


def test_float_movement_chain_quantizes_to_one_shared_quantization_and_runs_on_host(tmp_path):
    from mcucompress.quantize.calibrate import calibrate
    from mcucompress.quantize.quantizer import quantize_graph

    g = movement_chain()
    for t in g.tensors.values():
        t.dtype, t.quant = "float32", None
    cal = np.random.default_rng(6).uniform(-2, 3, (40, *g.t("x").shape[1:])).astype(np.float32)
    q = quantize_graph(g, calibrate(g, cal), bias_correction_data=cal)  # runs every op, SPLIT/UNPACK too
    assert len({(float(t.quant.s), t.quant.zp) for t in q.tensors.values()}) == 1  # every output of SPLIT/UNPACK too
    xs = np.random.default_rng(7).integers(-128, 128, (3, *q.t("x").shape), dtype=np.int8)
    assert_same(host_outputs(q, xs, tmp_path), reference_outputs(q, xs))


def test_split_with_an_unused_output_and_a_model_output_on_host(tmp_path):
    """Only SPLIT's last output is read (it is the model's output): the others still get memory to be written."""
    rng = np.random.default_rng(9)
    g = graph("SPLIT", rng)
    while len(g.ops[0].outputs) < 2:
        g = graph("SPLIT", rng)
    g.outputs = [g.ops[0].outputs[-1]]
    verify(g)
    xs = rng.integers(-128, 128, (3, *g.t("in0").shape), dtype=np.int8)
    assert_same(host_outputs(g, xs, tmp_path), reference_outputs(g, xs))
