"""ONNX converters of the data-movement ops: Slice, Split, Gather (constant indices), DepthToSpace,
SpaceToDepth, Expand.

The IR tensor of an ONNX activation holds its axes in the order `perm` (NHWC for images): axes are mapped
through it and the output keeps it, so no data is transposed for the op. (Transpose itself only changes
the recorded permutation; Pad mode=reflect is in onnx_ops_tensor.)
"""

from __future__ import annotations

import numpy as np

from mcucompress.frontend.onnx_context import Importer, converter
from mcucompress.frontend.onnx_layout import NHWC, identity, ir_axis, ir_shape
from mcucompress.ir import ops as irops


def _plain_act(ctx: Importer, name: str):
    v = ctx.act(name)
    if v.order is not None:
        ctx.fail("a flattened NCHW tensor cannot be sliced, split or gathered; flatten into a Gemm/MatMul instead")
    return v


def _onnx_range(start: int, end: int, step: int, d: int) -> tuple[int, int]:
    """ONNX Slice's clamping: start and end in the axis (end -1 means before index 0 for a negative step)."""
    start, end = start + d if start < 0 else start, end + d if end < 0 else end
    if step > 0:
        return min(max(start, 0), d), min(max(end, 0), d)
    return min(max(start, 0), d - 1), min(max(end, -1), d - 1)


@converter("Slice")
def slice_(ctx: Importer, node) -> None:
    x = _plain_act(ctx, node.input[0])
    shape = ctx.shape(node.input[0])
    rank = len(shape)
    if ctx.opset < 10:
        starts, ends, axes = ctx.attr("starts"), ctx.attr("ends"), ctx.attr("axes")
        steps = None
    else:
        starts, ends = (ctx.const(ctx.inp(k), w) for k, w in ((1, "starts"), (2, "ends")))
        axes = ctx.const(ctx.inp(3), "axes") if ctx.inp(3) else None
        steps = ctx.const(ctx.inp(4), "steps") if ctx.inp(4) else None
    axes = list(range(len(starts))) if axes is None else [int(a) % rank for a in axes]
    steps = [1] * len(axes) if steps is None else [int(s) for s in steps]
    begin, end, strides, end_mask = [0] * rank, [shape[p] for p in x.perm], [1] * rank, 0  # IR axis order
    for a, s0, e0, st in zip(axes, starts, ends, steps):
        if st == 0:
            ctx.fail("Slice step 0")
        b, e = _onnx_range(int(max(min(s0, 2**31 - 1), -(2**31))), int(max(min(e0, 2**31 - 1), -(2**31))), st, shape[a])
        k = ir_axis(x.perm, a)
        begin[k], end[k], strides[k] = b, e, st
        if e == -1:
            end_mask |= 1 << k  # TFLite reads end -1 as "the last element": the mask says "past index 0"
    attrs = irops.StridedSliceAttrs(tuple(begin), tuple(end), tuple(strides), 0, end_mask, 0)
    y = ctx.add_act(node.output[0], x.perm, quant_src=x)
    ctx.emit("STRIDED_SLICE", [x.name], [y.name], attrs)


@converter("Split")
def split(ctx: Importer, node) -> None:
    x = _plain_act(ctx, node.input[0])
    shape = ctx.shape(node.input[0])
    axis = int(ctx.attr("axis", 0)) % len(shape)
    outs = [n for n in node.output]
    if len(node.input) > 1 and node.input[1]:
        sizes = [int(s) for s in ctx.const(node.input[1], "split")]
    elif ctx.attr("split") is not None:
        sizes = [int(s) for s in ctx.attr("split")]
    else:  # equal parts, the last one smaller when the axis does not divide (opset 18)
        n = len(outs)
        part = -(-shape[axis] // n)
        sizes = [min(part, shape[axis] - k * part) for k in range(n)]
    ys = [ctx.add_act(o, x.perm, quant_src=x) for o in outs]
    ctx.emit("SPLIT", [x.name], [y.name for y in ys], irops.SplitAttrs(ir_axis(x.perm, axis), tuple(sizes)))


@converter("Gather")
def gather(ctx: Importer, node) -> None:
    x = _plain_act(ctx, node.input[0])
    shape = ctx.shape(node.input[0])
    axis = int(ctx.attr("axis", 0)) % len(shape)
    ind = np.asarray(ctx.const(node.input[1], "indices")).astype(np.int64)
    ind = np.where(ind < 0, ind + shape[axis], ind)  # ONNX allows negative indices; TFLite does not
    k, r = ir_axis(x.perm, axis), ind.ndim
    # The output's axes: the indices' r axes replace ONNX axis `axis` at IR position k.
    move = [p if p < axis else p + r - 1 for p in x.perm]
    perm = (*move[:k], *range(axis, axis + r), *move[k + 1 :])
    y = ctx.add_act(node.output[0], perm, quant_src=x)
    attrs = irops.GatherAttrs(tuple(int(i) for i in ind.reshape(-1)), tuple(ind.shape), k)
    ctx.emit("GATHER", [x.name], [y.name], attrs)


@converter("DepthToSpace", "SpaceToDepth")
def depth_space(ctx: Importer, node) -> None:
    x = ctx.spatial(node.input[0])
    b = int(ctx.attr("blocksize"))
    if node.op_type == "DepthToSpace" and ctx.attr("mode", "DCR") == "CRD":
        # CRD (PyTorch's PixelShuffle) reads channel c*b*b + i*b + j where DCR reads (i*b + j)*C' + c:
        # gather the channels into DCR order first.
        c = ctx.shape(node.input[0])[1]
        cp = c // (b * b)
        order = np.arange(c).reshape(cp, b * b).T.reshape(-1)
        src = ctx.graph.t(x.name)
        mid = ctx.tmp(f"{x.name}_dcr", src.shape, like=src)
        ctx.emit("GATHER", [x.name], [mid], irops.GatherAttrs(tuple(int(i) for i in order), (c,), 3))
        x = type(x)(mid, x.perm)
    y = ctx.add_act(node.output[0], NHWC, quant_src=x)
    kind = "DEPTH_TO_SPACE" if node.op_type == "DepthToSpace" else "SPACE_TO_DEPTH"
    ctx.emit(kind, [x.name], [y.name], irops.BlockAttrs(b))


@converter("Expand")
def expand(ctx: Importer, node) -> None:
    x = _plain_act(ctx, node.input[0])
    in_shape = ctx.shape(node.input[0])
    out_shape = tuple(int(d) for d in np.broadcast_shapes(in_shape, tuple(int(d) for d in ctx.const(node.input[1], "shape"))))
    if len(out_shape) != len(in_shape):
        x = ctx.act_as(node.input[0], identity(len(in_shape)))
        src = ctx.graph.t(x.name)
        lifted = ctx.tmp(f"{x.name}_lifted", (1,) * (len(out_shape) - len(in_shape)) + src.shape, like=src)
        ctx.emit("RESHAPE", [x.name], [lifted])
        x = type(x)(lifted, identity(len(out_shape)))
    y = ctx.add_act(node.output[0], x.perm, quant_src=x)
    assert ctx.graph.t(y.name).shape == ir_shape(out_shape, x.perm)
    ctx.emit("BROADCAST_TO", [x.name], [y.name])
