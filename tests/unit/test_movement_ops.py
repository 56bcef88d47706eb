"""Data-movement ops: random single-op models, the numpy executor bit-exact with TFLM (int8 and float32),
TFLite export and re-import preserving them, and the verifier rejecting out-of-range attributes."""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.errors import GraphError
from mcucompress.frontend import tflite as tflite_import
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Op
from mcucompress.ir import ops as irops
from mcucompress.ir.verify import verify
from mcucompress.reference import executor
from tests.movement_cases import KINDS, graph

CONFIGS = 12


def _inputs(g, rng):
    out = []
    for n in g.inputs:
        t = g.t(n)
        if t.dtype == "int8":
            out.append(rng.integers(-128, 128, t.shape, dtype=np.int8))
        else:
            out.append(rng.standard_normal(t.shape).astype(np.float32))
    return out


def _tflm(g, xs):
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(tflite_writer.to_bytes(g), arena_size=1 << 20)
    for k, x in enumerate(xs):
        interp.set_input(x, k)
    interp.invoke()
    return [interp.get_output(k).copy() for k in range(len(g.outputs))]


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("kind", KINDS)
def test_movement_matches_tflm(kind, dtype):
    rng = np.random.default_rng(KINDS.index(kind) * 100 + (dtype == "float32"))
    for _ in range(CONFIGS):
        g = graph(kind, rng, dtype)
        verify(g)
        xs = _inputs(g, rng)
        ours = executor.run(g, xs)
        ref = _tflm(g, xs)
        for a, b, n in zip(ours, ref, g.outputs):
            assert a.dtype == b.dtype, (kind, g.ops[0].attrs)
            np.testing.assert_array_equal(a.reshape(b.shape), b, err_msg=f"{kind} {g.ops[0].attrs} {n}")
            assert a.shape == b.shape or a.size == b.size == 1, (a.shape, b.shape)


@pytest.mark.parametrize("kind", KINDS)
def test_movement_round_trips_through_tflite(kind, tmp_path):
    rng = np.random.default_rng(7 + KINDS.index(kind))
    for i in range(4):
        g = graph(kind, rng)
        path = tmp_path / f"{kind}{i}.tflite"
        tflite_writer.write(g, path)
        back = tflite_import.load(path)
        assert [op.kind for op in back.ops] == [kind]
        xs = _inputs(g, rng)
        for a, b in zip(executor.run(g, xs), executor.run(back, xs)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("attrs", [
    irops.TransposeAttrs((0, 0, 1)),
    irops.SliceAttrs((0, 2, 0), (1, 2, 1)),
    irops.StridedSliceAttrs((0, 0, 0), (1, 1, 1), (1, 0, 1)),
    irops.SplitAttrs(1, (1, 1)),
    irops.MirrorPadAttrs(((0, 0), (3, 0), (0, 0)), "REFLECT"),
    irops.GatherAttrs((3,), (1,), 1),
    irops.BlockAttrs(2),
])
def test_verifier_rejects_out_of_range_attributes(attrs):
    kind = {irops.TransposeAttrs: "TRANSPOSE", irops.SliceAttrs: "SLICE", irops.StridedSliceAttrs: "STRIDED_SLICE",
            irops.SplitAttrs: "SPLIT", irops.MirrorPadAttrs: "MIRROR_PAD", irops.GatherAttrs: "GATHER",
            irops.BlockAttrs: "DEPTH_TO_SPACE"}[type(attrs)]
    g = graph("TRANSPOSE", np.random.default_rng(0))
    x = g.t("in0")
    x.shape = (1, 3, 2)
    g.t("out0").shape = (1, 3, 2)
    g.ops = [Op(kind, ["in0"], ["out0"], attrs, "bad")]
    with pytest.raises(GraphError):
        verify(g)


def test_constant_split_folds_into_constants():
    from mcucompress.passes import constant_folding

    g = graph("SPLIT", np.random.default_rng(3), "float32")
    x = g.t("in0")
    x.data = np.arange(x.size, dtype=np.float32).reshape(x.shape)
    g.inputs = []
    g.outputs = ["joined"]  # the split's outputs are no graph outputs: folding may take them
    op = g.ops[0]
    assert constant_folding.rewrite(g, op)
    for n, y in zip(op.outputs, executor.outputs_of(op, executor.run_op(g, op, [x.data])).values()):
        np.testing.assert_array_equal(g.t(n).data, y)


def test_movement_attrs_survive_serialization(tmp_path):
    from mcucompress.ir import serialize
    from tests.movement_cases import movement_chain

    g = movement_chain()
    serialize.save(g, tmp_path / "g.json")
    back = serialize.load(tmp_path / "g.json")
    assert [op.attrs for op in back.ops] == [op.attrs for op in g.ops]
    assert [op.outputs for op in back.ops] == [op.outputs for op in g.ops]
