"""Packed step streams (codegen/us_packed.py, firmware/kernels/sparse/mcc_us_packed_s8.c): the 4-bit format
carries the step stream exactly (long gaps bridged), the generated C expands it and runs bit-exact with the
reference executor on the host and on the emulated Cortex-M4, and compile keeps a stream packed only when the
arena may grow to hold its expansion and the sparse layers' saved instructions pay for it."""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.codegen import sparse, unstructured, us_packed
from mcucompress.codegen.project import compile_graph
from mcucompress.driver import default_prefix
from mcucompress.reference import executor
from tests import sparse_graphs
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.random_graphs import random_inputs
from tests.unit.test_sparse_kernels import _compile_run, conv_graph, forced_on_qemu

FORMAT = us_packed.FORMAT


def _expand(counts, words, gaps, stride):
    """Python mirror of mcc_unpack_us_stream."""
    out, at = [], 0
    for q in counts:
        out.append(np.array([q], "<u4").view(np.uint8))
        for j in range(at, at + q):
            w = np.array([words[j]], "<u4").view(np.uint8)
            steps = np.array([(gaps[j] >> shift) & 15 for shift in (0, 8, 4, 12)], np.int64) * stride
            out += [w, steps.astype(np.uint8)]
        at += q
    return np.concatenate(out).view(np.int8)


@pytest.mark.parametrize("stride", [8, 2])
def test_format_carries_the_stream_with_long_gaps_bridged(stride):
    rng = np.random.default_rng(stride)
    w = rng.integers(-128, 128, (6, 200)).astype(np.int8)
    w[rng.random(w.shape) < 0.6] = 0
    w[1] = 0  # an empty row
    w[2, :] = 0
    w[2, [0, 16, 17, 120, 199]] = [5, -128, 127, 1, -1]  # gaps of 16 and 103 indices: bridged
    counts, words, gaps = us_packed.encode(w, stride)
    stream = us_packed.expanded(w, stride)
    np.testing.assert_array_equal(_expand(counts, words, gaps, stride), stream)
    np.testing.assert_array_equal(unstructured.decode(stream, stride, 6, 200), w)
    assert counts[1] == 0 and counts[2] > unstructured.quads(w, stride)[2]  # the bridges need entries
    assert us_packed.nbytes(w, stride) == 2 * 6 + 6 * counts.sum()
    assert us_packed.buffer_bytes(w, stride) == stream.size
    assert us_packed.nbytes(w, stride) < unstructured.nbytes(w, stride)


CASES = [  # (hw, cin, couts, k, stride, dilation, same, fc_units, batch), sparsity
    ((6, 8, [16, 12], 3, 1, 1, True, 10, 1), 0.6),  # 3x3 chain, FC of one row (column stride 2)
    ((7, 3, [8], 3, 2, 1, True, 6, 2), 0.7),  # K = 27 (scalar columns), FC over batch rows (stride 8)
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_bit_exact_on_host(case, tmp_path):
    shape, frac = CASES[case]
    rng = np.random.default_rng([case, 41])
    graph = sparse_graphs.unstructured(conv_graph(rng, *shape), frac)
    xs = np.stack([random_inputs(graph, rng)[0].reshape(graph.t(graph.inputs[0]).shape[1:]) for _ in range(3)])
    want = np.stack([executor.run(graph, [x[None]])[0] for x in xs])
    compiled, got = _compile_run(graph, FORMAT, xs, tmp_path, dsp=True)
    formats = [c.weight_format for c in compiled.calls if c.weight_format]
    assert formats == [FORMAT] * len(formats), formats
    assert "mcc_unpack_us_stream" in {h for c in compiled.calls for h in c.helpers}
    np.testing.assert_array_equal(got.reshape(len(xs), -1), want.reshape(len(xs), -1))


@needs_arm_toolchain_and_qemu
def test_bit_exact_on_qemu_m4(tmp_path):
    rng = np.random.default_rng(43)
    graph = sparse_graphs.unstructured(conv_graph(rng, 6, 8, [16, 12], 3, 1, 1, True, 10), 0.65)
    compiled = forced_on_qemu(graph, FORMAT, rng, tmp_path)
    assert [c.weight_format for c in compiled.calls if c.weight_format] == [FORMAT] * 3


def _sparse_chain():
    """A 32 -> 64 layer at 75% zeros, which the unstructured kernel runs faster than dense."""
    return sparse_graphs.unstructured(conv_graph(np.random.default_rng(47), 12, 4, [32, 64]), 0.75)


def test_compile_keeps_a_stream_packed_only_where_the_arena_may_grow():
    graph = _sparse_chain()
    plain = compile_graph(graph, default_prefix(graph))
    assert [c.weight_format for c in plain.calls if c.weight_format][-1] == unstructured.FORMAT
    reason = [r for r in plain.summary()["per_layer"] if r.get("format") == unstructured.FORMAT][-1]["format_reason"]
    assert "packing would grow the arena" in reason
    grown = compile_graph(graph, default_prefix(graph), packed_ram=1 << 20)
    layer = [c for c in grown.calls if c.weight_format][-1]
    assert layer.weight_format == FORMAT and layer.sparse.instructions <= layer.sparse.dense_instructions
    assert grown.weights_bytes < plain.weights_bytes and grown.plan.arena_bytes > plain.plan.arena_bytes
    saved = plain.weights_bytes - grown.weights_bytes
    w = graph.t(graph.ops[-1].inputs[1]).data
    assert saved == unstructured.nbytes(w, 8) - us_packed.nbytes(w, 8)


def test_no_stream_packed_without_instructions_to_pay_for_it(monkeypatch):
    graph = _sparse_chain()
    monkeypatch.setitem(us_packed.EXPAND, "call", 1e9)  # an expansion dearer than the sparse layers' saving
    compiled = compile_graph(graph, default_prefix(graph), packed_ram=1 << 20)
    assert FORMAT not in [c.weight_format for c in compiled.calls]
    with sparse.target(dsp=False):  # no DSP extension: no unstructured kernel, nothing to pack
        assert sparse.choose(graph, graph.ops[-1], sparse.Target(dsp=False, force=FORMAT)).format == "dense"
