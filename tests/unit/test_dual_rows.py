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
    assert "dual_rows" not in _conv_params(compile_graph(_conv_graph(1, 8), "d"))  # K = 8 < MIN_K
    assert "dual_rows" not in _conv_params(compile_graph(_conv_graph(3, 3), "d"))  # K = 27: its unrolled loop
