"""ONNX converters for the ops with weights or windows: Conv, Gemm, MatMul, BatchNormalization, pools.

Weights are rearranged once at import to the IR's layouts: CONV_2D [O, kh, kw, I], DEPTHWISE_CONV_2D
[1, kh, kw, C*M], FULLY_CONNECTED [O, I] (columns permuted when the input is a flattened NCHW tensor).
"""

from __future__ import annotations

import numpy as np

from mcucompress.frontend.onnx_context import Importer, converter
from mcucompress.frontend.onnx_layout import NHWC, Value, const_to_layout
from mcucompress.ir import ops as irops


# ---------------------------------------------------------------- weights and biases (float or QDQ int8)
def weight_tensor(ctx: Importer, name: str, transform, onnx_axis: int, ir_axis: int, scale: float = 1.0,
                  symmetric: bool = True) -> str:
    """IR weights from ONNX weights `name`; `onnx_axis` is the output-channel axis before `transform`."""
    if ctx.qdq is not None:
        if scale != 1.0:
            ctx.fail(f"alpha={scale} on quantized weights is not supported")
        return ctx.qdq.weights(ctx, name, transform, onnx_axis, ir_axis, symmetric)
    w = ctx.const(name, "weights")
    if w.dtype != np.float32:
        ctx.fail(f"weights '{name}' are {w.dtype}; float32 weights or a QDQ model are supported")
    return ctx.add_const(name, transform(w) * np.float32(scale))


def bias_tensor(ctx: Importer, name: str, channels: int, x: Value, w_name: str, scale: float = 1.0) -> str:
    if ctx.qdq is not None:
        if scale != 1.0:
            ctx.fail(f"beta={scale} on a quantized bias is not supported")
        return ctx.qdq.bias(ctx, name, channels, x, w_name)
    if not name:
        return ctx.add_const(f"{w_name}_bias", np.zeros(channels, np.float32))
    b = ctx.const(name, "bias")
    if b.size not in (1, channels):
        ctx.fail(f"bias '{name}' has shape {list(b.shape)}; expected {channels} values")
    return ctx.add_const(name, np.broadcast_to(b.reshape(-1), (channels,)) * np.float32(scale))


def int8_checked(ctx: Importer, v: Value, name: str) -> Value:
    return ctx.qdq.int8_input(ctx, name) if ctx.qdq is not None else v


# ---------------------------------------------------------------- padding
def window_pads(ctx: Importer, in_hw, out_hw, kernel, strides, dilations) -> dict:
    """Explicit (top, bottom, left, right) pads from `pads` or `auto_pad`."""
    auto = ctx.attr("auto_pad", "NOTSET")
    if auto == "NOTSET":
        p = list(ctx.attr("pads", [0, 0, 0, 0]))
        if len(p) != 4 or min(p) < 0:
            ctx.fail(f"pads {p} are not supported; give 4 non-negative pads")
        return {"pad_top": p[0], "pad_bottom": p[2], "pad_left": p[1], "pad_right": p[3]}
    if auto == "VALID":
        return {"pad_top": 0, "pad_bottom": 0, "pad_left": 0, "pad_right": 0}
    before, after = [], []
    for i, o, k, s, d in zip(in_hw, out_hw, kernel, strides, dilations):
        total = max((o - 1) * s + (k - 1) * d + 1 - i, 0)
        small, big = total // 2, total - total // 2
        b, a = (small, big) if auto == "SAME_UPPER" else (big, small)
        before.append(b)
        after.append(a)
    return {"pad_top": before[0], "pad_bottom": after[0], "pad_left": before[1], "pad_right": after[1]}


def _spatial_attrs(ctx: Importer, node, kernel) -> tuple[list[int], list[int], dict]:
    strides = list(ctx.attr("strides", [1, 1]))
    dilations = list(ctx.attr("dilations", [1, 1]))
    in_hw = ctx.shape(node.input[0])[2:]
    out_hw = ctx.shape(node.output[0])[2:]
    return strides, dilations, window_pads(ctx, in_hw, out_hw, kernel, strides, dilations)


