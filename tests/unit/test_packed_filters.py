"""Packed (bitmask) filters (codegen/packed.py, firmware/kernels/sparse/mcc_packed_s8.c): the format round-trips
for plain and dual-row layouts, the generated C unpacks them bit-exactly on the host and on the emulated
Cortex-M4 (USUB8), whole or in parts of the output channels (mcc_packed_conv_s8.c), and compile packs only what
the sparse layers' saved instructions pay for, without growing the arena unless allowed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mcucompress.codegen import dual_rows, packed, sparse
from mcucompress.codegen.project import compile_graph
from mcucompress.driver import default_prefix
from mcucompress.reference import executor
from tests import sparse_graphs
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.random_graphs import random_inputs
from tests.unit.test_sparse_kernels import _compile_run, conv_graph, forced_on_qemu

PACKED = packed.FORMAT


def _sparse_rows(rng, cout, k, frac):
    w = rng.integers(-128, 128, (cout, k)).astype(np.int8)
    w[rng.random((cout, k)) < frac] = 0
    return w


@pytest.mark.parametrize("cout,k", [(5, 16), (6, 18), (7, 144), (2, 40), (3, 7)])
def test_round_trip_plain_and_dual_rows(cout, k):
    rng = np.random.default_rng([cout, k])
    rows = _sparse_rows(rng, cout, k, 0.5)
    rows[1] = 0
    rows[0, :4] = [-128, 0, -1, 0]  # a negative wA under a zero wB: the half-word's high byte is 0xFF
    layouts = [(rows.reshape(-1), None)]
    dual = dual_rows.dual_rows(rows)
    if dual is not None:
        layouts.append((dual, packed.dual_geometry(rows)))
    for final, geometry in layouts:
        masks, values = packed.encode(final, geometry)
        # zero weights stay zero bytes in the dual-row layout too: one value per non-zero weight
        assert values.size == np.count_nonzero(rows) + packed.PAD
        assert masks.size == packed.words(final.size) and np.all((masks >= 0) & (masks < 2 ** 32))
        np.testing.assert_array_equal(packed.decode(masks, values, geometry, final.size), final)
        assert packed.nbytes(np.count_nonzero(rows), final.size) == 4 * masks.size + ((values.size + 3) & ~3)


CASES = [  # (hw, cin, couts, k, stride, dilation, same, fc_units, batch), sparsity
    ((6, 3, [5], 3, 1, 1, True, None, 1), 0.3),  # K = 27: plain layout, odd C_out
    ((7, 16, [16, 9], 3, 2, 1, True, 7, 1), 0.5),  # dual-row layers (one with an odd last row), FC
    ((4, 40, [8], 1, 1, 1, False, 13, 1), 0.4),  # 1x1 K = 40, FC depth 128 (no dual rows for a packed FC)
    ((5, 6, [10], 3, 1, 2, True, 6, 2), 0.6),  # K = 54 (K % 4 = 2: dual-row tails), FC over 25 batch rows
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_packed_bit_exact_on_host(case, tmp_path):
    shape, frac = CASES[case]
    rng = np.random.default_rng([case, 17])
    graph = sparse_graphs.unstructured(conv_graph(rng, *shape), frac)
    xs = np.stack([random_inputs(graph, rng)[0].reshape(graph.t(graph.inputs[0]).shape[1:]) for _ in range(3)])
    want = np.stack([executor.run(graph, [x[None]])[0] for x in xs])
    for dsp in (False, True):
        compiled, got = _compile_run(graph, PACKED, xs, tmp_path, dsp)
        formats = [c.weight_format for c in compiled.calls if c.weight_format]
        assert formats.count(PACKED) >= len(formats) - 1, formats  # every layer where the bitmask is smaller
        assert "mcc_unpack_filter_s8" in {h for c in compiled.calls for h in c.helpers}
        np.testing.assert_array_equal(got.reshape(len(xs), -1), want.reshape(len(xs), -1), err_msg=f"dsp={dsp}")


@needs_arm_toolchain_and_qemu
def test_packed_bit_exact_on_qemu_m4(tmp_path):
    """The dual-row half-words rebuilt with USUB8 on the emulated M4, a plain K = 27 layer and an FC."""
    rng = np.random.default_rng(23)
    graph = sparse_graphs.unstructured(conv_graph(rng, 6, 3, [16, 12], 3, 1, 1, True, 10), 0.45)
    compiled = forced_on_qemu(graph, PACKED, rng, tmp_path)
    assert [c.weight_format for c in compiled.calls if c.weight_format] == [PACKED] * 3
    assert any(("dual_rows", "1") in s.fields for c in compiled.calls for s in c.statics)


PARTS_CASES = [  # (hw, cin, couts, k, stride, dilation, same, fc_units, batch), sparsity: C_out in whole pairs per part
    ((7, 16, [16, 8], 3, 2, 1, True, None, 1), 0.5),  # dual-row layers (K = 144, 72), stride 2
    ((6, 3, [8, 12], 3, 1, 1, True, None, 1), 0.4),  # K = 27 (padded dual rows on DSP), 12 channels: no 4 parts
    ((5, 6, [12], 3, 1, 2, True, None, 1), 0.6),  # K = 54 (dual-row tails), dilation 2
]


@pytest.mark.parametrize("case", range(len(PARTS_CASES)))
def test_packed_in_parts_bit_exact_on_host(case, tmp_path):
    """Each part's output channels land at their place in every output pixel, from their quantization and bias;
    the layer's scratch holds one part, not the whole filter."""
    from mcucompress.codegen.lower import scratch_size

    shape, frac = PARTS_CASES[case]
    rng = np.random.default_rng([case, 19])
    graph = sparse_graphs.unstructured(conv_graph(rng, *shape), frac)
    xs = np.stack([random_inputs(graph, rng)[0].reshape(graph.t(graph.inputs[0]).shape[1:]) for _ in range(3)])
    want = np.stack([executor.run(graph, [x[None]])[0] for x in xs]).reshape(len(xs), -1)
    counts = []
    for parts in packed.PARTS:
        with sparse.target():  # compiled for a DSP target either way; dsp below: the host build emulates DSP or not
            allowed = [op for op in graph.ops if parts in packed.parts_allowed(graph, op, sparse.current_target())]
        if not allowed:
            continue
        counts.append(parts)
        for dsp in (False, True):
            compiled, got = _compile_run(graph, f"{PACKED}/{parts}", xs, tmp_path, dsp)
            split = [c for c in compiled.calls if c.function == packed.PARTS_FUNCTION]
            assert len(split) == len(allowed) and all(len(c.parts) == parts for c in split)
            np.testing.assert_array_equal(got.reshape(len(xs), -1), want, err_msg=f"parts={parts} dsp={dsp}")
        sizes = {}
        for fmt in (PACKED, f"{PACKED}/{parts}"):
            with sparse.target(force=fmt):
                sizes[fmt] = [scratch_size(graph, op) for op in allowed]
        assert all(a < b for a, b in zip(sizes[f"{PACKED}/{parts}"], sizes[PACKED]))
    assert counts == ([2] if case == 2 else [2, 4])  # 12 channels in dual rows: no 4 parts of whole pairs


