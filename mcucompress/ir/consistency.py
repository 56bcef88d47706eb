"""Prove a graph self-consistent before anything runs on it: every op's shapes, dtypes, attributes and sizes.

A model file is untrusted input to a code generator whose output runs on a device. The executor, the
memory planner and the C kernels trust the shapes they are given (a FULLY_CONNECTED whose output is
wider than its weights would write past its output buffer), so each op's output shape is recomputed
here from its inputs and attributes and must equal the stored one exactly; weights, biases, axes,
strides, paddings and activation codes must be in range; no tensor may be larger than a
microcontroller model could ever hold. Every violation is one GraphError naming the op or tensor.
"""

from __future__ import annotations

import math

import numpy as np

from mcucompress.errors import GraphError
from mcucompress.ir import consistency_recurrent, resize
from mcucompress.ir import consistency_typed as typed
from mcucompress.ir.graph import Graph
from mcucompress.ir.index_maps import MOVEMENT_KINDS, MULTI_OUTPUT, index_maps
from mcucompress.ir.ops import ACTIVATIONS, Op

MAX_RANK = 6
MAX_ELEMENTS = 1 << 24  # per tensor: 16 MiB of int8, beyond the flash and RAM of any microcontroller
FIX = "the model file is inconsistent; re-export it"

SAME_SHAPE = {"LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH", "QUANTIZE", "DEQUANTIZE", "SOFTMAX",
              "ABS", "ELU", "RSQRT", "SQRT", "EXP", "L2_NORMALIZATION",
              "LOG_SOFTMAX", "NEG", "GELU", "LOG", "LOOKUP"}
