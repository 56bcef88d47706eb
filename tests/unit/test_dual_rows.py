"""The dual-row filter layout (codegen/dual_rows.py, firmware/include/mcc_matmul.h): the packing decodes back to the
filter, it is refused where it would not be exact, the lowering writes it only for DSP targets without Helium and
where it pays, and the SMMLAR requantization's accumulator bound (small_accumulators)."""

from __future__ import annotations

import numpy as np

from mcucompress.codegen import dual_rows
from mcucompress.codegen.project import compile_graph
from mcucompress.ir import ops as irops
from tests.random_graphs import Builder, _weighted_op, _window_attrs


def _decode(packed: np.ndarray, cout: int, k: int) -> np.ndarray:
    """The rows back from the layout, as mcc_dual_weights reads them (h = 256 * wB + wA)."""
    k4, kt, stride = k & ~3, k % 4, dual_rows.pair_stride(k)
    rows = np.zeros((cout, k), np.int64)
    for p in range(cout // 2):
        pair = packed[p * stride:(p + 1) * stride]
        h = pair[:2 * k4].view("<i2").astype(np.int64).reshape(-1, 4)[:, dual_rows.GROUP_ORDER].reshape(-1)
        a = pair[:2 * k4:2].astype(np.int64).reshape(-1, 4)[:, dual_rows.GROUP_ORDER].reshape(-1)
        rows[2 * p, :k4], rows[2 * p + 1, :k4] = a, (h - a) // 256
        rows[2 * p, k4:] = pair[2 * k4:2 * k4 + kt]
        rows[2 * p + 1, k4:] = pair[2 * k4 + kt:2 * k4 + 2 * kt]
    if cout % 2:
        rows[-1] = packed[(cout // 2) * stride:]
    return rows


def test_the_layout_decodes_to_the_filter():
    rng = np.random.default_rng(0)
    for cout, k in [(2, 4), (3, 7), (16, 27), (9, 64), (4, 17)]:
        rows = rng.integers(-127, 128, (cout, k)).astype(np.int8)
        packed = dual_rows.dual_rows(rows)
        assert packed is not None and packed.dtype == np.int8
        assert packed.size == (cout // 2) * dual_rows.pair_stride(k) + (cout % 2) * k
        np.testing.assert_array_equal(_decode(packed, cout, k), rows)


def test_inexact_filters_keep_the_plain_layout():
    rows = np.ones((2, 8), np.int8)
    rows[1, 0], rows[0, 0] = -128, -1  # 256 * -128 - 1 does not fit int16
    assert dual_rows.dual_rows(rows) is None
    big = np.full((2, 300), 127, np.int8)  # 255 * sum |wB| = 9.7M >= 2^23: B's sum may not fit 24 bits
    assert dual_rows.dual_rows(big) is None
    assert dual_rows.dual_rows(np.ones((1, 16), np.int8)) is None  # no pair
    assert dual_rows.dual_rows(np.ones((4, 3), np.int8)) is None  # no group of four


def test_small_accumulators_bound():
    rows = np.full((2, 100), 100, np.int8)  # 255 * 10,000 = 2.55M
    assert dual_rows.small_accumulators(rows, np.array([0, (1 << 30) - 2_550_001]))
    assert not dual_rows.small_accumulators(rows, np.array([0, (1 << 30) - 2_550_000]))


def _conv_graph(k: int, cin: int = 16):
    b = Builder(np.random.default_rng(1), "dual")
    x = b.input((1, 6, 6, cin))
    (oh, ow), pads = _window_attrs(b.rng, (6, 6), (k, k), (1, 1), (1, 1), True)
    inputs, y = _weighted_op(b, x, (8, k, k, cin), 8, k * k * cin, 0, True, "NONE", (1, oh, ow, 8), None)
    return b.finish(b.op("CONV_2D", inputs, y, irops.Conv2DAttrs(1, 1, 1, 1, **pads)))


def _conv_params(compiled) -> dict[str, str]:
    call = next(c for c in compiled.calls if c.kind == "CONV_2D")
    return dict(next(s for s in call.statics if s.ctype == "mcc_conv_params").fields)


def test_the_lowering_writes_it_for_dsp_targets_without_helium():
    graph = _conv_graph(3)  # K = 144
    assert _conv_params(compile_graph(graph, "d")).get("dual_rows") == "1"
    assert "dual_rows" not in _conv_params(compile_graph(graph, "d", dsp=False))  # SMLAD is what makes it pay
    assert "dual_rows" not in _conv_params(compile_graph(graph, "d", mve=True))  # Helium paths read plain filters
    assert "dual_rows" not in _conv_params(compile_graph(_conv_graph(1, 8), "d"))  # K = 8 < CONV_MIN_K
    assert _conv_params(compile_graph(_conv_graph(1, 12), "d")).get("dual_rows") == "1"  # K = 12: pays in a conv
    assert _conv_params(compile_graph(_conv_graph(3, 3), "d")).get("dual_rows") == "2"  # K = 27 padded to 28


def _lean_to_dual(packed: np.ndarray, cout: int, k: int) -> np.ndarray:
    """FULLY_CONNECTED's lean layout (dual_rows = 3) back to the plain dual-row one, from its definition: in each whole
    block of three pairs, group g of pair s at 24 g + 8 s, then the pairs' tails in order."""
    k4, stride, pairs = k & ~3, dual_rows.pair_stride(k), cout // 2
    tb = stride - 2 * k4
    out = packed.copy()
    for blk in range(pairs // 3):
        base = blk * 3 * stride
        for s in range(3):
            dst = base + s * stride
            for g in range(k4 // 4):
                out[dst + 8 * g:dst + 8 * g + 8] = packed[base + 24 * g + 8 * s:base + 24 * g + 8 * s + 8]
            out[dst + 2 * k4:dst + stride] = packed[base + 6 * k4 + s * tb:base + 6 * k4 + (s + 1) * tb]
    return out


def test_the_lean_layout_decodes_to_the_filter():
    rng = np.random.default_rng(3)
    for cout, k in [(6, 8), (8, 8), (7, 13), (13, 64), (2, 4), (5, 6), (12, 33), (128, 128)]:
        rows = rng.integers(-127, 128, (cout, k)).astype(np.int8)
        packed = dual_rows.dual_rows(rows)
        lean = dual_rows.interleave_pairs(packed, cout, k)
        assert lean.size == packed.size
        assert (cout < 6) == np.array_equal(lean, packed)  # no whole block: nothing moves
        np.testing.assert_array_equal(_decode(_lean_to_dual(lean, cout, k), cout, k), rows)


def test_fc_small_accumulators_bound():
    rows = np.zeros((2, 9), np.int8)
    rows[1, :8] = 100  # B's sum: 255 * (800 + 100) = 229,500, its tail (value 8) included
    rows[1, 8] = 100
    limit = (1 << 23) - 229_500
    assert dual_rows.fc_small_accumulators(rows, np.array([(1 << 30) - 1, limit - 1]))
    assert not dual_rows.fc_small_accumulators(rows, np.array([0, limit]))
    assert not dual_rows.fc_small_accumulators(rows, np.array([0, -limit]))
    assert not dual_rows.fc_small_accumulators(rows, np.array([1 << 30, 0]))  # small_accumulators too


def _fc_graph(units: int, depth: int, per_channel: bool = False, bias: bool = True, activation: str = "NONE"):
    b = Builder(np.random.default_rng(5), "fc")
    x = b.input((1, depth))
    inputs, y = _weighted_op(b, x, (units, depth), units, depth, 0 if per_channel else None, bias, activation,
                             (1, units), None)
    return b.finish(b.op("FULLY_CONNECTED", inputs, y, irops.FullyConnectedAttrs(activation, False)))


def _fc_params(compiled) -> dict[str, str]:
    call = next(c for c in compiled.calls if c.kind == "FULLY_CONNECTED")
    return dict(next(s for s in call.statics if s.ctype == "mcc_fc_params").fields)


def test_the_lowering_writes_the_lean_layout_for_fully_connected():
    assert _fc_params(compile_graph(_fc_graph(128, 8), "d")).get("dual_rows") == "3"  # K = 8, 1,024 weights
    assert _fc_params(compile_graph(_fc_graph(8, 128), "d")).get("dual_rows") == "3"
    assert _fc_params(compile_graph(_fc_graph(15, 77), "d")).get("dual_rows") == "3"
    assert "dual_rows" not in _fc_params(compile_graph(_fc_graph(10, 64), "d"))  # 640 weights: ResNet-8's classifier
    assert "dual_rows" not in _fc_params(compile_graph(_fc_graph(15, 77), "d", dsp=False))
    assert "dual_rows" not in _fc_params(compile_graph(_fc_graph(15, 77), "d", mve=True))
    # the lean loop's conditions unmet: plain dual rows where they pay (K >= 16, 4,096 weights), else none
    assert _fc_params(compile_graph(_fc_graph(64, 64, per_channel=True), "d")).get("dual_rows") == "1"
    relu6 = _fc_params(compile_graph(_fc_graph(64, 64, activation="RELU6"), "d"))
    assert (relu6["act_min"], relu6["act_max"]) != ("-128", "127") and relu6.get("dual_rows") == "1"
    assert _fc_params(compile_graph(_fc_graph(64, 64, bias=False), "d")).get("dual_rows") == "3"  # a zero bias
    assert "dual_rows" not in _fc_params(compile_graph(_fc_graph(32, 64, per_channel=True), "d"))
    assert "dual_rows" not in _fc_params(compile_graph(_fc_graph(128, 8, per_channel=True), "d"))


def test_lean_layout_layers_run_bit_exact_on_the_host(tmp_path):
    """The generated project (host build: the portable decoding of the lean layout) gives the reference's outputs."""
    from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs

    rng = np.random.default_rng(9)
    for i, (units, depth) in enumerate([(128, 8), (8, 128), (15, 77), (31, 41)]):
        graph = _fc_graph(units, depth, bias=i != 2)
        assert _fc_params(compile_graph(graph, "d")).get("dual_rows") == "3"
        xs = rng.integers(-128, 128, (3, 1, depth)).astype(np.int8)
        assert_same(host_outputs(graph, xs, tmp_path / str(i)), reference_outputs(graph, xs))


def test_first_layer_filters_are_padded_to_whole_groups():
    """mcc_convolve_s8 reads a K % 4 = 3 filter padded with a zero weight to whole groups (dual_rows = 2) where it
    gathers the receptive field, at the same pair stride (ResNet-8's and vww's K = 27)."""
    assert dual_rows.padded_k("mcc_convolve_s8", 27) == 28 and dual_rows.pair_stride(28) == dual_rows.pair_stride(27)
    assert dual_rows.padded_k("mcc_convolve_s8", 63) == 64 and dual_rows.padded_k("mcc_convolve_s8", 32) == 32
    assert dual_rows.padded_k("mcc_convolve_s8", 45) == 45  # one value: the tail loop is cheaper, the stride smaller
    assert dual_rows.padded_k("mcc_convolve_1x1_s8", 27) == 27  # its columns have no padding
    assert dual_rows.padded_k("mcc_fully_connected_s8", 27) == 27
    assert dual_rows.padded_k("mcc_convolve_s8", 257) == 257  # beyond the gather buffer
    rows = np.arange(-40, 41, dtype=np.int8)[:3 * 27].reshape(3, 27)
    padded = dual_rows.kernel_rows("mcc_convolve_s8", rows)
    np.testing.assert_array_equal(padded[:, :27], rows)
    assert padded.shape == (3, 28) and not padded[:, 27].any()


def test_padded_layers_run_bit_exact_on_the_host(tmp_path):
    """The generated project (host build: the portable decoding, padded im2col columns) gives the reference's
    outputs for first layers of 3 and 7 input channels (K = 27, 63, 75)."""
    from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs

    rng = np.random.default_rng(3)
    for k, cin in [(3, 3), (3, 7), (5, 3)]:
        graph = _conv_graph(k, cin)
        assert _conv_params(compile_graph(graph, "d")).get("dual_rows") == "2"
        xs = rng.integers(-128, 128, (3, 1, 6, 6, cin)).astype(np.int8)
        assert_same(host_outputs(graph, xs, tmp_path / f"k{k}c{cin}"), reference_outputs(graph, xs))
