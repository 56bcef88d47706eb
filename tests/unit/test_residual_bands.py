"""Residual blocks in row bands (codegen/bands.py, mcc_residual_bands_s8): which blocks qualify, that the
planner takes bands only where they shrink the arena, and that the banded block equals the reference bit for
bit in host C for every band height (and on QEMU)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from mcucompress.codegen import bands
from mcucompress.codegen.project import compile_graph
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops
from mcucompress.ir.tensor import QuantParams
from tests.graphs import q
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs


def _conv(g, rng, name, src, out, cin, cout, k, pad_top=None, activation="NONE"):
    pt = (k - 1) // 2 if pad_top is None else pad_top
    scales = np.linspace(0.01, 0.03, cout).astype(np.float32)
    g.add_tensor(Tensor(f"{name}_w", (cout, k, k, cin), "int8", QuantParams(scales, np.zeros(cout, np.int64), 0),
                        rng.integers(-127, 128, (cout, k, k, cin))))
    bias_scales = scales * np.float32(g.t(src).quant.scale[0])
    g.add_tensor(Tensor(f"{name}_b", (cout,), "int32", QuantParams(bias_scales, np.zeros(cout, np.int64), 0),
                        rng.integers(-2000, 2000, cout)))
    attrs = irops.Conv2DAttrs(pad_top=pt, pad_bottom=k - 1 - pt, pad_left=(k - 1) // 2, pad_right=k - 1 - (k - 1) // 2,
                              activation=activation)
    g.ops.append(Op("CONV_2D", [src, f"{name}_w", f"{name}_b"], [out], attrs, name))


def block_graph(h=12, w=8, c=8, c1=12, k1=3, k2=3, x_first=True, seed=0, relu_add=False) -> Graph:
    """in -> conv0 -> x -> conv1 (ReLU) -> y1 -> conv2 -> y2 -> ADD(x, y2) -> out -> 1x1 conv -> y."""
    rng = np.random.default_rng(seed)
    g = Graph(name="block")
    for name, shape, qp in (("in", (1, h, w, 4), q(0.05, 3)), ("x", (1, h, w, c), q(0.08, -20)),
                            ("y1", (1, h, w, c1), q(0.1, -128)), ("y2", (1, h, w, c), q(0.07, 5)),
                            ("out", (1, h, w, c), q(0.12, -10)), ("y", (1, h, w, 4), q(0.2, 2))):
        g.add_tensor(Tensor(name, shape, "int8", qp))
    _conv(g, rng, "conv0", "in", "x", 4, c, 3)
    _conv(g, rng, "conv1", "x", "y1", c, c1, k1, activation="RELU")
    _conv(g, rng, "conv2", "y1", "y2", c1, c, k2)
    g.ops.append(Op("ADD", ["x", "y2"] if x_first else ["y2", "x"], ["out"],
                    irops.ElementwiseAttrs(activation="RELU" if relu_add else "NONE"), "add"))
    _conv(g, rng, "conv3", "out", "y", c, 4, 1)
    g.inputs, g.outputs = ["in"], ["y"]
    return g


def test_find_takes_conv_conv_add_blocks_only():
    assert len(bands.find(block_graph())) == 1
    assert len(bands.find(block_graph(x_first=False))) == 1
    g = block_graph()
    g.ops[2].attrs.stride_h = 2
    assert bands.find(g) == []  # rows out = rows in, stride 1
    assert bands.find(block_graph(w=7)) == []  # odd widths: odd pixel counts per band
    g = block_graph()
    g.ops[1].attrs.pad_top, g.ops[1].attrs.pad_bottom = 2, 0
    assert bands.find(g) == []  # conv1 reads x rows a band's ADD already wrote
    g = block_graph()
    g.outputs = ["out"]
    assert bands.find(g) == []  # the block output is the model's


def test_bands_only_where_they_shrink_the_arena(monkeypatch):
    """A 32x16x16 block: bands shrink the arena (x, one band and a ring instead of x, y1 and y2); a block too
    small for the calls' scratch to be worth it keeps its layers."""
    banded = compile_graph(block_graph(h=32, w=16, c=16, c1=16), "big")
    assert len(banded.plan.bands) == 1
    small = compile_graph(block_graph(h=2, w=2, c=4, c1=4), "small")
    monkeypatch.setattr(bands, "choose", lambda graph, arena, current=(): ())
    layered = compile_graph(block_graph(h=32, w=16, c=16, c1=16), "big")
    assert banded.plan.arena_bytes < layered.plan.arena_bytes
    assert small.plan.bands == ()