@needs_arm_toolchain_and_qemu
def test_packed_in_parts_bit_exact_on_qemu_m4(tmp_path):
    rng = np.random.default_rng(37)
    graph = sparse_graphs.unstructured(conv_graph(rng, 6, 8, [16, 8], 3, 1, 1, True, 10), 0.5)
    compiled = forced_on_qemu(graph, f"{PACKED}/2", rng, tmp_path)
    assert [c.function for c in compiled.calls if c.weight_format][:2] == [packed.PARTS_FUNCTION] * 2


def _mixed_graph(first: float = 0.4):
    """A 32 -> 48 layer at 75% zeros (the step-stream kernel is faster) after layers at 40% (no sparse kernel
    pays there; the bitmask is smaller); `first`: the first layer's zeros."""
    rng = np.random.default_rng(29)
    graph = conv_graph(rng, 12, 4, [8, 32, 48])
    names = [graph.t(op.inputs[1]).name for op in graph.ops]
    for name, frac in zip(names, (first, 0.4, 0.75)):
        graph = sparse_graphs.unstructured(graph, frac, select=lambda t, name=name: t.name == name)
    return graph


def test_plan_spends_only_the_sparse_layers_saving_and_keeps_the_arena(monkeypatch):
    graph = _mixed_graph()
    compiled = compile_graph(graph, default_prefix(graph))
    choices = [c.sparse for c in compiled.calls if c.sparse is not None]
    assert [c.format for c in choices] == [PACKED, PACKED, "unstructured-packed"]
    assert sum(c.instructions for c in choices) <= sum(c.dense_instructions for c in choices)
    row = next(r for r in compiled.summary()["per_layer"] if r.get("format") == PACKED)
    assert row["filter_bytes"] < row["dense_filter_bytes"] and row["function"].startswith("mcc_convolve")
    monkeypatch.setattr(packed, "plan", lambda *a, **k: {})
    unpacked = compile_graph(graph, default_prefix(graph))
    assert compiled.weights_bytes < unpacked.weights_bytes
    assert compiled.plan.arena_bytes == unpacked.plan.arena_bytes  # the unpacked filters fit beside the tensors


