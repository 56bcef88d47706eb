"""N:M sparse execution (codegen/sparse.py, firmware/kernels/sparse/mcc_nm_s8.c): format, choice, bit-exactness.

The sparse kernels must compute exactly the dense int32 sums, so every check compares the generated C
(host gcc: portable path and emulated DSP path; QEMU Cortex-M4: real SMLAD/PKHBT) with the reference
executor on random graphs whose weights were zeroed 2:4 or 1:4, with the sparse format forced.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.codegen import sparse
from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.driver import default_prefix, reference_outputs
from mcucompress.harness import host
from mcucompress.ir import ops as irops
from mcucompress.reference import executor
from tests import sparse_graphs
from tests.conftest import shared_model
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.random_graphs import Builder, _weighted_op, add_reshape, random_inputs


def conv_graph(rng, hw, cin, couts, k=3, stride=1, dilation=1, same=True, fc_units=None, batch=1):
    """batch > 1 makes the final FULLY_CONNECTED run over every output pixel as a batch row."""
    """A chain of CONV_2D (k x k, given stride/dilation/padding) then optionally a FULLY_CONNECTED."""
    b = Builder(rng, "sparse_case")
    x = b.input((1, hw, hw, cin))
    h = hw
    for cout in couts:
        reach = (k - 1) * dilation + 1
        if same:
            oh = -(-h // stride)
            total = max((oh - 1) * stride + reach - h, 0)
            pads = (total // 2, total - total // 2)
        else:
            oh, pads = (h - reach) // stride + 1, (0, 0)
        inputs, y = _weighted_op(b, x, (cout, k, k, cin), cout, k * k * cin, 0, True, "NONE",
                                 (1, oh, oh, cout), None)
        x = b.op("CONV_2D", inputs, y, irops.Conv2DAttrs(stride, stride, dilation, dilation, pads[0], pads[1],
                                                         pads[0], pads[1], "RELU" if cout % 2 else "NONE"))
        h, cin = oh, cout
    if fc_units:  # batch > 1: the FC runs over every pixel as a row; else over the flattened image
        rows, depth = (h * h, cin) if batch > 1 else (1, h * h * cin)
        r = add_reshape(b, x, (rows, depth))
        inputs, y = _weighted_op(b, r, (fc_units, depth), fc_units, depth, None, True, "NONE", (rows, fc_units), None)
        x = b.op("FULLY_CONNECTED", inputs, y, irops.FullyConnectedAttrs("NONE"))
    return b.finish(x)


CASES = [  # (hw, cin, couts, k, stride, dilation, same, fc_units, batch)
    (6, 3, [5], 3, 1, 1, True, None, 1),  # first-layer C_in = 3 (gather path), odd C_out
    (7, 16, [16, 8], 3, 2, 1, True, 7, 1),  # stride 2, padding, FC with odd units
    (5, 6, [9], 3, 1, 2, True, 6, 2),  # C_in % 4 != 0, dilation, FC over 25 batch rows (K = 9)
    (4, 20, [12], 1, 1, 1, False, 13, 1),  # 1x1, K % 8 != 0
    (5, 32, [17], 2, 1, 1, False, None, 1),  # 2x2 valid, pixels % 4 != 0
    # 2:4 row tables (stride 1, C_in % 8 == 0): segments of 12 pixels (W = 14: 12 + 2), partial blocks, 5x5
    (14, 8, [16, 8], 3, 1, 1, True, None, 1),
    (9, 16, [12], 5, 1, 1, True, 5, 1),
    (6, 24, [10], 3, 1, 1, False, None, 1),  # valid padding, ntap = 3 (records % 4 != 0)
]


def _compile_run(graph, fmt, xs, tmp_path, dsp: bool):
    compiled = compile_graph(graph, default_prefix(graph), sparse_kernels=fmt)
    flags = host.HOST_CFLAGS + (["-DMCC_EMULATE_DSP"] if dsp else [])
    saved = list(host.HOST_CFLAGS)
    host.HOST_CFLAGS[:] = flags
    try:
        project = write_project(compiled, tmp_path / f"p_{fmt.replace(':', '_')}_{int(dsp)}")
        out = host.run_runner(host.build_runner(project, compiled.prefix), xs, graph.t(graph.outputs[0]).shape)
    finally:
        host.HOST_CFLAGS[:] = saved
    return compiled, out


def test_encode_decode_round_trip_and_bytes():
    rng = np.random.default_rng(0)
    for k in (1, 3, 4, 7, 8, 13, 27, 144):
        w = rng.integers(-127, 128, (5, k)).astype(np.int8)
        w[2] = 0  # an all-zero row
        for fmt, (n, m) in (("2:4", (2, 4)), ("1:4", (1, 4))):
            g = sparse_graphs.nm  # same magnitude rule as the graphs
            rows = np.pad(w, ((0, 0), (0, (-k) % m))).reshape(5, -1, m)
            order = np.argsort(-np.abs(rows.astype(int)), axis=2, kind="stable")
            keep = np.zeros_like(rows, bool)
            np.put_along_axis(keep, order[:, :, :n], True, axis=2)
            wz = np.where(keep, rows, 0).reshape(5, -1)[:, :k].astype(np.int8)
            assert sparse.nm_pattern(wz) in ((fmt,) if fmt == "1:4" else ("2:4", "1:4"))
            rec = sparse.encode_nm(wz, fmt)
            groups = -(-k // sparse.NM_GROUPS[fmt])
            assert rec.size == 5 * ((groups + 1) // 2) * sparse.RECORD
            np.testing.assert_array_equal(sparse.decode_nm(rec, fmt, 5, k), wz)
            assert g is not None
    dense = rng.integers(1, 128, (4, 16)).astype(np.int8)
    assert sparse.nm_pattern(dense) is None
    with pytest.raises(ValueError):
        sparse.encode_nm(dense, "2:4")


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("fmt", ["2:4", "1:4"])
def test_sparse_kernels_bit_exact_on_host(case, fmt, tmp_path):
    hw, cin, couts, k, stride, dil, same, fc, batch = CASES[case]
    rng = np.random.default_rng([case, len(fmt)])
    graph = conv_graph(rng, hw, cin, couts, k, stride, dil, same, fc, batch)
    graph = sparse_graphs.nm(graph, *((2, 4) if fmt == "2:4" else (1, 4)))
    xs = np.stack([random_inputs(graph, rng)[0].reshape(graph.t(graph.inputs[0]).shape[1:]) for _ in range(3)])
    want = np.stack([executor.run(graph, [x[None]])[0] for x in xs])  # whole output (FC rows included)
    for dsp in (False, True):
        compiled, got = _compile_run(graph, fmt, xs, tmp_path, dsp)
        for c in compiled.calls:  # forced: sparse wherever the format is not bigger than dense
            if c.sparse is not None:
                smaller = c.sparse.pattern is not None and sparse.encode_nm(
                    graph.t(graph.ops[c.index].inputs[1]).data, fmt).size <= c.sparse.dense_bytes
                assert c.weight_format == (fmt if smaller else "dense"), (c.index, c.weight_format)
        np.testing.assert_array_equal(got.reshape(len(xs), -1), want.reshape(len(xs), -1), err_msg=f"dsp={dsp}")


def test_choice_keeps_dense_where_sparse_does_not_pay():
    rng = np.random.default_rng(5)
    # a tiny FC (10 x 32) and a 1x1 conv with few output channels: the table costs more than it saves
    graph = sparse_graphs.nm(conv_graph(rng, 4, 16, [4], k=1, same=False, fc_units=10), 2, 4)
    choices = [sparse.choose(graph, op) for op in graph.ops]
    assert [c.format for c in choices if c] == ["dense", "dense"]
    assert all(c.pattern == "2:4" for c in choices if c)
    # unstructured zeros have no N:M pattern: dense, with their sparsity reported
    u = sparse_graphs.unstructured(conv_graph(rng, 8, 32, [64]), 0.5)
    c = sparse.choose(u, u.ops[0])
    assert c.format == "dense" and c.pattern is None and abs(c.sparsity - 0.5) < 0.01
    # no DSP extension: dense even where the DSP path would win
    big = sparse_graphs.nm(conv_graph(rng, 8, 32, [64]), 2, 4)
    assert sparse.choose(big, big.ops[0]).format == "2:4"
    assert sparse.choose(big, big.ops[0], sparse.Target(dsp=False)).format == "dense"
    assert sparse.choose(big, big.ops[0], sparse.Target(mve=True)).format == "dense"  # Helium dense is faster
    summary = compile_graph(big, "m").summary()["per_layer"][0]
    assert summary["format"] == "2:4" and summary["filter_bytes"] < summary["dense_filter_bytes"]


def test_row_tables_geometry_and_choice():
    """The 2:4 row tables (stride_w 1, no dilation, C_in % 8 == 0) take ResNet-8's 16-channel 3x3 layers, which the
    per-pixel tables could not make pay against the dual-row dense product; other layers keep the per-pixel cost."""
    rng = np.random.default_rng(7)
    g = sparse_graphs.nm(conv_graph(rng, 32, 16, [16]), 2, 4)
    s = sparse.layer_shape(g, g.ops[0])
    assert s.row_tables is not None and (s.row_tables.kh, s.row_tables.kw, s.row_tables.cin) == (3, 3, 16)
    entries, builds, outs, _ = sparse.row_work(s)
    assert entries == 1024 * 16 * 36 and outs == 1024 * 16
    assert builds == 34 * (14 + 14 + 10) * 4  # 34 input rows (padding included) x segments of 12, 12, 8 (+ 2)
    c = sparse.choose(g, g.ops[0])
    assert c.format == "2:4" and c.instructions < 0.8 * c.dense_instructions
    assert sparse.nm_cost(s, 4) < 0.7 * sparse.nm_cost(sparse.Shape(s.kind, s.rows, s.k, s.cout), 4)
    for shape_args in ((32, 16, [16], 3, 2), (32, 12, [16], 3, 1), (32, 16, [16], 3, 1, 2)):  # stride 2, C_in 12, dil
        g2 = sparse_graphs.nm(conv_graph(rng, *shape_args), 2, 4)
        assert sparse.layer_shape(g2, g2.ops[0]).row_tables is None, shape_args


def _variant_runs(graph, fmt, switch, tmp_path, monkeypatch):
    """Outputs of `graph` compiled with `fmt` forced (emulated DSP path on the host), with the project's `switch`
    (mcc_variants.h) set to 1 and to 0: {1: outputs, 0: outputs or the McuError}."""
    import re

    from mcucompress.codegen.variants import VARIANTS_HEADER
    from mcucompress.errors import McuError

    xs = np.stack([random_inputs(graph, np.random.default_rng(s))[0][0] for s in range(2)])
    compiled = compile_graph(graph, default_prefix(graph), sparse_kernels=fmt)
    assert re.search(rf"#define {switch}\s+1", compiled.files[VARIANTS_HEADER])
    monkeypatch.setattr(host, "HOST_CFLAGS", [*host.HOST_CFLAGS, "-DMCC_EMULATE_DSP"])
    runs = {}
    for on in (1, 0):
        project = write_project(compiled, tmp_path / f"p{on}")
        header = project / VARIANTS_HEADER
        header.write_text(re.sub(rf"(#define {switch}\s+)1", rf"\g<1>{on}", header.read_text()))
        try:
            runs[on] = host.run_runner(host.build_runner(project, compiled.prefix), xs,
                                       graph.t(graph.outputs[0]).shape).reshape(len(xs), -1)
        except McuError as e:
            runs[on] = e
    return runs, reference_outputs(graph, xs).reshape(len(xs), -1)


def test_row_tables_left_out_same_bits(tmp_path, monkeypatch):
    """MCC_NM_ROWS 0: the 2:4 stride-1 layers take the per-pixel tables, the same bits."""
    graph = sparse_graphs.nm(conv_graph(np.random.default_rng(8), 6, 8, [16, 12]), 2, 4)
    runs, want = _variant_runs(graph, "2:4", "MCC_NM_ROWS", tmp_path, monkeypatch)
    np.testing.assert_array_equal(runs[1], want)
    np.testing.assert_array_equal(runs[0], want)


def test_one_four_paths_left_out_are_refused_not_wrong(tmp_path, monkeypatch):
    """MCC_NM_G8 (a general path: the 1:4 kernels) on where a layer is 1:4; a build without it refuses the call
    (MCC_NOT_BUILT from invoke)."""
    graph = sparse_graphs.nm(conv_graph(np.random.default_rng(9), 6, 8, [16]), 1, 4)
    runs, want = _variant_runs(graph, "1:4", "MCC_NM_G8", tmp_path, monkeypatch)
    np.testing.assert_array_equal(runs[1], want)
    assert "status -4" in str(runs[0])


def forced_on_qemu(graph, fmt, rng, tmp_path, board="mps2-an386"):
    """`graph` compiled with the weight format `fmt` forced, two random inputs run on `board` in QEMU, bit-exact
    with the reference executor; returns the CompiledModel."""
    from mcucompress.harness.target import run_on_board

    xs = np.stack([random_inputs(graph, rng)[0].reshape(graph.t(graph.inputs[0]).shape[1:]) for _ in range(2)])
    compiled = compile_graph(graph, default_prefix(graph), sparse_kernels=fmt)
    run = run_on_board(compiled, xs, graph.t(graph.outputs[0]).shape, board, workdir=tmp_path)
    np.testing.assert_array_equal(run.outputs.reshape(len(xs), -1), reference_outputs(graph, xs).reshape(len(xs), -1))
    return compiled


def _qemu_case(board, fmt, tmp_path):
    rng = np.random.default_rng(11)
    graph = sparse_graphs.nm(conv_graph(rng, 6, 8, [16, 12], 3, 1, 1, True, 10), *((2, 4) if fmt == "2:4" else (1, 4)))
    compiled = forced_on_qemu(graph, fmt, rng, tmp_path, board)
    assert {c.weight_format for c in compiled.calls if c.weight_format} == {fmt}


@needs_arm_toolchain_and_qemu
def test_sparse_kernels_bit_exact_on_qemu_m4(tmp_path):
    """Real DSP instructions (SXTB16, PKHBT/PKHTB, SMLAD, LDRD) on the emulated Cortex-M4."""
    _qemu_case("mps2-an386", "2:4", tmp_path)


@pytest.mark.slow
@needs_arm_toolchain_and_qemu
@pytest.mark.parametrize("board,fmt", [("mps2-an386", "1:4"), ("mps2-an385", "2:4"), ("mps2-an385", "1:4")])
def test_sparse_kernels_bit_exact_on_qemu_slow(board, fmt, tmp_path):
    _qemu_case(board, fmt, tmp_path)


@pytest.fixture(scope="module")
def resnet8_sparse_runs() -> dict[str, tuple[int, int]]:
    """MLPerf ResNet-8 int8 on mps2-an386, dense and with 2:4, 1:4 and 50% unstructured zeros: (instructions,
    weight bytes) each, every run bit-exact."""
    from mcucompress.driver import load, run_graph_on_board

    g0 = load(shared_model("ic_pretrainedResnet_quant"))
    x = np.random.default_rng(1).integers(-128, 128, (1, 32, 32, 3), dtype=np.int8)
    res = {}
    for name, g in [("dense", g0), ("2:4", sparse_graphs.nm(g0, 2, 4)), ("1:4", sparse_graphs.nm(g0, 1, 4)),
                    ("u50", sparse_graphs.unstructured(g0, 0.5))]:
        rep, _ = run_graph_on_board(g, x, "mps2-an386")
        assert rep["mismatches"] == 0, name
        res[name] = (rep["latency"]["median"], rep["memory"]["weights_bytes"])
    return res


@pytest.mark.slow
def test_resnet8_sparse_never_slower_or_bigger_on_qemu(resnet8_sparse_runs):
    """2:4 and 50% unstructured never slower or bigger than dense (the chooser keeps a layer dense where sparse
    would not pay), 1:4 better than 2:4; all bit-exact."""
    res = resnet8_sparse_runs
    d_i, d_b = res["dense"]
    assert res["2:4"][0] <= d_i and res["2:4"][1] <= d_b
    assert res["1:4"][0] < res["2:4"][0] and res["1:4"][1] < res["2:4"][1]
    assert res["u50"][0] <= d_i * 1.001 and res["u50"][1] <= d_b


@pytest.mark.slow
def test_resnet8_2_4_bytes_goal_on_qemu(resnet8_sparse_runs):
    """Issue 11: 2:4 at most 0.70x the weight bytes of dense (measured 54,184 against 81,456: 0.665x, its layers
    that stay dense packed as bitmasks)."""
    (_, b24), (_, d_b) = resnet8_sparse_runs["2:4"], resnet8_sparse_runs["dense"]
    assert b24 <= 0.70 * d_b


@pytest.mark.slow
def test_resnet8_2_4_instructions_goal_on_qemu(resnet8_sparse_runs):
    """Issue 11: 2:4 at most 0.85x the instructions of dense (measured 11,856,120 against 14,187,280: 0.836x)."""
    (i24, _), (d_i, _) = resnet8_sparse_runs["2:4"], resnet8_sparse_runs["dense"]
    assert i24 <= 0.85 * d_i


def test_helium_choice_weighs_the_mve_dense_path():
    """On a Helium target the dense CONV_2D runs its MVE path (~12 + 0.13 K instructions per output, fitted on
    mps3-an547): a 128 -> 128 1x1 layer at 70% unstructured zeros goes sparse on a DSP target but stays dense
    there, while the FC cost model is the DSP one on both."""
    rng = np.random.default_rng(5)
    u = sparse_graphs.unstructured(conv_graph(rng, 6, 128, [128], k=1, same=False), 0.7)
    dsp, mve = sparse.choose(u, u.ops[0]), sparse.choose(u, u.ops[0], sparse.Target(dsp=True, mve=True))
    assert dsp.format == "unstructured" and mve.format == "dense"
    assert mve.dense_instructions == round(36 * 128 * (sparse.MVE_CONV["out"] + sparse.MVE_CONV["k"] * 128))
    assert mve.dense_instructions < 0.3 * dsp.dense_instructions
    fc = sparse_graphs.nm(conv_graph(rng, 4, 16, [4], k=1, same=False, fc_units=10), 2, 4)
    op = fc.ops[-1]
    assert op.kind == "FULLY_CONNECTED"
    assert (sparse.choose(fc, op, sparse.Target(dsp=True, mve=True)).dense_instructions ==
            sparse.choose(fc, op).dense_instructions)
