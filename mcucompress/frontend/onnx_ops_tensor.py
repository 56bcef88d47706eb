"""ONNX converters for element-wise, shape and reduction ops.

Activations: Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSwish, HardSigmoid, Abs, PRelu (constant slope),
Elu (alpha 1), Sqrt, Exp and Neg (float32 only). Arithmetic: Add, Sub, Mul, Div by a constant, Max and Min of two
operands. Layout: Reshape, Flatten, Squeeze, Unsqueeze (a TRANSPOSE first when NHWC reorders the elements),
Transpose (free: only the recorded permutation changes), Concat, Pad (constant, reflect), Identity, Dropout.
Softmax, LogSoftmax and ReduceMean, ReduceSum, ReduceMax, ReduceMin with axes remapped to NHWC.
"""

from __future__ import annotations

import numpy as np

from mcucompress.frontend.onnx_context import Importer, converter
from mcucompress.frontend.onnx_layout import (
    Value,
    after_transpose,
    const_to_layout,
    flat_order,
    identity,
    ir_axis,
    is_identity_order,
)
from mcucompress.ir import ops as irops
from mcucompress.ir import registry
from mcucompress.passes.hard_swish import HARD_SIGMOID, HardSigmoidAttrs

UNARY = {"Relu": "RELU", "Sigmoid": "LOGISTIC", "Tanh": "TANH", "HardSwish": "HARD_SWISH", "Abs": "ABS", "Sqrt": "SQRT",
         "Exp": "EXP", "Neg": "NEG"}
BINARY = {"Add": "ADD", "Sub": "SUB", "Mul": "MUL", "Div": "MUL", "Max": "MAXIMUM", "Min": "MINIMUM",
          "PRelu": "PRELU"}


def _same_layout_output(ctx: Importer, node, kind: str, attrs=None, quant_follows: bool = False) -> None:
    x = ctx.act(node.input[0])
    y = ctx.add_act(node.output[0], x.perm, x.order, quant_src=x if quant_follows else None)
    ctx.emit(kind, [x.name], [y.name], attrs)


# ---------------------------------------------------------------- activations
@converter(*UNARY)
def unary(ctx: Importer, node) -> None:
    _same_layout_output(ctx, node, UNARY[node.op_type])


@converter("LeakyRelu")
def leaky_relu(ctx: Importer, node) -> None:
    _same_layout_output(ctx, node, "LEAKY_RELU", irops.LeakyReluAttrs(float(np.float32(ctx.attr("alpha", 0.01)))))


@converter("Elu")
def elu(ctx: Importer, node) -> None:
    alpha = float(ctx.attr("alpha", 1.0))
    if alpha != 1.0:
        ctx.fail(f"Elu with alpha {alpha:g} is not supported; TFLite's ELU has alpha 1")
    _same_layout_output(ctx, node, "ELU")


@converter("HardSigmoid")
def hard_sigmoid(ctx: Importer, node) -> None:
    attrs = HardSigmoidAttrs(float(ctx.attr("alpha", 0.2)), float(ctx.attr("beta", 0.5)))
    _same_layout_output(ctx, node, HARD_SIGMOID, attrs)  # only x * HardSigmoid(x) survives the passes


