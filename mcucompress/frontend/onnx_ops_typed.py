"""ONNX converters of the ops with int32 or bool tensors: ArgMax, ArgMin (int32 indices, TFLM's type; ONNX's int64
values are the same), Equal, Less, LessOrEqual, Greater, GreaterOrEqual (bool) and Where (SELECT_V2).

Float models only (a QDQ model with them is refused); constant operands are rearranged to the activation's layout
as for Add (onnx_ops_tensor.binary).
"""

from __future__ import annotations

import numpy as np

from mcucompress.frontend.onnx_context import Importer, converter
from mcucompress.frontend.onnx_layout import const_to_layout, ir_axis
from mcucompress.ir import ops as irops

COMPARISONS = {"Equal": "EQUAL", "Less": "LESS", "LessOrEqual": "LESS_EQUAL", "Greater": "GREATER",
               "GreaterOrEqual": "GREATER_EQUAL"}


def _float_only(ctx: Importer, node) -> None:
    if ctx.qdq is not None:
        ctx.fail(f"{node.op_type} in a QDQ model is not supported; import the float model and quantize it here")


@converter("ArgMax", "ArgMin")
def arg_min_max(ctx: Importer, node) -> None:
    _float_only(ctx, node)
    x = ctx.act(node.input[0])
    rank = len(x.perm)
    if x.order is not None:
        ctx.fail(f"{node.op_type} of a flattened NCHW tensor is not supported")
    if ctx.attr("select_last_index", 0):
        ctx.fail(f"{node.op_type} with select_last_index=1 is not supported (TFLite takes the first index on ties)")
    axis = int(ctx.attr("axis", 0)) % rank
    if axis == 0:
        ctx.fail(f"{node.op_type} over the batch axis is not supported")
    ir = ir_axis(x.perm, axis)
    kept_onnx = [a for a in range(rank) if a != axis]
    perm = tuple(kept_onnx.index(x.perm[i]) for i in range(rank) if i != ir)
    kind = "ARG_MAX" if node.op_type == "ArgMax" else "ARG_MIN"
    if not ctx.attr("keepdims", 1):
        y = ctx.add_act(node.output[0], perm, dtype="int32")
        ctx.emit(kind, [x.name], [y.name], irops.ArgMinMaxAttrs(ir))
        return
    onnx_shape = ctx.shape(node.output[0])
    reduced = tuple(int(onnx_shape[a]) for a in kept_onnx)
    tmp = ctx.tmp(f"{node.output[0]}_indices", tuple(reduced[p] for p in perm), ctx.graph.t(x.name))
    ctx.graph.t(tmp).dtype, ctx.graph.t(tmp).quant = "int32", None
    ctx.emit(kind, [x.name], [tmp], irops.ArgMinMaxAttrs(ir))
    y = ctx.add_act(node.output[0], x.perm, dtype="int32")  # the size-1 axis back, where it was
    ctx.emit("RESHAPE", [tmp], [y.name])


def _operands(ctx: Importer, names: list[str], float_consts: bool = True) -> tuple[list[str], object]:
    """IR names of the operands in the layout of the highest-rank activation (constants rearranged)."""
    acts = [n for n in names if not ctx.is_const(n)]
    if not acts:
        ctx.fail("every operand is a constant; nothing to compute")
    lead = ctx.act(max(acts, key=lambda n: len(ctx.shape(n))))
    rank = len(lead.perm)
    out = []
    for n in names:
        if ctx.is_const(n):
            c = ctx.consts[n]
            dtype = "bool" if c.dtype == np.bool_ else "float32"
            out.append(ctx.add_const(n, const_to_layout(c.astype(dtype), rank, lead.perm, lead.order), dtype))
        else:
            if len(ctx.shape(n)) != rank:
                ctx.fail(f"operands of different ranks ({[list(ctx.shape(m)) for m in names]}) are not supported")
            out.append(ctx.act_as(n, lead.perm, lead.order).name)
    return out, lead


@converter(*COMPARISONS)
def compare(ctx: Importer, node) -> None:
    _float_only(ctx, node)
    ins, lead = _operands(ctx, [node.input[0], node.input[1]])
    y = ctx.add_act(node.output[0], lead.perm, lead.order, dtype="bool")
    ctx.emit(COMPARISONS[node.op_type], ins, [y.name])


@converter("Where")
def where(ctx: Importer, node) -> None:
    _float_only(ctx, node)
    ins, lead = _operands(ctx, list(node.input[:3]))
    y = ctx.add_act(node.output[0], lead.perm, lead.order)
    ctx.emit("SELECT_V2", ins, [y.name])