# ---------------------------------------------------------------- Conv
@converter("Conv")
def conv(ctx: Importer, node) -> None:
    x = int8_checked(ctx, ctx.spatial(node.input[0]), node.input[0])
    cin = ctx.shape(node.input[0])[1]
    cout, cin_g, kh, kw = ctx.shape(node.input[1])
    group = ctx.attr("group", 1)
    strides, dilations, pads = _spatial_attrs(ctx, node, (kh, kw))
    common = dict(stride_h=strides[0], stride_w=strides[1], dilation_h=dilations[0], dilation_w=dilations[1], **pads)
    if group == 1:
        kind, attrs, ir_axis = "CONV_2D", irops.Conv2DAttrs(**common), 0
        transform = lambda a: a.transpose(0, 2, 3, 1)
    elif group == cin and cin_g == 1 and cout % cin == 0:
        kind, ir_axis = "DEPTHWISE_CONV_2D", 3
        attrs = irops.DepthwiseConv2DAttrs(**common, depth_multiplier=cout // cin)
        transform = lambda a: a.transpose(1, 2, 3, 0)
    else:
        ctx.fail(f"grouped convolution (group={group}, {cin} input channels) is not supported; "
                 "only group=1 or depthwise (group = input channels) convolutions are")
    w = weight_tensor(ctx, node.input[1], transform, 0, ir_axis)
    b = bias_tensor(ctx, ctx.inp(2), cout, x, w)
    y = ctx.add_act(node.output[0], NHWC)
    ctx.emit(kind, [x.name, w, b], [y.name], attrs)


# ---------------------------------------------------------------- Gemm, MatMul
@converter("Gemm")
def gemm(ctx: Importer, node) -> None:
    if ctx.attr("transA", 0):
        ctx.fail("transA=1 is not supported; the first input must be the [batch, features] activation")
    x = ctx.act(node.input[0])
    if len(x.perm) != 2 or x.perm != (0, 1):
        ctx.fail(f"input '{node.input[0]}' must be a 2D [batch, features] tensor")
    x = int8_checked(ctx, x, node.input[0])
    trans_b = ctx.attr("transB", 0)
    if not ctx.is_const(node.input[1]):
        ctx.fail(f"B '{node.input[1]}' is not constant; only Gemm with constant weights is supported")
    n_out = ctx.shape(node.input[1])[0 if trans_b else 1]
    order = x.order

    def transform(b):
        w = b if trans_b else b.T
        return w[:, order] if order is not None else w

    alpha, beta = float(ctx.attr("alpha", 1.0)), float(ctx.attr("beta", 1.0))
    w = weight_tensor(ctx, node.input[1], transform, 0 if trans_b else 1, 0, scale=alpha, symmetric=False)
    c = ctx.inp(2)
    c_is_bias = not c or ctx.is_const(c) or c in ctx.qconsts
    b = bias_tensor(ctx, c if c_is_bias else "", n_out, x, w, scale=beta if c_is_bias else 1.0)
    if c_is_bias:
        y = ctx.add_act(node.output[0], (0, 1))
        ctx.emit("FULLY_CONNECTED", [x.name, w, b], [y.name], irops.FullyConnectedAttrs())
        return
    if beta != 1.0 or ctx.qdq is not None:
        ctx.fail(f"C '{c}' is not constant; only beta=1 with a float activation C is supported")
    cv = ctx.act_as(c, (0, 1))
    y = ctx.add_act(node.output[0], (0, 1))
    mid = ctx.tmp(f"{y.name}_matmul", ctx.graph.t(y.name).shape, ctx.graph.t(y.name))
    ctx.emit("FULLY_CONNECTED", [x.name, w, b], [mid], irops.FullyConnectedAttrs())
    ctx.emit("ADD", [mid, cv.name], [y.name], irops.ElementwiseAttrs())


@converter("MatMul")
def matmul(ctx: Importer, node) -> None:
    if not ctx.is_const(node.input[1]) or len(ctx.shape(node.input[1])) != 2:
        from mcucompress.frontend.onnx_ops_math import matmul_activations

        return matmul_activations(ctx, node)  # BATCH_MATMUL
    x = ctx.act(node.input[0])
    rank = len(x.perm)
    if rank < 2 or len(ctx.shape(node.input[1])) != 2:
        ctx.fail("only [..., K] x [K, N] with constant [K, N] weights is supported")
    if x.perm[-1] != rank - 1:
        ctx.fail(f"input '{node.input[0]}' does not have its ONNX last axis last in NHWC; that needs a TRANSPOSE")
    x = int8_checked(ctx, x, node.input[0])
    n_out = ctx.shape(node.input[1])[1]
    order = x.order

    def transform(b):
        w = b.T
        return w[:, order] if order is not None else w

    w = weight_tensor(ctx, node.input[1], transform, 1, 0, symmetric=False)
    b = bias_tensor(ctx, "", n_out, x, w)  # zeros; a following Add folds into it (passes.batchnorm_folding)
    y = ctx.add_act(node.output[0], x.perm)
    ctx.emit("FULLY_CONNECTED", [x.name, w, b], [y.name], irops.FullyConnectedAttrs(keep_num_dims=rank > 2))


# ---------------------------------------------------------------- BatchNormalization
@converter("BatchNormalization")
def batch_norm(ctx: Importer, node) -> None:
    if ctx.qdq is not None:
        ctx.fail("BatchNormalization in a QDQ model is not supported; fold it into the preceding Conv before "
                 "quantizing (onnxruntime.quantization.quant_pre_process)")
    if ctx.attr("training_mode", 0) or len([o for o in node.output if o]) > 1:
        ctx.fail("training-mode BatchNormalization is not supported; export the model in eval mode")
    x = ctx.act(node.input[0])
    gamma, beta, mean, var = (ctx.const(node.input[i], "BatchNormalization parameter").astype(np.float64)
                              for i in range(1, 5))
    s = gamma / np.sqrt(var + float(ctx.attr("epsilon", 1e-5)))
    t = beta - mean * s
    rank = len(x.perm)
    bshape = (1, s.size) + (1,) * (rank - 2)  # channels are ONNX axis 1
    s_c = ctx.add_const(f"{node.output[0]}_bn_scale", const_to_layout(s.reshape(bshape), rank, x.perm, x.order))
    t_c = ctx.add_const(f"{node.output[0]}_bn_shift", const_to_layout(t.reshape(bshape), rank, x.perm, x.order))
    y = ctx.add_act(node.output[0], x.perm, x.order)
    mid = ctx.tmp(f"{y.name}_scaled", ctx.graph.t(y.name).shape, ctx.graph.t(y.name))
    ctx.emit("MUL", [x.name, s_c], [mid], irops.ElementwiseAttrs())
    ctx.emit("ADD", [mid, t_c], [y.name], irops.ElementwiseAttrs())


# ---------------------------------------------------------------- pools
@converter("MaxPool", "AveragePool")
def pool(ctx: Importer, node) -> None:
    x = ctx.spatial(node.input[0])
    if ctx.attr("ceil_mode", 0):
        ctx.fail("ceil_mode=1 is not supported; export with ceil_mode=0 (floor)")
    if any(d != 1 for d in ctx.attr("dilations", [1, 1])):
        ctx.fail("dilated pooling is not supported")
    if len(node.output) > 1 and node.output[1]:
        ctx.fail("MaxPool's indices output is not supported")
    kernel = list(ctx.attr("kernel_shape"))
    strides, _, pads = _spatial_attrs(ctx, node, kernel)
    kind = "MAX_POOL_2D" if node.op_type == "MaxPool" else "AVERAGE_POOL_2D"
    y = ctx.add_act(node.output[0], NHWC, quant_src=x)
    src = x.name
    if kind == "AVERAGE_POOL_2D" and ctx.attr("count_include_pad", 0) and any(pads.values()):
        # Padded zeros count in the average: pad explicitly, then pool without padding.
        t = ctx.graph.t(x.name)
        h = t.shape[1] + pads["pad_top"] + pads["pad_bottom"]
        w = t.shape[2] + pads["pad_left"] + pads["pad_right"]
        src = ctx.tmp(f"{x.name}_padded", (t.shape[0], h, w, t.shape[3]), t)
        paddings = ((0, 0), (pads["pad_top"], pads["pad_bottom"]), (pads["pad_left"], pads["pad_right"]), (0, 0))
        ctx.emit("PAD", [x.name], [src], irops.PadAttrs(paddings))
        pads = {k: 0 for k in pads}
    attrs = irops.Pool2DAttrs(kernel[0], kernel[1], strides[0], strides[1], pads["pad_top"], pads["pad_bottom"],
                              pads["pad_left"], pads["pad_right"])
    ctx.emit(kind, [src], [y.name], attrs)


@converter("GlobalAveragePool")
def global_average_pool(ctx: Importer, node) -> None:
    x = ctx.spatial(node.input[0])
    y = ctx.add_act(node.output[0], NHWC)
    ctx.emit("MEAN", [x.name], [y.name], irops.MeanAttrs((1, 2), keep_dims=True))


@converter("GlobalMaxPool")
def global_max_pool(ctx: Importer, node) -> None:
    x = ctx.spatial(node.input[0])
    _, _, h, w = ctx.shape(node.input[0])
    y = ctx.add_act(node.output[0], NHWC, quant_src=x)
    ctx.emit("MAX_POOL_2D", [x.name], [y.name], irops.Pool2DAttrs(h, w, h, w))
