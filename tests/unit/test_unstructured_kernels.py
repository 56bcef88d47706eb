"""Unstructured sparse execution (codegen/unstructured.py, firmware/kernels/sparse/mcc_unstructured_s8.c).

The step-stream kernels must compute exactly the dense int32 sums: every check compares the generated C
(host gcc: portable path and emulated DSP path; QEMU Cortex-M4: real UXTAB/LDRD/SMLAxy) with the reference
executor on random graphs whose weights were zeroed by magnitude (30-95%), with the format forced, plus
the edge cases of the format (all-zero rows, one non-zero at the last index, gaps longer than a step byte).
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from mcucompress.codegen import sparse, unstructured
from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.driver import default_prefix, reference_outputs
from mcucompress.reference import executor
from tests import sparse_graphs
from tests.conftest import shared_model
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.random_graphs import random_inputs
from tests.unit.test_sparse_kernels import _compile_run, conv_graph

US = unstructured.FORMAT


def _edge_rows(graph):
    """Force the format's edge cases into every CONV_2D / FC filter: row 0 all zero, row 1 a single non-zero at
    the last index (a long bridged gap), row 2 non-zeros at the first and last index only."""
    g = copy.deepcopy(graph)
    for op in g.ops:
        if op.kind in ("CONV_2D", "FULLY_CONNECTED"):
            t = g.t(op.inputs[1])
            rows = t.data.reshape(t.shape[0], -1).copy()
            rows[0] = 0
            if rows.shape[0] > 1:
                rows[1] = 0
                rows[1, -1] = -127
            if rows.shape[0] > 2:
                rows[2, 1:-1] = 0
                rows[2, 0], rows[2, -1] = 99, -5
            t.data = rows.reshape(t.shape)
    return g


def test_stream_round_trip_bytes_and_edge_rows():
    rng = np.random.default_rng(0)
    for stride in (unstructured.STRIDE_BLOCK, unstructured.STRIDE_ROW):
        for k in (1, 3, 27, 31, 32, 33, 200, 640):
            w = rng.integers(-127, 128, (6, k)).astype(np.int8)
            w[rng.random((6, k)) < 0.8] = 0
            w[0] = 0  # all zero
            w[1] = 0
            w[1, -1] = 7  # one non-zero at the last index: bridged by weight-0 entries
            w[2, 0] = -128  # the int8 extreme
            stream = unstructured.encode(w, stride)
            assert stream.size == unstructured.nbytes(w, stride) and stream.size % 4 == 0
            np.testing.assert_array_equal(unstructured.decode(stream, stride, 6, k), w)
            b = stream.view(np.uint8)
            assert b[:4].tolist() == [0, 0, 0, 0]  # row 0: Q = 0
            q1 = int(b[4])
            expect = -(-(max(1, -(-(k - 1) // (255 // stride)))) // 4)
            assert q1 == expect, (stride, k)
    # 2 bytes per entry + 4 per row: smaller than dense from about 51% on a long row
    w = np.ones((8, 576), np.int8)
    w[:, ::2] = 0
    assert unstructured.nbytes(w, 8) > w.size
    w[:, 1::4] = 0
    assert unstructured.nbytes(w, 8) < w.size


CASES = [  # (hw, cin, couts, k, stride, dilation, same, fc_units, batch), sparsity
    ((6, 3, [5], 3, 1, 1, True, None, 1), 0.3),  # C_in = 3 (scalar columns), odd C_out
    ((7, 16, [16, 8], 3, 2, 1, True, 7, 1), 0.5),  # stride 2, padding, FC (one row) with odd units
    ((5, 6, [9], 3, 1, 2, True, 6, 2), 0.7),  # C_in % 4 != 0, dilation, FC over 25 batch rows (blocks)
    ((4, 20, [12], 1, 1, 1, False, 13, 1), 0.9),  # 1x1, FC depth 192
    ((5, 32, [17], 2, 1, 1, False, None, 1), 0.95),  # 2x2 valid, pixels % 4 != 0
    ((4, 40, [8], 1, 1, 1, False, 11, 1), 0.8),  # FC depth 640 (4x4x40): steps bridged past 127 indices
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_unstructured_bit_exact_on_host(case, tmp_path):
    shape, frac = CASES[case]
    rng = np.random.default_rng([case, 7])
    graph = sparse_graphs.unstructured(conv_graph(rng, *shape), frac)
    if case % 2:
        graph = _edge_rows(graph)
    xs = np.stack([random_inputs(graph, rng)[0].reshape(graph.t(graph.inputs[0]).shape[1:]) for _ in range(3)])
    want = np.stack([executor.run(graph, [x[None]])[0] for x in xs])
    for dsp in (False, True):
        compiled, got = _compile_run(graph, US, xs, tmp_path, dsp)
        used = {c.function for c in compiled.calls if c.weight_format == US}
        assert used, "the forced format was not used"
        np.testing.assert_array_equal(got.reshape(len(xs), -1), want.reshape(len(xs), -1), err_msg=f"dsp={dsp}")


def test_scratch_mirror_and_filter_struct():
    rng = np.random.default_rng(3)
    graph = sparse_graphs.unstructured(conv_graph(rng, 6, 12, [20], 3, 1, 1, True, 9, 1), 0.8)
    compiled = compile_graph(graph, "m", sparse_kernels=US)
    conv, fc = (c for c in compiled.calls if c.weight_format == US)
    assert conv.function == "mcc_convolve_us_s8" and fc.function == "mcc_fully_connected_us_s8"
    assert ("stride", "8") in conv.statics[-1].fields and ("stride", "2") in fc.statics[-1].fields
    from mcucompress.codegen.lower import scratch_size

    with sparse.target(force=US):
        assert scratch_size(graph, graph.ops[conv.index]) == 16 * 20 + 8 * 9 * 12 + 12
        depth = 6 * 6 * 20
        assert scratch_size(graph, graph.ops[fc.index]) == 16 * 9 + ((2 * depth + 3) & ~3)


def test_choice_per_layer():
    rng = np.random.default_rng(5)
    big = conv_graph(rng, 8, 32, [64])
    # 70%: predicted well below dense and smaller -> unstructured, with its bytes and estimate reported
    c = sparse.choose(sparse_graphs.unstructured(big, 0.7), big.ops[0])
    assert c.format == US and c.weight_bytes < 0.7 * c.dense_bytes and c.instructions < c.dense_instructions
    # 30% and 50%: the stream would be bigger than dense -> dense
    for frac in (0.3, 0.5):
        g = sparse_graphs.unstructured(big, frac)
        assert sparse.choose(g, g.ops[0]).format == "dense"
    # no DSP extension: dense
    g = sparse_graphs.unstructured(big, 0.9)
    assert sparse.choose(g, g.ops[0], sparse.Target(dsp=False)).format == "dense"
    # a tiny FC (10 x 32): at 90% measured 0.94x of dense, inside the FC fit's margin (0.98): unstructured;
    # at 60% the cost model predicts no saving beyond that margin: dense
    base = conv_graph(rng, 2, 8, [8], k=1, same=False, fc_units=10)
    for frac, fmt in ((0.9, US), (0.6, "dense")):
        tiny = sparse_graphs.unstructured(base, frac)
        fc = next(op for op in tiny.ops if op.kind == "FULLY_CONNECTED")
        assert tiny.t(fc.inputs[1]).shape == (10, 32) and sparse.choose(tiny, fc).format == fmt, frac
    # compile: the saving pays for the stream's 4-bit steps (codegen/us_packed.py)
    row = compile_graph(g, "m").summary()["per_layer"][0]
    assert row["format"] == "unstructured-packed" and row["filter_bytes"] < row["dense_filter_bytes"]
    assert row["function"] == "mcc_convolve_us_packed_s8"


@needs_arm_toolchain_and_qemu
def test_unstructured_bit_exact_on_qemu_m4(tmp_path):
    """Real DSP instructions (UXTAB, LDRD post-increment, SMLABB/SMLABT/SMLATB/SMLATT) on the emulated M4:
    conv blocks (padding, a partial last block), an FC row, and the edge rows."""
    from mcucompress.harness.target import run_on_board

    rng = np.random.default_rng(11)
    graph = _edge_rows(sparse_graphs.unstructured(conv_graph(rng, 5, 8, [16, 12], 3, 1, 1, True, 10), 0.75))
    xs = np.stack([random_inputs(graph, rng)[0].reshape(graph.t(graph.inputs[0]).shape[1:]) for _ in range(2)])
    compiled = compile_graph(graph, default_prefix(graph), sparse_kernels=US)
    assert [c.weight_format for c in compiled.calls if c.weight_format] == [US, US, US]
    run = run_on_board(compiled, xs, graph.t(graph.outputs[0]).shape, "mps2-an386", workdir=tmp_path)
    np.testing.assert_array_equal(run.outputs.reshape(len(xs), -1), reference_outputs(graph, xs).reshape(len(xs), -1))


@pytest.mark.slow
def test_resnet8_unstructured_on_qemu():
    """MLPerf ResNet-8 int8 on mps2-an386, its 32->64 and 64->64 3x3 convs zeroed to 70% by magnitude, the
    rest dense, formats chosen by the cost model: those two layers run unstructured, the model needs at most
    0.75x the dense weight bytes and no more instructions than dense, bit-exact."""
    from mcucompress.driver import load, run_graph_on_board

    g0 = load(shared_model("ic_pretrainedResnet_quant"))
    heavy = lambda t: t.shape[0] == 64 and t.shape[1:3] == (3, 3)
    g = sparse_graphs.unstructured(g0, 0.7, select=heavy)
    x = np.random.default_rng(1).integers(-128, 128, (1, 32, 32, 3), dtype=np.int8)
    dense, _ = run_graph_on_board(g0, x, "mps2-an386")
    rep, _ = run_graph_on_board(g, x, "mps2-an386")
    assert dense["mismatches"] == 0 and rep["mismatches"] == 0
    chosen = [c.weight_format for c in compile_graph(g, "m").calls if c.weight_format]
    assert chosen.count(US) == 2, chosen
    assert rep["memory"]["weights_bytes"] <= 0.75 * dense["memory"]["weights_bytes"]
    assert rep["latency"]["median"] <= dense["latency"]["median"]


def test_clamped_blocks_without_their_loop_same_bits(tmp_path, monkeypatch):
    """A build whose mcc_variants.h leaves out the clamped 4-pixel loop (MCC_US_CLAMPED 0) runs a ReLU layer's
    blocks through the any-block loop (MCC_US_ANY 1): the same bits as with it (emulated DSP path on the host)."""
    from mcucompress.codegen.variants import VARIANTS_HEADER
    from mcucompress.harness import host

    graph = sparse_graphs.unstructured(conv_graph(np.random.default_rng(5), 6, 8, [7, 12], 1, 1, 1, True), 0.8)
    xs = np.stack([random_inputs(graph, np.random.default_rng(s))[0][0] for s in range(3)])
    want = reference_outputs(graph, xs).reshape(len(xs), -1)
    compiled = compile_graph(graph, default_prefix(graph), sparse_kernels=US)
    assert any(c.function == "mcc_convolve_us_s8" for c in compiled.calls)
    generated = compiled.files[VARIANTS_HEADER]
    assert "#define MCC_US_CLAMPED" in generated and " 1  /* unstructured" in generated  # the RELU layer (C_out 7)
    monkeypatch.setattr(host, "HOST_CFLAGS", [*host.HOST_CFLAGS, "-DMCC_EMULATE_DSP"])
    for on in (1, 0):
        project = write_project(compiled, tmp_path / f"p{on}")
        header = project / VARIANTS_HEADER
        text = re.sub(r"(#define MCC_US_CLAMPED\s+)1", rf"\g<1>{on}", header.read_text())
        header.write_text(re.sub(r"(#define MCC_US_ANY\s+)0", r"\g<1>1", text))  # its fallback
        got = host.run_runner(host.build_runner(project, compiled.prefix), xs, graph.t(graph.outputs[0]).shape)
        np.testing.assert_array_equal(got.reshape(len(xs), -1), want, err_msg=f"MCC_US_CLAMPED {on}")


def test_any_block_loop_left_out_is_refused_not_wrong(tmp_path, monkeypatch):
    """A layer of fewer than 4 output pixels needs the loop for any block (MCC_US_ANY, a general path): the
    generated header keeps it (same bits), a build without it returns MCC_NOT_BUILT from invoke."""
    from mcucompress.codegen.variants import VARIANTS_HEADER
    from mcucompress.errors import McuError
    from mcucompress.harness import host

    graph = sparse_graphs.unstructured(conv_graph(np.random.default_rng(6), 3, 8, [12], 3, 1, 1, False), 0.8)
    xs = np.stack([random_inputs(graph, np.random.default_rng(s))[0][0] for s in range(2)])
    want = reference_outputs(graph, xs).reshape(len(xs), -1)
    compiled = compile_graph(graph, default_prefix(graph), sparse_kernels=US)
    assert re.search(r"#define MCC_US_ANY\s+1", compiled.files[VARIANTS_HEADER])  # one output pixel
    monkeypatch.setattr(host, "HOST_CFLAGS", [*host.HOST_CFLAGS, "-DMCC_EMULATE_DSP"])
    for on in (1, 0):
        project = write_project(compiled, tmp_path / f"p{on}")
        header = project / VARIANTS_HEADER
        header.write_text(re.sub(r"(#define MCC_US_ANY\s+)1", rf"\g<1>{on}", header.read_text()))
        run = lambda: host.run_runner(host.build_runner(project, compiled.prefix), xs,  # noqa: E731
                                      graph.t(graph.outputs[0]).shape)
        if on:
            np.testing.assert_array_equal(run().reshape(len(xs), -1), want)
        else:
            with pytest.raises(McuError, match="status -4"):
                run()
