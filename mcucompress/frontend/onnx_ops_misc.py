"""ONNX converters of Tile, GatherND (constant indices), CumSum, Sum (as ADD_N), Log and LpPool (p = 2).

Each works in the activation's IR layout (`perm`): repeats and axes are mapped through it. LpPool is
(sum of x^2)^(1/2) over the window, TFLite's L2_POOL_2D the root of the mean: without padding every window
holds kernel_h x kernel_w taps, so a MUL by sqrt(taps) after L2_POOL_2D is LpPool (float32 only in TFLM).
"""

from __future__ import annotations

import math

import numpy as np

from mcucompress.frontend.onnx_context import Importer, converter
from mcucompress.frontend.onnx_layout import NHWC, ir_axis
from mcucompress.frontend.onnx_ops_movement import _plain_act
from mcucompress.ir import ops as irops


@converter("Log")
def log(ctx: Importer, node) -> None:
    x = ctx.act(node.input[0])
    y = ctx.add_act(node.output[0], x.perm, x.order)
    ctx.emit("LOG", [x.name], [y.name])


@converter("Tile")
def tile(ctx: Importer, node) -> None:
    x = _plain_act(ctx, node.input[0])
    repeats = [int(r) for r in ctx.const(node.input[1], "repeats")]
    if len(repeats) != len(x.perm) or min(repeats) < 1:
        ctx.fail(f"repeats {repeats} must hold one positive count per axis")
    y = ctx.add_act(node.output[0], x.perm, quant_src=x)
    ctx.emit("TILE", [x.name], [y.name], irops.TileAttrs(tuple(repeats[p] for p in x.perm)))


@converter("GatherND")
def gather_nd(ctx: Importer, node) -> None:
    x = _plain_act(ctx, node.input[0])
    if int(ctx.attr("batch_dims", 0)):
        ctx.fail("GatherND with batch_dims > 0 is not supported")
    shape = ctx.shape(node.input[0])
    ind = np.asarray(ctx.const(node.input[1], "indices")).astype(np.int64)
    k = ind.shape[-1]
    if tuple(x.perm[:k]) != tuple(range(k)):
        ctx.fail(f"GatherND indexes axes 0..{k - 1}, which this tensor's layout reorders; gather before the "
                 "layout changes (e.g. before a convolution)")
    ind = np.where(ind < 0, ind + np.array(shape[:k]), ind)  # ONNX allows negative indices; TFLite does not
    b = ind.ndim - 1
    perm = (*range(b), *(p - k + b for p in x.perm[k:]))
    y = ctx.add_act(node.output[0], perm, quant_src=x)
    ctx.emit("GATHER_ND", [x.name], [y.name], irops.GatherNdAttrs(tuple(int(i) for i in ind.reshape(-1)), ind.shape))


@converter("CumSum")
def cumsum(ctx: Importer, node) -> None:
    x = _plain_act(ctx, node.input[0])
    axis = np.asarray(ctx.const(node.input[1], "axis")).reshape(-1)
    rank = len(x.perm)
    if axis.size != 1 or not -rank <= int(axis[0]) < rank:
        ctx.fail(f"axis {axis.tolist()} is not one axis of a rank-{rank} tensor")
    attrs = irops.CumsumAttrs(ir_axis(x.perm, int(axis[0]) % rank), bool(ctx.attr("exclusive", 0)),
                              bool(ctx.attr("reverse", 0)))
    y = ctx.add_act(node.output[0], x.perm)
    ctx.emit("CUMSUM", [x.name], [y.name], attrs)


@converter("Sum")
def sum_(ctx: Importer, node) -> None:
    """ADD_N of same-shaped inputs; constant ones (float) become IR constants in the activations' layout."""
    from mcucompress.frontend.onnx_layout import const_to_layout

    acts = [n for n in node.input if not ctx.is_const(n)]
    shapes = {ctx.shape(n) for n in node.input}
    if not acts or len(shapes) != 1:
        ctx.fail(f"Sum of shapes {sorted(shapes)}: only inputs of one shape (no broadcasting), one of them an "
                 "activation, are supported")
    if ctx.qdq is not None:
        ctx.fail("Sum in a QDQ model is not supported")
    first = ctx.act(acts[0])
    rank = len(first.perm)
    ins = [ctx.act_as(n, first.perm, first.order).name if not ctx.is_const(n) else
           ctx.add_const(n, const_to_layout(ctx.consts[n].astype(np.float32), rank, first.perm, first.order))
           for n in node.input]
    y = ctx.add_act(node.output[0], first.perm, first.order)
    if len(ins) == 1:
        ctx.emit("RESHAPE", ins, [y.name])  # removed by passes.identity_removal
        return
    ctx.emit("ADD_N", ins, [y.name])


@converter("LpPool")
def lp_pool(ctx: Importer, node) -> None:
    x = ctx.spatial(node.input[0])
    if int(ctx.attr("p", 2)) != 2:
        ctx.fail(f"LpPool with p = {ctx.attr('p')} is not supported; only p = 2 (TFLite's L2_POOL_2D)")
    if ctx.attr("ceil_mode", 0) or any(d != 1 for d in ctx.attr("dilations", [1, 1])):
        ctx.fail("LpPool with ceil_mode or dilations is not supported")
    kernel = [int(k) for k in ctx.attr("kernel_shape")]
    pads, auto = list(ctx.attr("pads", [0, 0, 0, 0])), ctx.attr("auto_pad", "NOTSET")
    if any(pads) or auto not in ("NOTSET", "VALID", b"NOTSET", b"VALID"):
        ctx.fail("padded LpPool is not supported: its padded taps would change TFLite's L2_POOL_2D mean")
    strides = [int(s) for s in ctx.attr("strides", [1, 1])]
    src = ctx.graph.t(x.name)
    y = ctx.add_act(node.output[0], NHWC)
    pooled = ctx.tmp(f"{y.name}_l2", ctx.graph.t(y.name).shape, src)
    ctx.emit("L2_POOL_2D", [x.name], [pooled], irops.Pool2DAttrs(kernel[0], kernel[1], strides[0], strides[1]))
    scale = ctx.add_const(f"{y.name}_taps", np.array([math.sqrt(kernel[0] * kernel[1])], np.float32))
    ctx.emit("MUL", [pooled, scale], [y.name], irops.ElementwiseAttrs())