def test_plan_grows_the_arena_only_when_allowed():
    graph = _mixed_graph()
    first, last = graph.ops[0].outputs[0], graph.ops[2].outputs[0]
    # a made-up arena: the first layer's packing would grow it by 500 bytes, the last layer's 4-bit steps by 2000
    arena = lambda names: 1000 + 500 * (first in names) + 2000 * (last in names)
    with sparse.target():
        tgt = sparse.current_target()
        why: dict[str, str] = {}
        assert packed.plan(graph, (), tgt, arena, why_not=why) == {graph.ops[1].outputs[0]: PACKED}
        assert why == {first: "packing would grow the arena by 500 B (allow it: compile --packed-ram 500)",
                       last: "packing would grow the arena by 2,000 B (allow it: compile --packed-ram 2000)"}
        assert packed.plan(graph, (), tgt, arena, ram=500) == {graph.ops[0].outputs[0]: PACKED,
                                                               graph.ops[1].outputs[0]: PACKED}
        tgt.unpacked_why = why  # compile reports it in the layer's reason
        assert sparse.choose(graph, graph.ops[0], tgt).reason.endswith(why[first])


def test_a_filter_whose_whole_buffer_would_grow_the_arena_is_unpacked_in_parts():
    from tests.unit.test_us_packed import _slow_layer_chain

    graph = _slow_layer_chain()  # 32 -> 64 at 50% zeros (no sparse kernel pays), 64 -> 64 at 80% (the budget)
    slow, fast = graph.ops[1].outputs[0], graph.ops[2].outputs[0]
    arena = lambda chosen: 1000 + 500 * (chosen.get(slow) == PACKED)  # half the buffer fits, the whole does not
    with sparse.target():
        tgt = sparse.current_target()
        assert packed.plan(graph, (), tgt, arena) == {slow: f"{PACKED}/2", fast: "unstructured-packed"}
        assert packed.plan(graph, (), tgt, arena, ram=500) == {slow: PACKED, fast: "unstructured-packed"}
        whole, halves = (sparse.choose(graph, graph.ops[1], replace(tgt, packed={slow: f})) for f in (PACKED, f"{PACKED}/2"))
        assert halves.format == whole.format == PACKED and "2 parts" in halves.reason
        # the cost model counts the second im2col pass (PART_PASS) and a second unpacking call; the bytes barely
        # change (the values' padding per part)
        extra = packed.part_cost(graph, graph.ops[1], 2) + packed.UNPACK["call"]
        assert abs(halves.instructions - whole.instructions - extra) <= 1
        assert 0 <= halves.weight_bytes - whole.weight_bytes <= 8
    with sparse.target(mve=True):  # Helium's path writes whole pixels: no parts
        assert packed.parts_allowed(graph, graph.ops[1], sparse.current_target()) == []


def test_a_layer_with_few_zeros_is_not_worth_packing():
    graph = _mixed_graph(first=0.25)  # 25% zeros: the bitmask would save an eighth of the filter
    with sparse.target():
        tgt = sparse.current_target()
        # (the 75% layer's step stream stays packed too: this arena never grows)
        assert packed.plan(graph, (), tgt, lambda names: 0) == {graph.ops[1].outputs[0]: PACKED,
                                                                graph.ops[2].outputs[0]: "unstructured-packed"}
        assert sparse.choose(graph, graph.ops[0], sparse.Target(force=PACKED)).format == PACKED  # forced: any saving


def test_nothing_packed_without_a_saving_to_pay_for_it():
    graph = sparse_graphs.unstructured(conv_graph(np.random.default_rng(31), 8, 16, [32, 32]), 0.4)
    compiled = compile_graph(graph, default_prefix(graph), packed_ram=1 << 20)
    assert [c.weight_format for c in compiled.calls if c.weight_format] == ["dense", "dense"]
    with sparse.target(dsp=False):  # no DSP extension: no sparse kernel, no budget
        assert packed.plan(_mixed_graph(), (), sparse.current_target(), lambda names: 0) == {}
