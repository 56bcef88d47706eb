"""Export the IR back to a .tflite flatbuffer that TFLM and LiteRT load and run.

Two steps. `_lower` maps the graph to TFLite's flat tables (tensor list, operators with their
options), adding the constant operands TFLite wants and the IR keeps as attributes (RESHAPE shape,
MEAN axes, PAD paddings). Explicit pads become SAME or VALID when they follow TFLite's rule; a
convolution whose pads follow neither gets an explicit PAD op in front of a VALID convolution,
a pool raises GraphError (padding a pool would change its result). `_serialize` then writes the
tables with the `tflite` schema package's builder functions. Same graph, same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import flatbuffers
import numpy as np
import tflite

from mcucompress.errors import GraphError
from mcucompress.frontend.tflite import _same_or_valid_pads
from mcucompress.ir import Graph, Op, Tensor

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"
BUFFER_ALIGNMENT = 16  # what the TFLite converter uses, so int32/float weights can be read in place

TENSOR_TYPES = {
    "float32": tflite.TensorType.FLOAT32,
    "int32": tflite.TensorType.INT32,
    "uint8": tflite.TensorType.UINT8,
    "int64": tflite.TensorType.INT64,
    "bool": tflite.TensorType.BOOL,
    "int16": tflite.TensorType.INT16,
    "int8": tflite.TensorType.INT8,
}
ACTIVATION_CODES = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}

# Operator versions the TFLite converter assigns (lite/tools/versioning/op_version.cc) by the
# dtype of the first input; float and anything not listed is version 1.
TYPE_VERSIONS = {
    "CONV_2D": {"int8": 3, "int16": 4},
    "DEPTHWISE_CONV_2D": {"int8": 3, "int16": 5},
    "FULLY_CONNECTED": {"int8": 4, "int16": 7},
    "AVERAGE_POOL_2D": {"int8": 2, "int16": 3},
    "MAX_POOL_2D": {"int8": 2, "int16": 3},
    "MEAN": {"int8": 2, "int16": 3},
    "ADD": {"int8": 2},
    "SUB": {"int8": 2},
    "MUL": {"int8": 2, "int16": 4},
    "SOFTMAX": {"int8": 2, "int16": 3},
    "PAD": {"int8": 2, "int16": 3},
    "CONCATENATION": {"int8": 2, "int16": 3},
    "LOGISTIC": {"int8": 2, "int16": 3},
    "TANH": {"int8": 2, "int16": 3},
    "RELU": {"int8": 2, "uint8": 2, "int16": 3},
    "RELU6": {"int8": 2, "int16": 3},
    "LEAKY_RELU": {"int16": 2},
    "DEQUANTIZE": {"int8": 2, "int16": 3},
    "QUANTIZE": {},
}

OptionsBuilder = Callable[[flatbuffers.Builder], int]


@dataclass
class _Operator:
    kind: str
    version: int
    inputs: list[int]
    outputs: list[int]
    options_type: int = tflite.BuiltinOptions.NONE
    options: OptionsBuilder | None = None


class _Lowering:
    """The TFLite tables being built: tensors in file order and operators in execution order."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.tensors: list[Tensor] = []
        self.index: dict[str, int] = {}
        self.operators: list[_Operator] = []

    def add_tensor(self, tensor: Tensor) -> int:
        self.index[tensor.name] = len(self.tensors)
        self.tensors.append(tensor)
        return self.index[tensor.name]

    def unique_name(self, base: str) -> str:
        name, n = base, 1
        while name in self.index or name in self.graph.tensors:
            name, n = f"{base}_{n}", n + 1
        return name

    def add_const(self, base: str, values) -> int:
        data = np.asarray(values, dtype=np.int32)
        return self.add_tensor(Tensor(self.unique_name(base), data.shape, "int32", None, data))

    def ref(self, name: str) -> int:
        """Index of a tensor; the missing optional input "" is -1 in TFLite."""
        return -1 if name == "" else self.index[name]