@pytest.mark.parametrize("rows,kw", [
    (1, {}), (3, {}), (5, {"x_first": False}), (4, {"k1": 5, "k2": 5}), (2, {"k1": 3, "k2": 5, "c1": 8}),
    (12, {"relu_add": True}), (7, {"h": 9, "c": 16, "c1": 4}),
])
def test_banded_block_bit_exact_in_host_c(tmp_path, monkeypatch, rows, kw):
    g = block_graph(seed=rows, **kw)
    monkeypatch.setattr(bands, "choose", lambda graph, arena, current=(): tuple(
        replace(b, rows=rows) for b in bands.find(graph)))
    compiled = compile_graph(g, "block")
    assert [b.rows for b in compiled.plan.bands] == [rows]
    assert "mcc_residual_bands_s8" in {c.function for c in compiled.calls}
    xs = np.random.default_rng(rows).integers(-128, 128, (3, *g.t("in").shape)).astype(np.int8)
    assert_same(host_outputs(g, xs, tmp_path), reference_outputs(g, xs))


def test_banded_block_bit_exact_on_qemu(tmp_path):
    """The block in bands on the default board (Cortex-M4 in QEMU, DSP kernels) equals the reference."""
    from mcucompress.frontend import tflite_writer
    from tests.unit.test_cli_errors import mcc

    if not shutil.which("qemu-system-arm") or not shutil.which("arm-none-eabi-gcc"):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    g = block_graph(h=32, w=16, c=16, c1=16, seed=5)
    assert len(compile_graph(g, "block").plan.bands) == 1
    model = tmp_path / "block.tflite"
    tflite_writer.write(g, model)
    result = mcc("run", model, "--samples", "2", "--json", tmp_path / "run.json")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run.json").read_text())["bit_exact"] is True


@pytest.mark.parametrize("fmt,rows", [("2:4", 3), ("1:4", 4)])
def test_banded_block_over_nm_sparse_convolutions_bit_exact(tmp_path, monkeypatch, fmt, rows):
    """Both convolutions N:M sparse (mcc_residual_bands_nm_s8 over mcc_convolve_nm_s8): bit-exact in host C, and
    for 2:4 on the Cortex-M4 in QEMU, whose DSP build takes the row-table path over each band's window."""
    from mcucompress.harness.target import run_on_board
    from tests import sparse_graphs

    g = sparse_graphs.nm(block_graph(h=12, w=16, c=16, c1=16, seed=rows), *((2, 4) if fmt == "2:4" else (1, 4)))
    monkeypatch.setattr(bands, "choose", lambda graph, arena, current=(): tuple(
        replace(b, rows=rows) for b in bands.find(graph)))
    compiled = compile_graph(g, "block", sparse_kernels=fmt)
    assert "mcc_residual_bands_nm_s8" in {c.function for c in compiled.calls}
    xs = np.random.default_rng(rows).integers(-128, 128, (2, *g.t("in").shape)).astype(np.int8)
    expected = reference_outputs(g, xs)
    monkeypatch.setattr("tests.unit.test_codegen_host.compile_graph",
                        lambda graph, prefix: compile_graph(graph, prefix, sparse_kernels=fmt))
    assert_same(host_outputs(g, xs, tmp_path), expected)
    if fmt == "2:4" and shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc"):
        run = run_on_board(compiled, xs.reshape(len(xs), *g.t("in").shape[1:]), g.t("y").shape, "mps2-an386",
                           workdir=tmp_path / "qemu")
        assert_same(run.outputs, expected)


def test_op_order_is_tried_with_the_bands_chosen_again():
    """ResNet-8 2:4: its downsampling shortcut run before the 3x3 stride-2 convolution pays only when the first
    block then takes other bands; the order search re-chooses the bands for every order it tries (42,640 B of
    arena with the bands held fixed, 36,128 B with them chosen again)."""
    import mcucompress
    from tests import sparse_graphs
    from tests.conftest import shared_model

    graph = sparse_graphs.nm(mcucompress.load(shared_model("ic_pretrainedResnet_quant")), 2, 4)
    compiled = compile_graph(graph, "ic24")
    names = [c.op_name for c in compiled.calls]
    assert names.index("conv_2d_6") < names.index("conv_2d_4")
    assert compiled.plan.arena_bytes <= 37_000
