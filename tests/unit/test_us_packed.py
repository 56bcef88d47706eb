"""Packed step streams (codegen/us_packed.py, mcc_convolve_us_packed_s8): the 4-bit format carries the filter
exactly (long gaps bridged, odd quad counts), its kernel runs bit-exact with the reference executor on the host
(portable and emulated-DSP paths) and on the emulated Cortex-M4, and compile keeps a stream packed where the
sparse layers' saved instructions pay for it, without growing the arena: the unstructured layers' streams, and
pruned layers no sparse kernel speeds up whose bitmask (codegen/packed.py) would need more RAM."""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.codegen import packed, sparse, unstructured, us_packed
from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.driver import default_prefix
from mcucompress.harness import host
from mcucompress.reference import executor
from tests import sparse_graphs
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.random_graphs import random_inputs
from tests.unit.test_sparse_kernels import _compile_run, conv_graph, forced_on_qemu

FORMAT = us_packed.FORMAT


def test_format_carries_the_filter_with_long_gaps_bridged():
    rng = np.random.default_rng(5)
    w = rng.integers(-128, 128, (7, 200)).astype(np.int8)
    w[rng.random(w.shape) < 0.6] = 0
    w[1] = 0  # an empty row
    w[2, :] = 0
    w[2, [0, 16, 17, 120, 199]] = [5, -128, 127, 1, -1]  # gaps of 16 and 103 indices: bridged
    w[3, :] = 0
    w[3, [3, 9, 10, 11, 12]] = [1, 2, 3, 4, 5]  # two quads: one pair
    stream = us_packed.encode(w)
    np.testing.assert_array_equal(us_packed.decode(stream, 7, 200), w)
    q = unstructured.quads(w, us_packed.STRIDE, us_packed.GAP)
    assert q[1] == 0 and q[2] > unstructured.quads(w, us_packed.STRIDE)[2]  # the bridges need entries
    assert set(q % 2) == {0, 1}  # pairs and lone last quads
    assert us_packed.nbytes(w) == stream.size == 4 * 7 + 12 * (q // 2).sum() + 8 * (q % 2).sum()
    assert us_packed.nbytes(w) < unstructured.nbytes(w, us_packed.STRIDE)


def test_layout_of_a_pair():
    w = np.zeros((1, 40), np.int8)
    w[0, [1, 2, 4, 8, 9, 24, 25, 39]] = [1, 2, 3, 4, 5, 6, 7, 8]  # gaps 1, 1, 2, 4 | 1, 15, 1, 14
    b = us_packed.encode(w).view(np.uint8)
    assert list(b[:4]) == [2, 0, 0, 0]  # two quads
    assert list(b[4:8]) == [1 | 1 << 4, 1 | 15 << 4, 2 | 1 << 4, 4 | 14 << 4]  # gap word: A low, B high nibbles
    assert list(b[8:12]) == [1, 2, 3, 4] and list(b[12:16]) == [5, 6, 7, 8]


CASES = [  # (hw, cin, couts, k, stride, dilation, same, fc_units, batch), sparsity
    ((6, 8, [16, 12], 3, 1, 1, True, 10, 1), 0.6),  # 3x3 chain (the FC keeps byte steps)
    ((7, 3, [8, 8], 3, 2, 1, True, None, 1), 0.7),  # K = 27 (scalar columns), a clamped and an unclamped layer
    ((5, 16, [6], 1, 1, 1, True, None, 1), 0.5),  # 1x1, 25 pixels: a partial last block
]


@pytest.mark.parametrize("dsp", [True, False])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_bit_exact_on_host(case, dsp, tmp_path):
    shape, frac = CASES[case]
    rng = np.random.default_rng([case, 41])
    graph = sparse_graphs.unstructured(conv_graph(rng, *shape), frac)
    xs = np.stack([random_inputs(graph, rng)[0].reshape(graph.t(graph.inputs[0]).shape[1:]) for _ in range(3)])
    want = np.stack([executor.run(graph, [x[None]])[0] for x in xs])
    compiled, got = _compile_run(graph, FORMAT, xs, tmp_path, dsp=dsp)
    calls = [c for c in compiled.calls if c.weight_format]
    convs = [c.weight_format for c in calls if c.function.startswith("mcc_convolve")]
    assert convs == [FORMAT] * len(shape[2]), [(c.function, c.weight_format) for c in calls]
    assert {c.function for c in calls if c.weight_format == FORMAT} == {us_packed.FUNCTION}
    np.testing.assert_array_equal(got.reshape(len(xs), -1), want.reshape(len(xs), -1))


@needs_arm_toolchain_and_qemu
def test_bit_exact_on_qemu_m4(tmp_path):
    rng = np.random.default_rng(43)
    graph = sparse_graphs.unstructured(conv_graph(rng, 6, 8, [16, 12], 3, 1, 1, True), 0.65)
    compiled = forced_on_qemu(graph, FORMAT, rng, tmp_path)
    assert [c.weight_format for c in compiled.calls if c.weight_format] == [FORMAT] * 2


def _sparse_chain():
    """A 32 -> 64 layer at 75% zeros, which the unstructured kernel runs faster than dense."""
    return sparse_graphs.unstructured(conv_graph(np.random.default_rng(47), 12, 4, [32, 64]), 0.75)


def test_compile_packs_a_stream_the_saving_pays_for_without_growing_the_arena(monkeypatch):
    graph = _sparse_chain()
    packed = compile_graph(graph, default_prefix(graph))
    layer = [c for c in packed.calls if c.weight_format][-1]
    assert layer.weight_format == FORMAT and layer.sparse.instructions <= layer.sparse.dense_instructions
    monkeypatch.setattr(us_packed, "CHANNEL_EXTRA", 1e9)  # a kernel dearer than the sparse layers' saving
    plain = compile_graph(graph, default_prefix(graph))
    assert [c.weight_format for c in plain.calls if c.weight_format][-1] == unstructured.FORMAT
    w = graph.t(graph.ops[-1].inputs[1]).data
    assert plain.weights_bytes - packed.weights_bytes == unstructured.nbytes(w, 8) - us_packed.nbytes(w)
    assert packed.plan.arena_bytes == plain.plan.arena_bytes
    with sparse.target(dsp=False):  # no DSP extension: no unstructured kernel, nothing to pack
        assert sparse.choose(graph, graph.ops[-1], sparse.Target(dsp=False, force=FORMAT)).format == "dense"


def _slow_layer_chain():
    """4 -> 32 dense, 32 -> 64 at 50% zeros (no sparse kernel is faster there; its bitmask and its 4-bit stream are
    both a fifth smaller than dense), 64 -> 64 at 80% (the step-stream kernel is much faster: the budget)."""
    graph = conv_graph(np.random.default_rng(53), 12, 8, [32, 64, 64])
    names = [graph.t(op.inputs[1]).name for op in graph.ops]
    for name, frac in zip(names[1:], (0.5, 0.8)):
        graph = sparse_graphs.unstructured(graph, frac, select=lambda t, name=name: t.name == name)
    return graph


def test_a_slower_layer_takes_the_stream_where_its_bitmask_would_grow_the_arena():
    graph = _slow_layer_chain()
    slow, fast = graph.ops[1].outputs[0], graph.ops[2].outputs[0]
    # its unpacked filter, whole or in parts (codegen/packed.py PARTS): 500 B more
    arena = lambda chosen: 1000 + 500 * chosen.get(slow, "").startswith(packed.FORMAT)
    with sparse.target():
        tgt = sparse.current_target()
        why: dict[str, str] = {}
        assert packed.plan(graph, (), tgt, arena, why_not=why) == {slow: FORMAT, fast: FORMAT} and why == {}
        assert packed.plan(graph, (), tgt, arena, ram=500) == {slow: packed.FORMAT, fast: FORMAT}
        tgt.packed = {slow: FORMAT, fast: FORMAT}
        choice = sparse.choose(graph, graph.ops[1], tgt)
        assert choice.format == FORMAT and choice.instructions > choice.dense_instructions
        assert choice.weight_bytes == us_packed.nbytes(graph.t(graph.ops[1].inputs[1]).data) < choice.dense_bytes
        assert "slower than dense" in choice.reason
        with sparse.target(dsp=False):
            assert packed.plan(graph, (), sparse.current_target(), arena) == {}


def test_compiled_plan_runs_bit_exact_on_host(tmp_path, monkeypatch):
    graph = _slow_layer_chain()
    slow, fast = graph.ops[1].outputs[0], graph.ops[2].outputs[0]
    monkeypatch.setattr(packed, "plan", lambda *a, **k: {slow: FORMAT, fast: FORMAT})
    rng = np.random.default_rng(59)
    xs = np.stack([random_inputs(graph, rng)[0].reshape(graph.t(graph.inputs[0]).shape[1:]) for _ in range(2)])
    compiled = compile_graph(graph, default_prefix(graph))
    assert [c.weight_format for c in compiled.calls if c.weight_format] == ["dense", FORMAT, FORMAT]
    assert compiled.summary()["per_layer"][1]["function"] == us_packed.FUNCTION
    saved = list(host.HOST_CFLAGS)
    host.HOST_CFLAGS[:] = saved + ["-DMCC_EMULATE_DSP"]
    try:
        project = write_project(compiled, tmp_path / "p")
        got = host.run_runner(host.build_runner(project, compiled.prefix), xs, graph.t(graph.outputs[0]).shape)
    finally:
        host.HOST_CFLAGS[:] = saved
    want = np.stack([executor.run(graph, [x[None]])[0] for x in xs])
    np.testing.assert_array_equal(got.reshape(len(xs), -1), want.reshape(len(xs), -1))


def test_int16_activation_layers_stay_dense():
    """The 16x8 kernels are dense (lower_int16.py): a pruned layer with int16 activations neither runs sparse nor
    enters the plan's budget."""
    from mcucompress import driver
    from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT

    graph = driver.prepare(DIGITS_FLOAT, calibration=DIGITS_CALIBRATION, activations="int16")
    convs = [op for op in graph.ops if op.kind == "CONV_2D" and graph.t(op.outputs[0]).dtype == "int16"]
    assert convs
    for op in convs:
        w = graph.t(op.inputs[1])
        w.data = np.where(np.arange(w.data.size).reshape(w.shape) % 4 == 0, w.data, 0).astype(np.int8)  # 75% zeros
        choice = sparse.choose(graph, op, sparse.Target(force=FORMAT))
        assert choice.format == "dense" and choice.reason.startswith("int16 activations")
    with sparse.target():
        assert not set(packed.plan(graph, (), sparse.current_target(), lambda chosen: 0)) & {o.outputs[0] for o in convs}
