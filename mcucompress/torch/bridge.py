"""Float IR graph <-> trainable PyTorch module, with the same numbers as our float reference executor.

`GraphModule(graph)` runs the graph's ops in order on NHWC activations (the IR's layout, kept at the
boundary). Convolutions go through torch with a permute to NCHW that is free for NHWC-contiguous tensors
(torch sees them as channels-last); padding is the explicit (top, bottom, left, right) the IR stores,
clipped exactly as the reference executor clips it. The weights and biases of CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED and TRANSPOSE_CONV are nn.Parameters kept in the IR's own layout (OHWI, 1HWC, [out, in]), so pruning
masks computed on the IR apply to them unchanged; other constants are buffers.

`module.to_graph()` returns the graph with the trained weights (masked weights written as exact zeros):
same structure, same tensor names, ready for the quantizer or the TFLite writer. Optional hooks let
mcucompress.torch.qat fake-quantize activations and weights in the forward pass.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mcucompress.errors import GraphError, UnsupportedOpError
from mcucompress.ir import Graph, Op

WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")  # weight_ops(): what pruning and its masks cover
TRAINABLE = (*WEIGHTED, "TRANSPOSE_CONV")  # weights and biases that are nn.Parameters
_ACT_RANGE = {"NONE": None, "RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def _act(x: torch.Tensor, activation: str) -> torch.Tensor:
    r = _ACT_RANGE[activation]
    if r is None:
        return x
    return torch.clamp(x, r[0], r[1]) if r[1] is not None else torch.relu(x)


def _key(name: str, taken: set[str]) -> str:
    """A ParameterDict key (no dots) for tensor `name`, unique among `taken`."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "t"
    key, i = base, 1
    while key in taken:
        key, i = f"{base}_{i}", i + 1
    taken.add(key)
    return key


def _window_pads(in_hw, out_hw, k_hw, stride_hw, dil_hw, top: int, left: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) as the reference executor pads: the stored top/left, and bottom/right just
    large enough for the last window (the IR's bottom/right beyond that are never read)."""
    need = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(out_hw, stride_hw, k_hw, dil_hw)]
    bottom = max(need[0] - in_hw[0] - top, 0)
    right = max(need[1] - in_hw[1] - left, 0)
    return left, right, top, bottom