def to_bytes(graph: Graph) -> bytes:
    """The .tflite flatbuffer of `graph` (int8 or float32); raises GraphError if TFLite cannot express it."""
    return _serialize(_lower(graph))


def write(graph: Graph, path: str | os.PathLike) -> None:
    """Write `graph` to `path` as .tflite, through a temporary file so a failure leaves nothing half-written."""
    data = to_bytes(graph)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------- lowering: IR -> TFLite tables


def _lower(graph: Graph) -> _Lowering:
    _check_names(graph)
    low = _Lowering(graph)
    used = _used_tensors(graph)
    for tensor in graph.tensors.values():
        if tensor.name in used:
            low.add_tensor(tensor)
    for op in graph.ops:
        _lower_op(low, op)
    return low


def _check_names(graph: Graph) -> None:
    for op in graph.ops:
        for name in op.inputs + op.outputs:
            if name and name not in graph.tensors:
                raise GraphError(f"op '{op.name}' ({op.kind}) uses tensor '{name}', which is not in the graph")
    for name in graph.inputs + graph.outputs:
        if name not in graph.tensors:
            raise GraphError(f"graph input/output '{name}' is not a tensor of the graph")


def _used_tensors(graph: Graph) -> set[str]:
    """Tensors no op or graph endpoint refers to are dead: leaving them out keeps dead weights out of the file."""
    used = set(graph.inputs) | set(graph.outputs)
    for op in graph.ops:
        used.update(n for n in op.inputs + op.outputs if n)
    return used


def _lower_op(low: _Lowering, op: Op) -> None:
    lower = LOWERINGS.get(op.kind)
    if lower is None:
        raise GraphError(f"op '{op.name}' has kind {op.kind}, which the TFLite writer does not know")
    inputs, options_type, options = lower(low, op)
    outputs = [low.ref(n) for n in op.outputs]
    low.operators.append(_Operator(op.kind, _version(low.graph, op), inputs, outputs, options_type, options))


def _activation(op: Op) -> int:
    act = op.attrs.activation
    if act not in ACTIVATION_CODES:
        raise GraphError(f"op '{op.name}' ({op.kind}) has activation {act}; TFLite fuses only {', '.join(ACTIVATION_CODES)}")
    return ACTIVATION_CODES[act]


def _plain(low: _Lowering, op: Op):
    return [low.ref(n) for n in op.inputs], tflite.BuiltinOptions.NONE, None


def _conv(low: _Lowering, op: Op):
    a = op.attrs
    x, w = low.graph.t(op.inputs[0]), low.graph.t(op.inputs[1])
    padding, data_in = _conv_padding(low, op, x, w.shape[1:3])
    act = _activation(op)
    if op.kind == "CONV_2D":

        def build(b):
            tflite.Conv2DOptionsStart(b)
            tflite.Conv2DOptionsAddPadding(b, padding)
            tflite.Conv2DOptionsAddStrideW(b, a.stride_w)
            tflite.Conv2DOptionsAddStrideH(b, a.stride_h)
            tflite.Conv2DOptionsAddFusedActivationFunction(b, act)
            tflite.Conv2DOptionsAddDilationWFactor(b, a.dilation_w)
            tflite.Conv2DOptionsAddDilationHFactor(b, a.dilation_h)
            return tflite.Conv2DOptionsEnd(b)

        options_type = tflite.BuiltinOptions.Conv2DOptions
    else:

        def build(b):
            tflite.DepthwiseConv2DOptionsStart(b)
            tflite.DepthwiseConv2DOptionsAddPadding(b, padding)
            tflite.DepthwiseConv2DOptionsAddStrideW(b, a.stride_w)
            tflite.DepthwiseConv2DOptionsAddStrideH(b, a.stride_h)
            tflite.DepthwiseConv2DOptionsAddDepthMultiplier(b, a.depth_multiplier)
            tflite.DepthwiseConv2DOptionsAddFusedActivationFunction(b, act)
            tflite.DepthwiseConv2DOptionsAddDilationWFactor(b, a.dilation_w)
            tflite.DepthwiseConv2DOptionsAddDilationHFactor(b, a.dilation_h)
            return tflite.DepthwiseConv2DOptionsEnd(b)

        options_type = tflite.BuiltinOptions.DepthwiseConv2DOptions
    return [data_in] + [low.ref(n) for n in op.inputs[1:]], options_type, build


