"""Convolutions writing over their own dying input (codegen/conv_lag.py): the lag from the kernel's pixel-pair
order, checked against a simulation of that order and, for strided, dilated and channel-changing layers, bit for
bit in host C against the reference executor."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mcucompress.codegen.conv_lag import pair_order_lag
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops
from tests.graphs import q


def _simulate(h, w, cin, oh, ow, cout, kh, kw, a, lag) -> bool:
    """mcc_convolve_s8's order on one buffer: output at byte 0, input at `lag`; a pair of output pixels reads all
    its in-image taps, then writes both pixels. True when every read saw the input's own bytes."""
    size = max(lag + h * w * cin, oh * ow * cout)
    owner = np.full(size, -1, dtype=np.int64)  # -1: still the input's byte; else the pixel that wrote it
    n = oh * ow
    for start in range(0, n, 2):
        pair = range(start, min(start + 2, n))
        for p in pair:
            oy, ox = divmod(p, ow)
            for ky in range(kh):
                iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h
                for kx in range(kw):
                    ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w
                    if 0 <= iy < h and 0 <= ix < w:
                        at = lag + (iy * w + ix) * cin
                        if (owner[at:at + cin] >= 0).any():
                            return False
        for p in pair:
            owner[p * cout:(p + 1) * cout] = p
    return True


@pytest.mark.parametrize("seed", range(40))
def test_lag_is_the_smallest_the_pair_order_allows(seed):
    rng = np.random.default_rng(seed)
    kh, kw = (int(v) for v in rng.integers(1, 6, 2))
    a = SimpleNamespace(stride_h=int(rng.integers(1, 3)), stride_w=int(rng.integers(1, 3)),
                        dilation_h=int(rng.integers(1, 3)), dilation_w=int(rng.integers(1, 3)),
                        pad_top=int(rng.integers(0, kh)), pad_left=int(rng.integers(0, kw)))
    h, w = (int(v) for v in rng.integers(3, 9, 2))
    cin, cout = (int(v) for v in rng.integers(1, 9, 2))
    oh = max(1, (h + a.pad_top + (kh - 1 - a.pad_top) - (kh - 1) * a.dilation_h - 1) // a.stride_h + 1)
    ow = max(1, (w + a.pad_left + (kw - 1 - a.pad_left) - (kw - 1) * a.dilation_w - 1) // a.stride_w + 1)
    lag = pair_order_lag((h, w, cin), (oh, ow, cout), (kh, kw), a)
    assert _simulate(h, w, cin, oh, ow, cout, kh, kw, a, lag)
    if lag > 0:
        assert not _simulate(h, w, cin, oh, ow, cout, kh, kw, a, lag - 1)


def _conv_chain(h, w, c, c2, kh, stride, dilation, seed) -> Graph:
    """x -> CONV_2D (same, C -> C) -> a -> CONV_2D (kh, stride, dilation, C -> C2) -> y: a dies at the second."""
    rng = np.random.default_rng(seed)
    g = Graph(name="lag2")
    g.add_tensor(Tensor("x", (1, h, w, c), "int8", q(0.05, 3)))
    pad = (kh - 1) * dilation
    oh, ow = -(-h // stride), -(-w // stride)
    total_h, total_w = max((oh - 1) * stride + pad + 1 - h, 0), max((ow - 1) * stride + pad + 1 - w, 0)
    layers = [("a", c, 3, 1, 1, (1, 1, 1, 1), (h, w)),
              ("y", c2, kh, stride, dilation, (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2),
               (oh, ow))]
    src, cin = "x", c
    for i, (name, cout, k, s, d, (pt, pb, pl, pr), (hh, ww)) in enumerate(layers):
        g.add_tensor(Tensor(f"w{i}", (cout, k, k, cin), "int8", q(0.02), rng.integers(-127, 128, (cout, k, k, cin))))
        g.add_tensor(Tensor(f"b{i}", (cout,), "int32", q(0.001), rng.integers(-300, 300, cout)))
        g.add_tensor(Tensor(name, (1, hh, ww, cout), "int8", q(0.1, i - 2)))
        attrs = irops.Conv2DAttrs(stride_h=s, stride_w=s, dilation_h=d, dilation_w=d, pad_top=pt, pad_bottom=pb,
                                  pad_left=pl, pad_right=pr, activation="RELU" if i == 0 else "NONE")
        g.ops.append(Op("CONV_2D", [src, f"w{i}", f"b{i}"], [name], attrs, f"conv{i}"))
        src, cin = name, cout
    g.inputs, g.outputs = ["x"], ["y"]
    return g


@pytest.mark.parametrize("h,w,c,c2,kh,stride,dilation", [
    (8, 8, 8, 16, 3, 2, 1),  # ResNet-8's downsampling: lag 0
    (9, 7, 4, 8, 3, 2, 1),  # odd sizes
    (8, 8, 8, 8, 3, 1, 2),  # dilated
    (6, 6, 4, 12, 3, 1, 1),  # widening at stride 1: a large lag
])
def test_strided_dilated_and_widening_convolutions_write_over_their_input_bit_exact(tmp_path, h, w, c, c2, kh, stride,
                                                                                   dilation):
    from mcucompress.codegen.conv_lag import conv_output_lag
    from mcucompress.codegen.project import compile_graph
    from mcucompress.driver import reference_outputs
    from mcucompress.harness.host import run_on_host
    from mcucompress.plan.liveness import analyse

    g = _conv_chain(h, w, c, c2, kh, stride, dilation, seed=h * w + c2)
    lag = conv_output_lag(g, g.ops[1])
    assert lag is not None
    assert 1 in analyse(g, io_in_arena=True).lagged
    x = np.random.default_rng(c2).integers(-128, 128, (3, 1, h, w, c)).astype(np.int8)
    expected = reference_outputs(g, x)
    for checks in (False, True):
        compiled = compile_graph(g, "lag2", checks=checks)
        assert 1 in compiled.plan.liveness.lagged and 1 not in compiled.plan.no_lag  # the plan takes it
        out = run_on_host(compiled, x, g.t("y").shape, workdir=tmp_path / f"c{checks}")
        np.testing.assert_array_equal(out.reshape(expected.shape), expected)