class GraphModule(nn.Module):
    """A float32 IR graph as a torch module; inputs and outputs in the graph's shapes (NHWC), any batch size.

    input_layout 'NCHW' takes (and returns, for 4D outputs) channel-first tensors, for models that came
    from PyTorch; the graph itself stays NHWC."""

    def __init__(self, graph: Graph, input_layout: str = "NHWC"):
        super().__init__()
        bad = [n for n in graph.inputs + graph.outputs if graph.t(n).dtype != "float32"]
        if bad:
            raise GraphError(f"model '{graph.name}': tensor '{bad[0]}' is {graph.t(bad[0]).dtype}; the PyTorch bridge "
                             "takes float32 models (train the float model, then quantize or use QAT)")
        for i, op in enumerate(graph.ops):
            if op.kind not in _FORWARD:
                raise UnsupportedOpError(f"op {i} ({op.kind}, '{op.name}') has no PyTorch equivalent in the bridge; "
                                         f"supported: {', '.join(sorted(_FORWARD))}")
        if input_layout not in ("NHWC", "NCHW"):
            raise ValueError(f"input_layout must be 'NHWC' or 'NCHW', not {input_layout!r}")
        self.graph = copy.deepcopy(graph)
        self.input_layout = input_layout
        self.params = nn.ParameterDict()
        self.key: dict[str, str] = {}  # tensor name -> key in self.params or a buffer name
        taken: set[str] = set()
        trainable = {n for op in graph.ops if op.kind in TRAINABLE for n in op.inputs[1:3] if n}
        for name, t in graph.tensors.items():
            if not t.is_const:
                continue
            key = _key(name, taken)
            self.key[name] = key
            value = torch.from_numpy(np.array(t.data))
            if name in trainable and t.dtype == "float32":
                self.params[key] = nn.Parameter(value)
            else:
                self.register_buffer("c_" + key, value, persistent=True)
        self.masks: dict[str, torch.Tensor] = {}  # weight tensor name -> bool mask (True = kept)
        self.straight_through: set[str] = set()  # masked weights whose gradient passes the mask (SR-STE)
        self.fake_quant = None  # set by mcucompress.torch.qat: .act(name, x) and .weight(op, w, b)
        self.capture = None  # a dict to record every activation in (name -> tensor), for observers and tests
        self.norms = nn.ModuleDict()  # BatchNorm2d per convolution during training (mcucompress.torch.batchnorm)
        self.norm_keys = {op.outputs[0]: f"op{i}" for i, op in enumerate(graph.ops)}
        self.weight_op = {op.inputs[1]: op for op in graph.ops if op.kind in WEIGHTED}
        self.preact = None  # a dict to record convolution outputs before BatchNorm and activation in (NCHW)
        last = graph.producer(graph.outputs[0])
        self.logits_name = last.inputs[0] if last is not None and last.kind == "SOFTMAX" else graph.outputs[0]

    # -- parameters ---------------------------------------------------------------------------------------
    def const(self, name: str) -> torch.Tensor:
        key = self.key[name]
        if key in self.params:
            p = self.params[key]
            m = self.masks.get(name)
            if m is None:
                return p
            return p + (p * m - p).detach() if name in self.straight_through else p * m
        return getattr(self, "c_" + key)

    def weight_ops(self) -> list[Op]:
        return [op for op in self.graph.ops if op.kind in WEIGHTED]

    def param(self, name: str) -> nn.Parameter:
        return self.params[self.key[name]]

    def set_mask(self, name: str, mask: np.ndarray | torch.Tensor | None) -> None:
        """Keep only the True entries of weight `name` (None removes the mask); zeroes the rest in place."""
        p = self.param(name)
        if mask is None:
            self.masks.pop(name, None)
            return
        m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask, dtype=p.dtype,
                            device=p.device)
        if m.shape != p.shape:
            raise GraphError(f"mask for '{name}' has shape {tuple(m.shape)}, the weight {tuple(p.shape)}")
        self.masks[name] = m
        with torch.no_grad():
            p.mul_(m)

    def norm_key(self, op: Op) -> str:
        return self.norm_keys[op.outputs[0]]

    def normalize(self, op: Op, y: torch.Tensor) -> torch.Tensor:
        """A convolution's NCHW output through its BatchNorm, if it has one (recorded first when asked)."""
        if self.preact is not None:
            self.preact[op.outputs[0]] = y
        key = self.norm_key(op)
        return self.norms[key](y) if key in self.norms else y

    def folded_weight(self, name: str) -> torch.Tensor:
        """Weight `name` as the exported graph will hold it (its convolution's BatchNorm scale folded in, when it
        has one): what magnitude pruning ranks, since BatchNorm makes each output channel's raw scale arbitrary."""
        from mcucompress.torch.batchnorm import fold_scale

        w = self.param(name)
        op = self.weight_op.get(name)
        key = self.norm_key(op) if op is not None else None
        return w * fold_scale(self.norms[key], op) if key in self.norms else w

    def to_graph(self) -> Graph:
        """The graph with the current weights (masked entries exact zeros, BatchNorm folded), as a new float32
        Graph."""
        from mcucompress.torch.batchnorm import folded

        g = copy.deepcopy(self.graph)
        with torch.no_grad():
            values = {name: self.const(name) for name, key in self.key.items() if key in self.params}
            for op in g.ops:
                key = self.norm_key(op)
                if key in self.norms:
                    w, b = op.inputs[1], op.inputs[2]
                    values[w], values[b] = folded(self.norms[key], op, values[w], values[b])
            for name, v in values.items():
                g.t(name).data = v.detach().cpu().numpy().astype(np.float32).reshape(g.t(name).shape)
        return g

    # -- forward ------------------------------------------------------------------------------------------
    def forward(self, *inputs: torch.Tensor, logits: bool = False):
        """The graph's outputs; logits=True stops before a final SOFTMAX and returns its input."""
        g = self.graph
        values: dict[str, torch.Tensor] = {}
        fq = self.fake_quant
        for name, x in zip(g.inputs, inputs):
            shape = g.t(name).shape
            if self.input_layout == "NCHW" and len(shape) == 4:
                x = x.permute(0, 2, 3, 1)
            x = x.reshape((-1,) + tuple(shape[1:])).float()
            values[name] = fq.act(name, x) if fq is not None else x
            if self.capture is not None:
                self.capture[name] = x
        stop = self.logits_name if logits else None
        if stop in values:  # a graph that is only a SOFTMAX: its logits are the input
            return values[stop]
        for op in g.ops:
            xs = [(values[n] if n in values else self.const(n)) if n else None for n in op.inputs]
            y = _FORWARD[op.kind](self, op, xs)
            out = op.outputs[0]
            y = y.reshape((-1,) + tuple(g.t(out).shape[1:]))
            if fq is not None and g.t(out).dtype == "float32":  # the logits too (int8 in the int8 model)
                y = fq.act(out, y)
            values[out] = y
            if self.capture is not None:
                self.capture[out] = y
            if out == stop:
                return y
        outs = []
        for name in g.outputs:
            y = values[name]
            if self.input_layout == "NCHW" and y.dim() == 4:
                y = y.permute(0, 3, 1, 2)
            outs.append(y)
        return outs[0] if len(outs) == 1 else tuple(outs)