def _pool(low: _Lowering, op: Op):
    a = op.attrs
    x = low.graph.t(op.inputs[0])
    padding = _padding(low.graph, op, (a.filter_h, a.filter_w), (1, 1))
    if padding is None:
        raise GraphError(
            f"op '{op.name}' ({op.kind}): pads {_pads(a)} are neither TFLite SAME nor VALID for input {x.shape} "
            f"and output {low.graph.t(op.outputs[0]).shape}; a TFLite pool cannot express them"
        )
    act = _activation(op)

    def build(b):
        tflite.Pool2DOptionsStart(b)
        tflite.Pool2DOptionsAddPadding(b, padding)
        tflite.Pool2DOptionsAddStrideW(b, a.stride_w)
        tflite.Pool2DOptionsAddStrideH(b, a.stride_h)
        tflite.Pool2DOptionsAddFilterWidth(b, a.filter_w)
        tflite.Pool2DOptionsAddFilterHeight(b, a.filter_h)
        tflite.Pool2DOptionsAddFusedActivationFunction(b, act)
        return tflite.Pool2DOptionsEnd(b)

    return [low.ref(op.inputs[0])], tflite.BuiltinOptions.Pool2DOptions, build


def _fully_connected(low: _Lowering, op: Op):
    a, act = op.attrs, _activation(op)

    def build(b):
        tflite.FullyConnectedOptionsStart(b)
        tflite.FullyConnectedOptionsAddFusedActivationFunction(b, act)
        tflite.FullyConnectedOptionsAddKeepNumDims(b, a.keep_num_dims)
        return tflite.FullyConnectedOptionsEnd(b)

    return [low.ref(n) for n in op.inputs], tflite.BuiltinOptions.FullyConnectedOptions, build


def _mean(low: _Lowering, op: Op):
    keep_dims = op.attrs.keep_dims
    axes = low.add_const(f"{op.outputs[0]}_axes", list(op.attrs.axes))

    def build(b):
        tflite.ReducerOptionsStart(b)
        tflite.ReducerOptionsAddKeepDims(b, keep_dims)
        return tflite.ReducerOptionsEnd(b)

    return [low.ref(op.inputs[0]), axes], tflite.BuiltinOptions.ReducerOptions, build


def _elementwise(low: _Lowering, op: Op):
    act = _activation(op)
    start, add_act, end, options_type = {
        "ADD": (tflite.AddOptionsStart, tflite.AddOptionsAddFusedActivationFunction, tflite.AddOptionsEnd,
                tflite.BuiltinOptions.AddOptions),
        "SUB": (tflite.SubOptionsStart, tflite.SubOptionsAddFusedActivationFunction, tflite.SubOptionsEnd,
                tflite.BuiltinOptions.SubOptions),
        "MUL": (tflite.MulOptionsStart, tflite.MulOptionsAddFusedActivationFunction, tflite.MulOptionsEnd,
                tflite.BuiltinOptions.MulOptions),
    }[op.kind]

    def build(b):
        start(b)
        add_act(b, act)
        return end(b)

    return [low.ref(n) for n in op.inputs], options_type, build


def _reshape(low: _Lowering, op: Op):
    shape = low.add_const(f"{op.outputs[0]}_shape", list(low.graph.t(op.outputs[0]).shape))
    return [low.ref(op.inputs[0]), shape], tflite.BuiltinOptions.NONE, None