ARITY = {  # kind -> (min inputs, max inputs); every op has exactly one output
    "CONV_2D": (2, 3), "DEPTHWISE_CONV_2D": (2, 3), "FULLY_CONNECTED": (2, 3), "AVERAGE_POOL_2D": (1, 1),
    "MAX_POOL_2D": (1, 1), "MEAN": (1, 1), "SUM": (1, 1), "REDUCE_MAX": (1, 1),
    "REDUCE_MIN": (1, 1), "ADD": (2, 2), "SUB": (2, 2), "MUL": (2, 2), "MAXIMUM": (2, 2),
    "MINIMUM": (2, 2), "SQUARED_DIFFERENCE": (2, 2), "PRELU": (2, 2), "RESHAPE": (1, 1),
    "PAD": (1, 1), "CONCATENATION": (1, 64), **{k: (1, 1) for k in SAME_SHAPE},
    **{k: (1, 1) for k in MOVEMENT_KINDS}, "PACK": (1, 64),
    **typed.TYPED_ARITY,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (1, 24), "SVDF": (1, 5),  # optional operands "": their rules count
    "BATCH_MATMUL": (2, 2), "DIV": (2, 2),
    "ADD_N": (2, 64), "CUMSUM": (1, 1), "L2_POOL_2D": (1, 1),
    "TRANSPOSE_CONV": (2, 3),
}
# two activation-or-constant operands
BROADCAST_BINARY = ("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "DIV")
TWO_OPERANDS = (*BROADCAST_BINARY, "BATCH_MATMUL")  # either operand may be the activation
NUMERIC = {"int8", "int16", "float32"}  # dtypes the compute ops run in (int16: the 16x8 ops, constraints_int16)


def check_size(shape, what: str, error=GraphError) -> None:
    """`shape` has rank <= MAX_RANK, positive dimensions and at most MAX_ELEMENTS elements."""
    if len(shape) > MAX_RANK:
        raise error(f"{what} has rank {len(shape)}; at most {MAX_RANK} is supported")
    if any(int(d) <= 0 for d in shape):
        raise error(f"{what} has a non-positive dimension in shape {list(shape)}; fix the model's shapes")
    if math.prod(int(d) for d in shape) > MAX_ELEMENTS:
        raise error(f"{what} has shape {list(shape)}: more than {MAX_ELEMENTS:,} elements (2^24), too large for a "
                    "microcontroller; fix the model's shapes")


def check_tensor(t) -> None:
    """Size, constant data and quantization of one tensor."""
    check_size(t.shape, f"tensor '{t.name}'")
    if t.data is not None and t.data.dtype.kind == "f" and not np.isfinite(t.data).all():
        raise GraphError(f"constant tensor '{t.name}' holds NaN or infinite values; {FIX}")
    q = t.quant
    if q is None:
        return
    if q.scale.size != q.zero_point.size:
        raise GraphError(f"tensor '{t.name}': {q.scale.size} scales but {q.zero_point.size} zero points; {FIX}")
    # A scalar may carry axis 0 with one scale; per-axis scales need the axis inside the shape.
    if q.axis is not None and not 0 <= q.axis < (len(t.shape) if q.per_axis else max(len(t.shape), 1)):
        raise GraphError(f"tensor '{t.name}': quantized dimension {q.axis} is outside its rank {len(t.shape)}; {FIX}")
    if q.per_axis and t.shape[q.axis] != q.scale.size:
        raise GraphError(f"tensor '{t.name}': {q.scale.size} per-axis scales do not match axis {q.axis} of shape "
                         f"{list(t.shape)}; {FIX}")
    if not q.per_axis and q.scale.size != 1:
        raise GraphError(f"tensor '{t.name}': {q.scale.size} scales without a quantized dimension; {FIX}")
    if not np.isfinite(q.scale).all() or (t.dtype != "int32" and (q.scale <= 0).any()):
        raise GraphError(f"tensor '{t.name}': scales must be finite and positive; {FIX}")
    if t.dtype == "int8" and ((q.zero_point < -128) | (q.zero_point > 127)).any():
        raise GraphError(f"tensor '{t.name}': int8 zero point outside [-128, 127]; {FIX}")
    if t.dtype in ("int32", "int16") and (q.zero_point != 0).any():
        raise GraphError(f"tensor '{t.name}': {t.dtype} zero point must be 0; {FIX}")


def check_op(graph: Graph, op: Op) -> None:
    """Arity, dtypes, attributes and the output shape of one op of a known kind."""
    where = f"op '{op.name}' ({op.kind})"
    lo, hi = ARITY[op.kind]
    required = [n for n in op.inputs[:lo]]
    outputs_ok = (len(op.outputs) >= 1 if op.kind in MULTI_OUTPUT else len(op.outputs) == 1) and all(op.outputs)
    if not lo <= len(op.inputs) <= hi or not all(required) or not outputs_ok:
        raise GraphError(f"{where}: {len(op.inputs)} inputs ({', '.join(map(repr, op.inputs))}) and "
                         f"{len(op.outputs)} outputs; it takes {lo} to {hi} inputs and "
                         f"{'one or more outputs' if op.kind in MULTI_OUTPUT else 'one output'}; {FIX}")
    if op.kind in MULTI_OUTPUT:
        _check_movement_outputs(graph, where, op)
    ins = [graph.t(n) if n else None for n in op.inputs]
    out = graph.t(op.outputs[0])
    _check_dtypes(where, op, ins, out)
    activation = getattr(op.attrs, "activation", "NONE")
    if activation not in ACTIVATIONS:
        raise GraphError(f"{where}: fused activation '{activation}' is not one of {', '.join(ACTIVATIONS)}; {FIX}")
    expected = SHAPE_RULES[op.kind](where, op, ins, out)
    if expected is not None and tuple(expected) != tuple(out.shape):
        raise GraphError(f"{where}: output '{out.name}' has shape {list(out.shape)}, but its inputs and attributes "
                         f"give {list(expected)}; {FIX}")


def _check_dtypes(where: str, op: Op, ins, out) -> None:
    if op.kind in typed.TYPED_KINDS:  # int32 / bool tensors
        return typed.check_dtypes(where, op, ins, out)
    acts = [t for t in ins[:1] if t is not None]
    if op.kind in (*TWO_OPERANDS, "CONCATENATION", "PACK", "ADD_N"):
        acts = [t for t in ins if t is not None]
    if op.kind == "QUANTIZE":
        if out.dtype not in ("int8", "int16") or acts[0].dtype not in ("float32", "int8", "int16"):
            raise GraphError(f"{where}: QUANTIZE takes float32, int8 or int16 to int8 or int16, not {acts[0].dtype} to "
                             f"{out.dtype}; {FIX}")
        return
    if op.kind == "DEQUANTIZE":
        if out.dtype != "float32" or acts[0].dtype not in ("int8", "int16"):
            raise GraphError(f"{where}: DEQUANTIZE takes int8 or int16 to float32, not {acts[0].dtype} to {out.dtype}; {FIX}")
        return
    if op.kind != "RESHAPE" and out.dtype not in NUMERIC:
        raise GraphError(f"{where}: output '{out.name}' is {out.dtype}; this op computes in int8 or float32")
    for t in acts:
        if t.dtype != out.dtype:
            raise GraphError(f"{where}: input '{t.name}' is {t.dtype} but output '{out.name}' is {out.dtype}; {FIX}")
    if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"):
        w, b = ins[1], ins[2] if len(ins) > 2 else None
        if not w.is_const:
            raise GraphError(f"{where}: weights '{w.name}' are not constant; only constant weights are supported")
        if w.dtype != out.dtype and (out.dtype, w.dtype) not in (("float32", "int8"), ("int16", "int8")):  # hybrid, 16x8
            raise GraphError(f"{where}: weights '{w.name}' are {w.dtype} in a {out.dtype} op; {FIX}")
        bias_types = {"int8": ("int32",), "int16": ("int64", "int32")}.get(out.dtype, ("float32",))
        if b is not None and (not b.is_const or b.dtype not in bias_types):
            raise GraphError(f"{where}: bias '{b.name}' must be a constant "
                             f"{' or '.join(bias_types)} tensor (it is {b.dtype}); {FIX}")


def _rank(where: str, t, rank: int, what: str) -> tuple[int, ...]:
    if len(t.shape) != rank:
        raise GraphError(f"{where}: {what} '{t.name}' has shape {list(t.shape)}; it must have rank {rank}; {FIX}")
    return t.shape


def _positive(where: str, **values) -> None:
    for name, v in values.items():
        if not isinstance(v, (int, np.integer)) or v < 1 or v > MAX_ELEMENTS:
            raise GraphError(f"{where}: {name} is {v}; it must be an integer in [1, {MAX_ELEMENTS}]; {FIX}")


def _window(where: str, size: int, filt: int, stride: int, dilation: int, before: int, after: int, axis: str) -> int:
    """Output extent of a sliding window; paddings must be smaller than the window (as TFLite's SAME makes them)."""
    extent = (filt - 1) * dilation + 1
    for name, p in ((f"pad_{axis}_before", before), (f"pad_{axis}_after", after)):
        if not isinstance(p, (int, np.integer)) or not 0 <= p < extent:
            raise GraphError(f"{where}: {name} is {p}; paddings must be in [0, {extent - 1}] for a window of {extent}; {FIX}")
    span = size + before + after - extent
    if span < 0:
        raise GraphError(f"{where}: a window of {extent} does not fit an input of {size} padded by {before}+{after}; {FIX}")
    return span // stride + 1


def _conv(where: str, op: Op, ins, out):
    a = op.attrs
    n, h, w, c = _rank(where, ins[0], 4, "input")
    _rank(where, out, 4, "output")
    f = _rank(where, ins[1], 4, "weights")
    _positive(where, stride_h=a.stride_h, stride_w=a.stride_w, dilation_h=a.dilation_h, dilation_w=a.dilation_w)
    if op.kind == "CONV_2D":
        if f[3] != c:
            raise GraphError(f"{where}: weights {list(f)} take {f[3]} input channels, the input has {c}; "
                             "grouped convolutions are not supported")
        channels = f[0]
    else:
        _positive(where, depth_multiplier=a.depth_multiplier)
        channels = c * a.depth_multiplier
        if f[0] != 1 or f[3] != channels:
            raise GraphError(f"{where}: weights {list(f)} must be [1, kh, kw, {channels}] for {c} input channels x "
                             f"depth_multiplier {a.depth_multiplier}; {FIX}")
    _bias(where, ins, channels)
    oh = _window(where, h, f[1], a.stride_h, a.dilation_h, a.pad_top, a.pad_bottom, "h")
    ow = _window(where, w, f[2], a.stride_w, a.dilation_w, a.pad_left, a.pad_right, "w")
    return n, oh, ow, channels


def _bias(where: str, ins, channels: int) -> None:
    b = ins[2] if len(ins) > 2 else None
    if b is not None and (len(b.shape) != 1 or b.shape[0] != channels):
        raise GraphError(f"{where}: bias '{b.name}' has shape {list(b.shape)} for {channels} output channels; {FIX}")


def _fully_connected(where: str, op: Op, ins, out):
    units, depth = _rank(where, ins[1], 2, "weights")
    x = ins[0]
    _bias(where, ins, units)
    if x.size % depth:
        raise GraphError(f"{where}: input {list(x.shape)} ({x.size} values) is not a whole number of rows of the "
                         f"weights' depth {depth}; {FIX}")
    rows = x.size // depth
    if op.attrs.keep_num_dims and x.shape[-1] == depth:
        return (*x.shape[:-1], units)
    if len(out.shape) < 1 or out.shape[-1] != units or out.size != rows * units:
        raise GraphError(f"{where}: output '{out.name}' has shape {list(out.shape)}, but weights {[units, depth]} "
                         f"on input {list(x.shape)} give {rows} rows of {units}; {FIX}")
    return None


def _pool(where: str, op: Op, ins, out):
    a = op.attrs
    n, h, w, c = _rank(where, ins[0], 4, "input")
    _rank(where, out, 4, "output")
    _positive(where, filter_h=a.filter_h, filter_w=a.filter_w, stride_h=a.stride_h, stride_w=a.stride_w)
    oh = _window(where, h, a.filter_h, a.stride_h, 1, a.pad_top, a.pad_bottom, "h")
    ow = _window(where, w, a.filter_w, a.stride_w, 1, a.pad_left, a.pad_right, "w")
    return n, oh, ow, c


def _mean(where: str, op: Op, ins, out):
    shape = ins[0].shape
    axes = [int(a) for a in op.attrs.axes]
    if not shape or not axes or any(not -len(shape) <= a < len(shape) for a in axes):
        raise GraphError(f"{where}: axes {axes} are not axes of input shape {list(shape)}; {FIX}")
    axes = {a % len(shape) for a in axes}
    if op.attrs.keep_dims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    kept = tuple(d for i, d in enumerate(shape) if i not in axes)
    if tuple(out.shape) != kept and out.size == math.prod(kept):
        return None  # a rank-0 result stored as [1] and the like: same elements, same order
    return kept


def _binary(where: str, op: Op, ins, out):
    try:
        return tuple(np.broadcast_shapes(ins[0].shape, ins[1].shape))
    except ValueError:
        raise GraphError(f"{where}: input shapes {list(ins[0].shape)} and {list(ins[1].shape)} do not broadcast; {FIX}") from None


def _prelu(where: str, op: Op, ins, out):
    x, alpha = ins
    if alpha.dtype != x.dtype:
        raise GraphError(f"{where}: alpha '{alpha.name}' is {alpha.dtype} but input '{x.name}' is {x.dtype}; {FIX}")
    shape = _binary(where, op, ins, out)
    if shape != tuple(x.shape):
        raise GraphError(f"{where}: alpha of shape {list(alpha.shape)} does not broadcast into input shape "
                         f"{list(x.shape)}; {FIX}")
    return shape


def _reshape(where: str, op: Op, ins, out):
    if ins[0].size != out.size:
        raise GraphError(f"{where}: reshapes {list(ins[0].shape)} ({ins[0].size} values) into {list(out.shape)} "
                         f"({out.size} values); {FIX}")


def _same(where: str, op: Op, ins, out):
    if op.kind == "SOFTMAX" and not ins[0].shape:
        raise GraphError(f"{where}: input '{ins[0].name}' is a scalar; SOFTMAX needs at least one axis; {FIX}")
    if op.kind == "LEAKY_RELU" and not np.isfinite(op.attrs.alpha):
        raise GraphError(f"{where}: alpha is {op.attrs.alpha}; {FIX}")
    if op.kind == "SOFTMAX" and not (np.isfinite(op.attrs.beta) and op.attrs.beta > 0):
        raise GraphError(f"{where}: beta is {op.attrs.beta}; it must be finite and positive; {FIX}")
    if op.kind == "LOOKUP" and (len(op.attrs.table) != 256 or any(not -128 <= v <= 127 for v in op.attrs.table)
                                or ins[0].dtype != "int8" or out.dtype != "int8"):
        raise GraphError(f"{where}: LOOKUP maps int8 to int8 through 256 int8 entries (it has "
                         f"{len(op.attrs.table)}; {ins[0].dtype} -> {out.dtype}); it is made by passes.float_island only")
    return ins[0].shape


def _pad(where: str, op: Op, ins, out):
    shape, pads = ins[0].shape, op.attrs.paddings
    if len(pads) != len(shape):
        raise GraphError(f"{where}: {len(pads)} (before, after) paddings for an input of rank {len(shape)}; {FIX}")
    for d, (b, a) in zip(shape, pads):
        if not 0 <= b <= MAX_ELEMENTS or not 0 <= a <= MAX_ELEMENTS:
            raise GraphError(f"{where}: paddings {[list(p) for p in pads]} must be non-negative; {FIX}")
    return tuple(d + b + a for d, (b, a) in zip(shape, pads))


def _concatenation(where: str, op: Op, ins, out):
    shapes = [t.shape for t in ins]
    rank, axis = len(shapes[0]), op.attrs.axis
    if not -rank <= axis < rank:
        raise GraphError(f"{where}: axis {axis} is not an axis of input shape {list(shapes[0])}; {FIX}")
    axis %= rank
    for s in shapes[1:]:
        if len(s) != rank or any(x != y for i, (x, y) in enumerate(zip(s, shapes[0])) if i != axis):
            raise GraphError(f"{where}: input shapes {[list(s) for s in shapes]} differ outside axis {axis}; {FIX}")
    return tuple(sum(s[axis] for s in shapes) if i == axis else d for i, d in enumerate(shapes[0]))


def _movement(where: str, op: Op, ins, out):
    """Data movement: the output shape its index map gives (SPLIT and UNPACK: checked per output before)."""
    if op.kind in MULTI_OUTPUT:
        return None
    try:
        return index_maps(op.kind, op.attrs, ins[0].shape, [out.shape])[0].shape
    except (ValueError, TypeError, IndexError) as exc:
        raise GraphError(f"{where}: {exc}; {FIX}") from None


def _check_movement_outputs(graph: Graph, where: str, op: Op) -> None:
    x = graph.t(op.inputs[0])
    try:
        maps = index_maps(op.kind, op.attrs, x.shape, [graph.t(n).shape for n in op.outputs])
    except (ValueError, TypeError, IndexError) as exc:
        raise GraphError(f"{where}: {exc}; {FIX}") from None
    if len(maps) != len(op.outputs):
        raise GraphError(f"{where}: makes {len(maps)} outputs, the op lists {len(op.outputs)}; {FIX}")
    for m, n in zip(maps, op.outputs):
        t = graph.t(n)
        if tuple(m.shape) != tuple(t.shape) or t.dtype != x.dtype:
            raise GraphError(f"{where}: output '{n}' is {t.dtype} {list(t.shape)}, but the input and attributes "
                             f"give {x.dtype} {list(m.shape)}; {FIX}")


def _pack(where: str, op: Op, ins, out):
    shape, rank = ins[0].shape, len(ins[0].shape) + 1
    if any(t.shape != shape for t in ins) or not -rank <= op.attrs.axis < rank:
        raise GraphError(f"{where}: inputs {[list(t.shape) for t in ins]} must share one shape and axis "
                         f"{op.attrs.axis} must lie in [{-rank}, {rank - 1}]; {FIX}")
    axis = op.attrs.axis % rank
    return (*shape[:axis], len(ins), *shape[axis:])


def _batch_matmul(where: str, op: Op, ins, out):
    from mcucompress.reference.batch_matmul import output_shape  # the rule the executor and the C kernel follow

    try:
        return output_shape(ins[0].shape, ins[1].shape, op.attrs.adj_x, op.attrs.adj_y)
    except ValueError as exc:
        raise GraphError(f"{where}: {exc}; {FIX}") from None


def _add_n(where: str, op: Op, ins, out):
    if any(t.shape != ins[0].shape for t in ins):
        raise GraphError(f"{where}: inputs {[list(t.shape) for t in ins]} must share one shape; {FIX}")
    return ins[0].shape


def _cumsum(where: str, op: Op, ins, out):
    rank = len(ins[0].shape)
    if not -rank <= op.attrs.axis < rank:
        raise GraphError(f"{where}: axis {op.attrs.axis} is not an axis of input shape {list(ins[0].shape)}; {FIX}")
    return ins[0].shape


def _transpose_conv(where: str, op: Op, ins, out):
    """Output rows (H - 1) * stride + KH - pad_top - pad_bottom (columns alike); pad_top in [0, KH - 1],
    pad_bottom in [1 - stride, KH - 1] (negative: extra rows beyond the scatter, as TFLite's output_shape
    and ONNX's output_padding allow)."""
    a = op.attrs
    n, h, w, c = _rank(where, ins[0], 4, "input")
    _rank(where, out, 4, "output")
    f = _rank(where, ins[1], 4, "weights")
    _positive(where, stride_h=a.stride_h, stride_w=a.stride_w)
    if f[3] != c:
        raise GraphError(f"{where}: weights {list(f)} take {f[3]} input channels, the input has {c}; {FIX}")
    _bias(where, ins, f[0])
    size = []
    for axis, extent, k, s, before, after in (("h", h, f[1], a.stride_h, a.pad_top, a.pad_bottom),
                                              ("w", w, f[2], a.stride_w, a.pad_left, a.pad_right)):
        ok = all(isinstance(p, (int, np.integer)) for p in (before, after))
        if not ok or not 0 <= before < k or not 1 - s <= after < k:
            raise GraphError(f"{where}: pads {axis} ({before}, {after}) must lie in [0, {k - 1}] and "
                             f"[{1 - s}, {k - 1}] for a {k}-tap kernel at stride {s}; {FIX}")
        size.append((extent - 1) * s + k - before - after)
    if min(size) < 1:
        raise GraphError(f"{where}: pads leave an output of {size[0]}x{size[1]}; {FIX}")
    return n, size[0], size[1], f[0]


SHAPE_RULES = {
    "CONV_2D": _conv, "DEPTHWISE_CONV_2D": _conv, "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": _pool, "MAX_POOL_2D": _pool, "MEAN": _mean, "SUM": _mean,
    "REDUCE_MAX": _mean, "REDUCE_MIN": _mean, **{k: _binary for k in BROADCAST_BINARY},
    "PRELU": _prelu, "RESHAPE": _reshape, "PAD": _pad, "CONCATENATION": _concatenation, **{k: _same for k in SAME_SHAPE},
    **{k: _movement for k in MOVEMENT_KINDS}, "PACK": _pack,
    **{k: typed.shape for k in typed.TYPED_KINDS},
    "UNIDIRECTIONAL_SEQUENCE_LSTM": consistency_recurrent.lstm_shape, "SVDF": consistency_recurrent.svdf_shape,
    "BATCH_MATMUL": _batch_matmul,
    "ADD_N": _add_n, "CUMSUM": _cumsum, "L2_POOL_2D": _pool,
    "TRANSPOSE_CONV": _transpose_conv,
}


def check_runtime_inputs(graph: Graph) -> None:
    """Every op of an imported model reads at least one run-time tensor in its activation inputs (importers fold
    the constant ones; a weighted op or pool reading a constant where its activation goes is a corrupt file)."""
    for op in graph.ops:
        runtime = op.inputs if op.kind in (*TWO_OPERANDS, "CONCATENATION", "PACK", "ADD_N", *typed.ALL_OPERANDS) \
            else op.inputs[:1]
        names = [n for n in runtime if n]
        if names and all(graph.t(n).is_const for n in names):
            raise GraphError(f"op '{op.name}' ({op.kind}): computes only on constants ({', '.join(names)}), not on "
                             f"the model's input; {FIX}")



def _resize(where: str, op: Op, ins, out):
    """RESIZE_*: NHWC in, (N, size, C) out; flags TFLite accepts."""
    try:
        return resize.check_attrs(op.kind, op.attrs, ins[0].shape)
    except (ValueError, TypeError) as exc:
        raise GraphError(f"{where}: {exc}; {FIX}") from None


ARITY.update({k: (1, 1) for k in ("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")})
SHAPE_RULES.update({k: _resize for k in ("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")})