# -- op implementations (module, op, inputs) -> pre-reshape output -----------------------------------------
def _out_shape(m: GraphModule, op: Op) -> tuple[int, ...]:
    return m.graph.t(op.outputs[0]).shape


def _weighted(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    x, w = xs[0], xs[1]
    b = xs[2] if len(xs) > 2 else None
    if m.fake_quant is not None:
        w, b = m.fake_quant.weight(op, w, b)
    a = op.attrs
    if op.kind == "FULLY_CONNECTED":
        y = F.linear(x.reshape(-1, w.shape[1]), w, b)
        return _act(y, a.activation)
    _, oh, ow, _ = _out_shape(m, op)
    kh, kw = w.shape[1], w.shape[2]
    pads = _window_pads(x.shape[1:3], (oh, ow), (kh, kw), (a.stride_h, a.stride_w), (a.dilation_h, a.dilation_w),
                        a.pad_top, a.pad_left)
    xc = F.pad(x.permute(0, 3, 1, 2), pads)
    if op.kind == "CONV_2D":
        y = F.conv2d(xc, w.permute(0, 3, 1, 2), b, (a.stride_h, a.stride_w), 0, (a.dilation_h, a.dilation_w))
    else:  # depthwise: IR weight [1, kh, kw, C*M] -> torch [C*M, 1, kh, kw], one group per input channel
        y = F.conv2d(xc, w.permute(3, 0, 1, 2), b, (a.stride_h, a.stride_w), 0, (a.dilation_h, a.dilation_w),
                     groups=x.shape[3])
    return _act(m.normalize(op, y[:, :, :oh, :ow]).permute(0, 2, 3, 1), a.activation)


def _transpose_conv(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    """The full scatter (F.conv_transpose2d, IR weights [O, kh, kw, I] -> torch [I, O, kh, kw]), zero rows and
    columns appended where a negative pad_bottom / pad_right asks for more, cropped from the top/left pads."""
    x, w = xs[0], xs[1]
    b = xs[2] if len(xs) > 2 else None
    if m.fake_quant is not None:
        w, b = m.fake_quant.weight(op, w, b)
    a = op.attrs
    _, oh, ow, _ = _out_shape(m, op)
    y = F.conv_transpose2d(x.permute(0, 3, 1, 2), w.permute(3, 0, 1, 2), None, (a.stride_h, a.stride_w))
    y = F.pad(y, (0, max(a.pad_left + ow - y.shape[3], 0), 0, max(a.pad_top + oh - y.shape[2], 0)))
    y = y[:, :, a.pad_top:a.pad_top + oh, a.pad_left:a.pad_left + ow].permute(0, 2, 3, 1)
    return _act(y + b if b is not None else y, a.activation)


def _pool(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    x = xs[0]
    a = op.attrs
    _, oh, ow, _ = _out_shape(m, op)
    pads = _window_pads(x.shape[1:3], (oh, ow), (a.filter_h, a.filter_w), (a.stride_h, a.stride_w), (1, 1),
                        a.pad_top, a.pad_left)
    xc = x.permute(0, 3, 1, 2)
    k, s = (a.filter_h, a.filter_w), (a.stride_h, a.stride_w)
    if op.kind == "MAX_POOL_2D":
        y = F.max_pool2d(F.pad(xc, pads, value=-float("inf")), k, s)
    else:  # padding never counts: divide the window sums by the number of taps inside the input
        ones = torch.ones((1, 1) + tuple(x.shape[1:3]), dtype=x.dtype, device=x.device)
        y = F.avg_pool2d(F.pad(xc, pads), k, s) / F.avg_pool2d(F.pad(ones, pads), k, s)
    return _act(y[:, :, :oh, :ow].permute(0, 2, 3, 1), a.activation)


def _mean(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    """MEAN, SUM, REDUCE_MAX, REDUCE_MIN."""
    x = xs[0]
    axes = tuple(sorted({ax % x.dim() for ax in op.attrs.axes}))
    fn = {"MEAN": torch.mean, "SUM": torch.sum, "REDUCE_MAX": torch.amax, "REDUCE_MIN": torch.amin}[op.kind]
    return fn(x, dim=axes, keepdim=op.attrs.keep_dims)


def _binary(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    a, b = xs
    y = {"ADD": torch.add, "SUB": torch.sub, "MUL": torch.mul}[op.kind](a.float(), b.float())
    return _act(y, op.attrs.activation)


def _binary_math(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    """MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, PRELU (input 1 is alpha): no fused activation."""
    a, b = (x.float() for x in xs)
    if op.kind == "PRELU":
        return torch.where(a >= 0, a, a * b)
    return {"MAXIMUM": torch.maximum, "MINIMUM": torch.minimum, "SQUARED_DIFFERENCE": lambda p, q: (p - q) ** 2}[
        op.kind](a, b)


def _softmax(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    return torch.softmax(xs[0] * op.attrs.beta, dim=-1)


def _reshape(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    return xs[0].reshape((-1,) + tuple(_out_shape(m, op)[1:]))


def _pad(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    flat = [p for pair in reversed(op.attrs.paddings) for p in pair]  # F.pad lists the last axis first
    return F.pad(xs[0], flat)


def _concat(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    return _act(torch.cat(xs, dim=op.attrs.axis), op.attrs.activation)


def _unary(fn):
    return lambda m, op, xs: fn(xs[0], op)


def _batch_matmul(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    """Samples as a leading axis in front of each operand's IR shape (constants have none); ranks aligned so
    that torch.matmul broadcasts the IR's batch axes only."""
    shapes = [tuple(m.graph.t(n).shape) for n in op.inputs[:2]]
    rank = max(len(s) for s in shapes)
    ops = []
    for x, shape, name in zip(xs, shapes, op.inputs):
        padded = (1,) * (rank - len(shape)) + shape
        if m.graph.t(name).is_const:
            ops.append(x.float().reshape(padded))
        else:
            ops.append(x.float().reshape((-1, *padded)))
    a, b = (t.transpose(-1, -2) if adj else t for t, adj in zip(ops, (op.attrs.adj_x, op.attrs.adj_y)))
    return torch.matmul(a, b).reshape((-1,) + tuple(_out_shape(m, op)[1:]))


def _index_map(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    """TILE, GATHER_ND, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND: the op's index map (mcucompress.ir.index_maps) per
    sample; a padded map's -1 reads an appended zero."""
    from mcucompress.ir.index_maps import PADDED, index_maps

    in_shape = m.graph.t(op.inputs[0]).shape
    idx = index_maps(op.kind, op.attrs, in_shape, [_out_shape(m, op)])[0]
    flat = xs[0].reshape(-1, int(np.prod(in_shape)))
    if op.kind in PADDED:
        flat = F.pad(flat, (0, 1))
    y = flat[:, torch.as_tensor(idx.reshape(-1).astype(np.int64), device=flat.device)]
    return y.reshape((-1,) + tuple(idx.shape[1:]))


def _cumsum(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    a, x = op.attrs, xs[0]
    axis = a.axis % x.dim()
    if a.reverse:
        x = torch.flip(x, [axis])
    y = torch.cumsum(x, dim=axis)
    if a.exclusive:
        y = y - x
    return torch.flip(y, [axis]) if a.reverse else y


def _l2_pool(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    """sqrt of the mean square over the window's taps inside the input (padding never counts)."""
    a, x = op.attrs, xs[0]
    _, oh, ow, _ = _out_shape(m, op)
    pads = _window_pads(x.shape[1:3], (oh, ow), (a.filter_h, a.filter_w), (a.stride_h, a.stride_w), (1, 1),
                        a.pad_top, a.pad_left)
    k, s = (a.filter_h, a.filter_w), (a.stride_h, a.stride_w)
    ones = torch.ones((1, 1) + tuple(x.shape[1:3]), dtype=x.dtype, device=x.device)
    y = F.avg_pool2d(F.pad((x * x).permute(0, 3, 1, 2), pads), k, s) / F.avg_pool2d(F.pad(ones, pads), k, s)
    return _act(torch.sqrt(y[:, :, :oh, :ow]).permute(0, 2, 3, 1), a.activation)


_FORWARD = {
    "CONV_2D": _weighted,
    "DEPTHWISE_CONV_2D": _weighted,
    "FULLY_CONNECTED": _weighted,
    "AVERAGE_POOL_2D": _pool,
    "MAX_POOL_2D": _pool,
    "MEAN": _mean,
    "SUM": _mean,
    "REDUCE_MAX": _mean,
    "REDUCE_MIN": _mean,
    "ADD": _binary,
    "SUB": _binary,
    "MUL": _binary,
    "SOFTMAX": _softmax,
    "RESHAPE": _reshape,
    "PAD": _pad,
    "CONCATENATION": _concat,
    "RELU": _unary(lambda x, op: torch.relu(x)),
    "RELU6": _unary(lambda x, op: torch.clamp(x, 0.0, 6.0)),
    "LOGISTIC": _unary(lambda x, op: torch.sigmoid(x)),
    "TANH": _unary(lambda x, op: torch.tanh(x)),
    "LEAKY_RELU": _unary(lambda x, op: F.leaky_relu(x, op.attrs.alpha)),
    "HARD_SWISH": _unary(lambda x, op: x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0),
    "MAXIMUM": _binary_math,
    "MINIMUM": _binary_math,
    "SQUARED_DIFFERENCE": _binary_math,
    "PRELU": _binary_math,
    "ABS": _unary(lambda x, op: torch.abs(x)),
    "NEG": _unary(lambda x, op: -x),
    "ELU": _unary(lambda x, op: F.elu(x)),
    "SQRT": _unary(lambda x, op: torch.sqrt(x)),
    "RSQRT": _unary(lambda x, op: torch.rsqrt(x)),
    "EXP": _unary(lambda x, op: torch.exp(x)),
    "LOG_SOFTMAX": _unary(lambda x, op: torch.log_softmax(x, dim=-1)),
    "BATCH_MATMUL": _batch_matmul,
    "DIV": lambda m, op, xs: _act(xs[0].float() / xs[1].float(), op.attrs.activation),
    "GELU": _unary(lambda x, op: F.gelu(x, approximate="tanh" if op.attrs.approximate else "none")),
    "L2_NORMALIZATION": _unary(lambda x, op: x / torch.clamp(torch.linalg.vector_norm(x, dim=-1, keepdim=True),
                                                             min=1e-6)),
    **{k: _index_map for k in ("TILE", "GATHER_ND", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")},
    "ADD_N": lambda m, op, xs: torch.stack([x.float() for x in torch.broadcast_tensors(*xs)]).sum(0),
    "CUMSUM": _cumsum,
    "L2_POOL_2D": _l2_pool,
    "LOG": _unary(lambda x, op: torch.log(x)),
    "TRANSPOSE_CONV": _transpose_conv,
}


def _fill(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    """One value per sample, repeated over the output's shape."""
    shape = _out_shape(m, op)
    v = xs[0].reshape(-1)
    return v.reshape((-1,) + (1,) * (len(shape) - 1)).expand((len(v),) + tuple(shape[1:]))


# Ops with int32 / bool tensors: the comparisons and ARG_MAX/ARG_MIN have no gradient (their outputs are
# integers), SELECT_V2 passes gradients to the value it picks; the forward values equal the reference executor's.
_COMPARE = {"EQUAL": torch.eq, "NOT_EQUAL": torch.ne, "LESS": torch.lt, "LESS_EQUAL": torch.le,
            "GREATER": torch.gt, "GREATER_EQUAL": torch.ge}


def _compare(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    return _COMPARE[op.kind](xs[0], xs[1])


_FORWARD.update({
    **dict.fromkeys(_COMPARE, _compare),
    "SELECT_V2": lambda m, op, xs: torch.where(xs[0].bool(), xs[1], xs[2]),
    "ARG_MAX": lambda m, op, xs: torch.argmax(xs[0], dim=op.attrs.axis),
    "ARG_MIN": lambda m, op, xs: torch.argmin(xs[0], dim=op.attrs.axis),
    "ZEROS_LIKE": lambda m, op, xs: torch.zeros_like(xs[0]),
    "FILL": _fill,
})


def _resize(m: GraphModule, op: Op, xs: list) -> torch.Tensor:
    """RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR: the reference's per-axis tables (ir/resize.py) as gathers."""
    from mcucompress.ir import resize

    x, a = xs[0], op.attrs
    (h, w), (oh, ow), flags = x.shape[1:3], a.size, (a.align_corners, a.half_pixel_centers)

    def idx(v):
        return torch.as_tensor(np.asarray(v), dtype=torch.long, device=x.device)

    if op.kind == "RESIZE_NEAREST_NEIGHBOR":
        return x[:, idx(resize.nearest_sources(h, oh, *flags))][:, :, idx(resize.nearest_sources(w, ow, *flags))]
    y0, y1, fy = resize.bilinear_float_tables(h, oh, *flags)
    x0, x1, fx = resize.bilinear_float_tables(w, ow, *flags)
    fy = torch.as_tensor(fy, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    fx = torch.as_tensor(fx, dtype=x.dtype, device=x.device).view(1, 1, -1, 1)
    rows = x[:, idx(y0)] * (1 - fy) + x[:, idx(y1)] * fy
    return rows[:, :, idx(x0)] * (1 - fx) + rows[:, :, idx(x1)] * fx


_FORWARD.update({"RESIZE_NEAREST_NEIGHBOR": _resize, "RESIZE_BILINEAR": _resize})

def from_graph(graph: Graph, input_layout: str = "NHWC") -> GraphModule:
    """A trainable module computing `graph` (float32)."""
    return GraphModule(graph, input_layout)


def to_graph(module: GraphModule) -> Graph:
    """The module's graph with its trained weights."""
    return module.to_graph()