def _softmax(low: _Lowering, op: Op):
    beta = op.attrs.beta

    def build(b):
        tflite.SoftmaxOptionsStart(b)
        tflite.SoftmaxOptionsAddBeta(b, beta)
        return tflite.SoftmaxOptionsEnd(b)

    return [low.ref(op.inputs[0])], tflite.BuiltinOptions.SoftmaxOptions, build


def _pad(low: _Lowering, op: Op):
    paddings = low.add_const(f"{op.outputs[0]}_paddings", [list(p) for p in op.attrs.paddings])
    return [low.ref(op.inputs[0]), paddings], tflite.BuiltinOptions.NONE, None


def _concatenation(low: _Lowering, op: Op):
    axis, act = op.attrs.axis, _activation(op)

    def build(b):
        tflite.ConcatenationOptionsStart(b)
        tflite.ConcatenationOptionsAddAxis(b, axis)
        tflite.ConcatenationOptionsAddFusedActivationFunction(b, act)
        return tflite.ConcatenationOptionsEnd(b)

    return [low.ref(n) for n in op.inputs], tflite.BuiltinOptions.ConcatenationOptions, build


def _leaky_relu(low: _Lowering, op: Op):
    alpha = op.attrs.alpha

    def build(b):
        tflite.LeakyReluOptionsStart(b)
        tflite.LeakyReluOptionsAddAlpha(b, alpha)
        return tflite.LeakyReluOptionsEnd(b)

    return [low.ref(op.inputs[0])], tflite.BuiltinOptions.LeakyReluOptions, build


LOWERINGS = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _conv,
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": _pool,
    "MAX_POOL_2D": _pool,
    "MEAN": _mean,
    "ADD": _elementwise,
    "SUB": _elementwise,
    "MUL": _elementwise,
    "RESHAPE": _reshape,
    "SOFTMAX": _softmax,
    "PAD": _pad,
    "CONCATENATION": _concatenation,
    "LOGISTIC": _plain,
    "TANH": _plain,
    "RELU": _plain,
    "RELU6": _plain,
    "LEAKY_RELU": _leaky_relu,
    "HARD_SWISH": _plain,
    "QUANTIZE": _plain,
    "DEQUANTIZE": _plain,
}


# ---------------------------------------------------------------- padding


def _pads(a) -> tuple[int, int, int, int]:
    return a.pad_top, a.pad_bottom, a.pad_left, a.pad_right


def _rule_out_size(padding: int, size: int, filt: int, stride: int, dilation: int) -> int:
    if padding == tflite.Padding.SAME:
        return -(-size // stride)
    return (size - (filt - 1) * dilation - 1) // stride + 1


def _padding(graph: Graph, op: Op, filt: tuple[int, int], dilation: tuple[int, int], in_hw=None) -> int | None:
    """VALID or SAME when both the op's pads and its output size follow that rule, else None.

    VALID is tried first: where both fit (no padding needed either way) it is the plainer reading.
    `in_hw` overrides the input's spatial size (for the input of an inserted PAD).
    """
    a = op.attrs
    in_hw = in_hw or graph.t(op.inputs[0]).shape[1:3]
    out_hw = graph.t(op.outputs[0]).shape[1:3]
    pads = ((a.pad_top, a.pad_bottom), (a.pad_left, a.pad_right)) if in_hw == graph.t(op.inputs[0]).shape[1:3] else ((0, 0), (0, 0))
    stride = (a.stride_h, a.stride_w)
    for padding in (tflite.Padding.VALID, tflite.Padding.SAME):
        if all(
            _rule_out_size(padding, in_hw[i], filt[i], stride[i], dilation[i]) == out_hw[i]
            # The importer's own rule, so that export and re-import agree on every pad.
            and _same_or_valid_pads(padding, in_hw[i], out_hw[i], filt[i], stride[i], dilation[i]) == pads[i]
            for i in range(2)
        ):
            return padding
    return None