@converter("Clip")
def clip(ctx: Importer, node) -> None:
    lo, hi = ctx.attr("min", -np.inf), ctx.attr("max", np.inf)  # attributes before opset 11, inputs after
    if ctx.inp(1):
        lo = float(ctx.const(ctx.inp(1), "min").reshape(-1)[0])
    if ctx.inp(2):
        hi = float(ctx.const(ctx.inp(2), "max").reshape(-1)[0])
    kinds = {(0.0, np.inf): "RELU", (0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1", (-np.inf, np.inf): "RESHAPE"}
    kind = kinds.get((float(lo), float(hi)))
    if kind is None:
        ctx.fail(f"Clip to [{lo:g}, {hi:g}] is not supported; only [0, inf) (ReLU), [0, 6] (ReLU6) and [-1, 1] "
                 "(fused into a preceding Conv/Gemm/Add) are")
    _same_layout_output(ctx, node, kind, quant_follows=kind == "RESHAPE")


@converter("Identity", "Dropout")
def identity_op(ctx: Importer, node) -> None:
    if len(node.output) > 1 and node.output[1]:
        ctx.fail("Dropout's mask output is not supported (inference only)")
    _same_layout_output(ctx, node, "RESHAPE", quant_follows=True)  # removed by passes.identity_removal


# ---------------------------------------------------------------- arithmetic
@converter(*BINARY)
def binary(ctx: Importer, node) -> None:
    if len(node.input) != 2:  # Max and Min are variadic in ONNX
        ctx.fail(f"{node.op_type} with {len(node.input)} inputs is not supported; only two are")
    a, b = node.input[0], node.input[1]
    out_shape = ctx.shape(node.output[0])
    acts = [n for n in (a, b) if not ctx.is_const(n)]
    lead = ctx.act(max(acts, key=lambda n: len(ctx.shape(n))))
    rank = len(lead.perm)
    if rank != len(out_shape):
        ctx.fail(f"broadcasting the activation to rank {len(out_shape)} is not supported")
    if node.op_type == "PRelu" and not ctx.is_const(b):
        ctx.fail("PRelu with a slope computed at run time is not supported; only a constant slope is")

    def operand(name: str, divisor: bool) -> str:
        if not ctx.is_const(name):
            if len(ctx.shape(name)) != rank:
                ctx.fail(f"operands of different ranks ({list(ctx.shape(a))}, {list(ctx.shape(b))}) are not supported")
            if ctx.qdq is not None:
                ctx.qdq.int8_input(ctx, name)
            return ctx.act_as(name, lead.perm, lead.order).name
        if ctx.qdq is not None:
            if divisor:
                ctx.fail("Div in a QDQ model is not supported")
            return ctx.qdq.operand(ctx, name, lambda c: const_to_layout(c, rank, lead.perm, lead.order))
        c = ctx.consts[name].astype(np.float32)
        return ctx.add_const(name, const_to_layout(np.float32(1) / c if divisor else c, rank, lead.perm, lead.order))

    if node.op_type == "Div" and not ctx.is_const(b):  # by an activation: DIV (float32)
        from mcucompress.frontend.onnx_ops_math import divide

        return divide(ctx, node, lead, [operand(a, False), operand(b, False)])
    ins = [operand(a, False), operand(b, node.op_type == "Div")]
    y = ctx.add_act(node.output[0], lead.perm, lead.order)
    kind = BINARY[node.op_type]
    ctx.emit(kind, ins, [y.name], registry.spec(kind).attrs())


# ---------------------------------------------------------------- layout
@converter("Concat")
def concat(ctx: Importer, node) -> None:
    lead = ctx.act(next(n for n in node.input if not ctx.is_const(n)))
    rank = len(lead.perm)
    axis = ctx.attr("axis") % rank
    orders = [None if ctx.is_const(n) else ctx.act(n).order for n in node.input]
    if any(o is not None for o in orders):
        if rank != 2 or axis != 1 or any(ctx.is_const(n) for n in node.input):
            ctx.fail("only feature-axis concatenation of flattened NCHW activations is supported")
        _concat_flat(ctx, node, orders)
        return
    ins = []
    for name in node.input:
        if ctx.is_const(name):
            layout = lambda c: const_to_layout(c, rank, lead.perm)
            ins.append(ctx.qdq.operand(ctx, name, layout) if ctx.qdq else ctx.add_const(name, layout(ctx.consts[name])))
        else:
            ins.append(ctx.act_as(name, lead.perm).name)
    y = ctx.add_act(node.output[0], lead.perm)
    ctx.emit("CONCATENATION", ins, [y.name], irops.ConcatenationAttrs(ir_axis(lead.perm, axis)))


def _concat_flat(ctx: Importer, node, orders) -> None:
    """[1, K1] ++ [1, K2] ++ ...: each part keeps its own column order, shifted by the columns before it."""
    parts, start = [], 0
    for name, order in zip(node.input, orders):
        k = ctx.shape(name)[1]
        parts.append((order if order is not None else np.arange(k)) + start)
        start += k
    ins = [ctx.act(n).name for n in node.input]
    y = ctx.add_act(node.output[0], (0, 1), order=np.concatenate(parts))
    ctx.emit("CONCATENATION", ins, [y.name], irops.ConcatenationAttrs(1))


@converter("Pad")
def pad(ctx: Importer, node) -> None:
    mode = ctx.attr("mode", "constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in ("constant", "reflect"):
        ctx.fail(f"mode '{mode}' is not supported; only constant (zero) and reflect padding are")
    x = ctx.act(node.input[0])
    rank = len(x.perm)
    pads = ctx.const(ctx.inp(1), "pads") if ctx.inp(1) else np.array(ctx.attr("pads"))
    value = ctx.const(ctx.inp(2), "constant_value") if ctx.inp(2) else np.zeros(1)
    if mode == "constant" and value.size and float(value.reshape(-1)[0]) != 0.0:
        ctx.fail(f"padding with {float(value.reshape(-1)[0]):g} is not supported; only zero padding is")
    axes = [int(a) % rank for a in ctx.const(ctx.inp(3), "axes")] if ctx.inp(3) else list(range(rank))
    begin, end = [0] * rank, [0] * rank
    for i, a in enumerate(axes):
        begin[a], end[a] = int(pads[i]), int(pads[len(axes) + i])
    if min(begin + end) < 0:
        ctx.fail("negative pads (cropping) are not supported")
    if x.order is not None and (begin[1] or end[1]):
        ctx.fail("padding a flattened NCHW tensor is not supported")
    y = ctx.add_act(node.output[0], x.perm, x.order, quant_src=x)
    pads = tuple((begin[p], end[p]) for p in x.perm)
    if mode == "reflect":
        ctx.emit("MIRROR_PAD", [x.name], [y.name], irops.MirrorPadAttrs(pads, "REFLECT"))
    else:
        ctx.emit("PAD", [x.name], [y.name], irops.PadAttrs(pads))


def _reshaped_shape(ctx: Importer, node, in_shape) -> tuple[int, ...]:
    """The ONNX output shape of Reshape / Flatten / Squeeze / Unsqueeze."""
    size = int(np.prod(in_shape, dtype=np.int64))
    if node.op_type == "Flatten":
        axis = ctx.attr("axis", 1) % (len(in_shape) + 1) if in_shape else 0
        return (int(np.prod(in_shape[:axis], dtype=np.int64)), int(np.prod(in_shape[axis:], dtype=np.int64)))
    if node.op_type == "Reshape":
        target = [int(d) for d in ctx.const(ctx.inp(1), "shape")]
        if not ctx.attr("allowzero", 0):
            target = [in_shape[i] if d == 0 else d for i, d in enumerate(target)]
        if -1 in target:
            known = int(np.prod([d for d in target if d != -1], dtype=np.int64))
            target[target.index(-1)] = size // known
        return tuple(target)
    axes = ctx.attr("axes")
    if axes is None and ctx.inp(1):
        axes = [int(a) for a in ctx.const(ctx.inp(1), "axes")]
    if node.op_type == "Squeeze":
        drop = {a % len(in_shape) for a in axes} if axes else {i for i, d in enumerate(in_shape) if d == 1}
        return tuple(d for i, d in enumerate(in_shape) if i not in drop)
    out_rank = len(in_shape) + len(axes)
    ones = {a % out_rank for a in axes}
    rest = iter(in_shape)
    return tuple(1 if i in ones else next(rest) for i in range(out_rank))


@converter("Reshape", "Flatten", "Squeeze", "Unsqueeze")
def reshape(ctx: Importer, node) -> None:
    x = ctx.act(node.input[0])
    in_shape = ctx.shape(node.input[0])
    out_shape = _reshaped_shape(ctx, node, in_shape)
    if int(np.prod(out_shape, dtype=np.int64)) != int(np.prod(in_shape, dtype=np.int64)):
        ctx.fail(f"cannot reshape {list(in_shape)} to {list(out_shape)}")
    idx = flat_order(in_shape, x.perm, x.order)
    if is_identity_order(idx):
        y = ctx.add_act(node.output[0], identity(len(out_shape)), shape=out_shape, quant_src=x)
    elif len(out_shape) == 2 and out_shape[0] == 1:
        # Flatten of an NCHW tensor: keep NHWC order, remember it; the consuming Gemm/MatMul permutes its weights.
        y = ctx.add_act(node.output[0], (0, 1), order=idx, shape=out_shape, quant_src=x)
    elif x.order is None:  # back to the ONNX element order first (a TRANSPOSE), then the plain reshape
        x = ctx.act_as(node.input[0], identity(len(in_shape)))
        y = ctx.add_act(node.output[0], identity(len(out_shape)), shape=out_shape, quant_src=x)
    else:
        ctx.fail(f"reshaping '{node.input[0]}' from {list(in_shape)} to {list(out_shape)} reorders elements of a "
                 "flattened NCHW tensor; flatten into a Gemm/MatMul instead")
    ctx.emit("RESHAPE", [x.name], [y.name])


@converter("Transpose")
def transpose(ctx: Importer, node) -> None:
    x = ctx.act(node.input[0])
    rank = len(x.perm)
    t = list(ctx.attr("perm", list(reversed(range(rank)))))
    if x.order is not None:
        ctx.fail("transposing a flattened NCHW tensor is not supported")
    # No data moves: the IR tensor stays, only the ONNX view of it changes.
    ctx.values[node.output[0]] = Value(x.name, after_transpose(x.perm, t))


# ---------------------------------------------------------------- softmax, reductions
@converter("Softmax", "LogSoftmax")
def softmax(ctx: Importer, node) -> None:
    x = ctx.act(node.input[0])
    shape = ctx.shape(node.input[0])
    rank = len(shape)
    axis = ctx.attr("axis", 1 if ctx.opset < 13 else -1) % rank
    if ctx.opset < 13:  # softmax over the flattened axis..end: fine when only one of those axes is not 1
        big = [a for a in range(axis, rank) if shape[a] > 1]
        if len(big) > 1:
            ctx.fail(f"softmax over several axes {list(range(axis, rank))} of shape {list(shape)} is not supported")
        axis = big[0] if big else rank - 1
    if ir_axis(x.perm, axis) != rank - 1:
        ctx.fail(f"softmax over ONNX axis {axis} is not the last axis in NHWC; only the channel/last axis is supported")
    if node.op_type == "LogSoftmax":
        _same_layout_output(ctx, node, "LOG_SOFTMAX")
    else:
        _same_layout_output(ctx, node, "SOFTMAX", irops.SoftmaxAttrs(1.0))


REDUCTIONS = {"ReduceMean": "MEAN", "ReduceSum": "SUM", "ReduceMax": "REDUCE_MAX", "ReduceMin": "REDUCE_MIN"}


@converter(*REDUCTIONS)
def reduce(ctx: Importer, node) -> None:
    x = ctx.act(node.input[0])
    rank = len(x.perm)
    axes = ctx.attr("axes")
    if axes is None and ctx.inp(1):
        axes = [int(a) for a in ctx.const(ctx.inp(1), "axes")]
    if not axes and ctx.attr("noop_with_empty_axes", 0):
        ctx.fail(f"{node.op_type} with no axes and noop_with_empty_axes=1 is not supported")
    axes = sorted({int(a) % rank for a in axes}) if axes else list(range(rank))
    if 0 in axes:
        ctx.fail("reducing over the batch axis is not supported")
    if x.order is not None:
        ctx.fail(f"{node.op_type} of a flattened NCHW tensor is not supported")
    keep = bool(ctx.attr("keepdims", 1))
    ir_axes = tuple(sorted(ir_axis(x.perm, a) for a in axes))
    if keep:
        perm = x.perm
    else:
        kept_onnx = [a for a in range(rank) if a not in axes]
        perm = tuple(kept_onnx.index(x.perm[i]) for i in range(rank) if i not in ir_axes)
    y = ctx.add_act(node.output[0], perm)
    ctx.emit(REDUCTIONS[node.op_type], [x.name], [y.name], irops.MeanAttrs(ir_axes, keep))
