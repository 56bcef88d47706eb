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
from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import tflite

from mcucompress.errors import GraphError
from mcucompress.frontend import tflite_transpose_conv
from mcucompress.frontend.tflite import _same_or_valid_pads
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir.verify import verify

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
    "MAXIMUM": {"int8": 2, "int16": 4},
    "MINIMUM": {"int8": 2, "int16": 4},
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
    "ABS": {"int8": 2, "int16": 3},
    "PRELU": {},
    "SQUARED_DIFFERENCE": {"int8": 2},
    "ELU": {},
    "RSQRT": {"int8": 2},
    "L2_NORMALIZATION": {"int8": 2},
    "LOG_SOFTMAX": {"int8": 2},
    "SUM": {"int8": 2},
    "REDUCE_MAX": {"int8": 2},
    "REDUCE_MIN": {"int8": 2},
    "SVDF": {"int8": 3},
    "BATCH_MATMUL": {"int8": 2, "int16": 3},
    "GELU": {"int8": 2, "uint8": 2},
    **{k: {"int8": 2} for k in ("TRANSPOSE", "SLICE", "STRIDED_SLICE", "SPLIT", "SPLIT_V", "PACK", "UNPACK",
                                "SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "MIRROR_PAD", "GATHER")},
    "RESIZE_BILINEAR": {"int8": 2},
    "RESIZE_NEAREST_NEIGHBOR": {"int8": 2},
    "TILE": {"int8": 2},  # LiteRT's reference resolver registers TILE up to version 2
    "GATHER_ND": {"int8": 2},
    "SPACE_TO_BATCH_ND": {"int8": 2},
    "BATCH_TO_SPACE_ND": {"int8": 2},
    "CUMSUM": {},
    "ADD_N": {},
    "L2_POOL_2D": {},
    "LOG": {},
}


@dataclass
class _Operator:
    """One TFLite operator; `options` names a builtin options table, `fields` its schema fields."""

    kind: str
    version: int
    inputs: list[int]
    outputs: list[int]
    options: str | None = None
    fields: dict = field(default_factory=dict)


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
    from mcucompress.fileio import write_bytes

    write_bytes(path, to_bytes(graph))


# ---------------------------------------------------------------- lowering: IR -> TFLite tables


def _lower(graph: Graph) -> _Lowering:
    verify(graph)  # dangling names, bad dtypes or quantization: one clear GraphError before any table is built
    low = _Lowering(graph)
    used = _used_tensors(graph)
    for tensor in graph.tensors.values():
        if tensor.name in used:
            low.add_tensor(tensor)
    for op in graph.ops:
        _lower_op(low, op)
    return low


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
    inputs, table, fields, *builtin = lower(low, op)  # a 4th item: the builtin's name when not the kind
    kind = builtin[0] if builtin else op.kind
    outputs = [low.ref(n) for n in op.outputs]
    version = _version(low.graph, op) if kind == op.kind else _dtype_version(kind, low.graph.t(op.inputs[0]).dtype)
    low.operators.append(_Operator(kind, version, inputs, outputs, table, fields))


def _activation(op: Op) -> int:
    act = op.attrs.activation
    if act not in ACTIVATION_CODES:
        raise GraphError(
            f"op '{op.name}' ({op.kind}) has activation {act}; TFLite fuses only {', '.join(ACTIVATION_CODES)}"
        )
    return ACTIVATION_CODES[act]


# Each lowering returns (input indices, options table name or None, {schema field: value}).


def _plain(low: _Lowering, op: Op):
    return [low.ref(n) for n in op.inputs], None, {}


def _conv(low: _Lowering, op: Op):
    a = op.attrs
    padding, data_in = _conv_padding(low, op)
    inputs = [data_in] + [low.ref(n) for n in op.inputs[1:]]
    fields = {
        "Padding": padding,
        "StrideW": a.stride_w,
        "StrideH": a.stride_h,
        "FusedActivationFunction": _activation(op),
        "DilationWFactor": a.dilation_w,
        "DilationHFactor": a.dilation_h,
    }
    if op.kind == "CONV_2D":
        return inputs, "Conv2DOptions", fields
    return inputs, "DepthwiseConv2DOptions", {**fields, "DepthMultiplier": a.depth_multiplier}


def _pool(low: _Lowering, op: Op):
    a = op.attrs
    x, out = low.graph.t(op.inputs[0]), low.graph.t(op.outputs[0])
    padding = _match_padding(x.shape[1:3], out.shape[1:3], (a.filter_h, a.filter_w), _strides(a), (1, 1), _pads(a))
    if padding is None:
        # PAD + VALID would be wrong here: padded cells would enter the max and the average's count.
        raise GraphError(
            f"op '{op.name}' ({op.kind}): pads {_pads(a)} are neither TFLite SAME nor VALID for input {x.shape} "
            f"and output {out.shape}; a TFLite pool cannot express them"
        )
    fields = {
        "Padding": padding,
        "StrideW": a.stride_w,
        "StrideH": a.stride_h,
        "FilterWidth": a.filter_w,
        "FilterHeight": a.filter_h,
        "FusedActivationFunction": _activation(op),
    }
    return [low.ref(op.inputs[0])], "Pool2DOptions", fields


def _fully_connected(low: _Lowering, op: Op):
    fields = {"FusedActivationFunction": _activation(op), "KeepNumDims": op.attrs.keep_num_dims}
    return [low.ref(n) for n in op.inputs], "FullyConnectedOptions", fields


def _mean(low: _Lowering, op: Op):
    axes = low.add_const(f"{op.outputs[0]}_axes", list(op.attrs.axes))
    return [low.ref(op.inputs[0]), axes], "ReducerOptions", {"KeepDims": op.attrs.keep_dims}


def _elementwise(low: _Lowering, op: Op):
    table = op.kind.capitalize() + "Options"  # AddOptions, SubOptions, MulOptions
    return [low.ref(n) for n in op.inputs], table, {"FusedActivationFunction": _activation(op)}


def _reshape(low: _Lowering, op: Op):
    shape = low.add_const(f"{op.outputs[0]}_shape", list(low.graph.t(op.outputs[0]).shape))
    return [low.ref(op.inputs[0]), shape], None, {}


def _softmax(low: _Lowering, op: Op):
    return [low.ref(op.inputs[0])], "SoftmaxOptions", {"Beta": op.attrs.beta}


def _pad(low: _Lowering, op: Op):
    paddings = low.add_const(f"{op.outputs[0]}_paddings", [list(p) for p in op.attrs.paddings])
    return [low.ref(op.inputs[0]), paddings], None, {}


def _concatenation(low: _Lowering, op: Op):
    fields = {"Axis": op.attrs.axis, "FusedActivationFunction": _activation(op)}
    return [low.ref(n) for n in op.inputs], "ConcatenationOptions", fields


def _leaky_relu(low: _Lowering, op: Op):
    return [low.ref(op.inputs[0])], "LeakyReluOptions", {"Alpha": op.attrs.alpha}


def _with_const(low: _Lowering, op: Op, *values):
    """Input 0 then int32 constant operands made from `values` (what TFLite reads from tensors)."""
    consts = [low.add_const(f"{op.outputs[0]}_{what}", v) for what, v in values]
    return [low.ref(op.inputs[0]), *consts]


def _transpose(low: _Lowering, op: Op):
    return _with_const(low, op, ("perm", list(op.attrs.perm))), None, {}


def _slice(low: _Lowering, op: Op):
    return _with_const(low, op, ("begin", list(op.attrs.begin)), ("size", list(op.attrs.size))), None, {}


def _strided_slice(low: _Lowering, op: Op):
    a = op.attrs
    ins = _with_const(low, op, ("begin", list(a.begin)), ("end", list(a.end)), ("strides", list(a.strides)))
    return ins, "StridedSliceOptions", {"BeginMask": a.begin_mask, "EndMask": a.end_mask,
                                        "ShrinkAxisMask": a.shrink_axis_mask}


def _split(low: _Lowering, op: Op):
    a = op.attrs
    if len(set(a.sizes)) == 1:  # SPLIT: (axis, input)
        axis = low.add_const(f"{op.outputs[0]}_axis", a.axis)
        return [axis, low.ref(op.inputs[0])], "SplitOptions", {"NumSplits": len(a.sizes)}
    ins = _with_const(low, op, ("sizes", list(a.sizes)), ("axis", a.axis))
    return ins, "SplitVOptions", {"NumSplits": len(a.sizes)}, "SPLIT_V"


def _pack(low: _Lowering, op: Op):
    return [low.ref(n) for n in op.inputs], "PackOptions", {"ValuesCount": len(op.inputs), "Axis": op.attrs.axis}


def _unpack(low: _Lowering, op: Op):
    return [low.ref(op.inputs[0])], "UnpackOptions", {"Num": len(op.outputs), "Axis": op.attrs.axis}


def _block(low: _Lowering, op: Op):
    table = "SpaceToDepthOptions" if op.kind == "SPACE_TO_DEPTH" else "DepthToSpaceOptions"
    return [low.ref(op.inputs[0])], table, {"BlockSize": op.attrs.block_size}


def _mirror_pad(low: _Lowering, op: Op):
    ins = _with_const(low, op, ("paddings", [list(p) for p in op.attrs.paddings]))
    return ins, "MirrorPadOptions", {"Mode": {"REFLECT": 0, "SYMMETRIC": 1}[op.attrs.mode]}


def _reverse(low: _Lowering, op: Op):
    return _with_const(low, op, ("axes", list(op.attrs.axes))), None, {}


def _broadcast_to(low: _Lowering, op: Op):
    return _with_const(low, op, ("shape", list(low.graph.t(op.outputs[0]).shape))), None, {}


def _resize(low: _Lowering, op: Op):
    a = op.attrs
    table = "ResizeBilinearOptions" if op.kind == "RESIZE_BILINEAR" else "ResizeNearestNeighborOptions"
    ins = _with_const(low, op, ("size", [int(v) for v in a.size]))
    return ins, table, {"AlignCorners": bool(a.align_corners), "HalfPixelCenters": bool(a.half_pixel_centers)}


def _gather(low: _Lowering, op: Op):
    a = op.attrs
    ins = _with_const(low, op, ("indices", np.asarray(a.indices, np.int32).reshape(tuple(a.indices_shape))))
    return ins, "GatherOptions", {"Axis": a.axis, "BatchDims": 0}


def _lstm(low: _Lowering, op: Op):
    a = op.attrs
    fields = {"FusedActivationFunction": 4 if a.cell_activation == "TANH" else 0, "CellClip": a.cell_clip,
              "ProjClip": a.proj_clip, "TimeMajor": a.time_major}
    return [low.ref(n) for n in op.inputs], "UnidirectionalSequenceLSTMOptions", fields


def _svdf(low: _Lowering, op: Op):
    return [low.ref(n) for n in op.inputs], "SVDFOptions", {"Rank": op.attrs.rank,
                                                            "FusedActivationFunction": _activation(op)}
def _batch_matmul(low: _Lowering, op: Op):
    fields = {"AdjX": op.attrs.adj_x, "AdjY": op.attrs.adj_y}
    return [low.ref(n) for n in op.inputs], "BatchMatMulOptions", fields


def _gelu(low: _Lowering, op: Op):
    return [low.ref(op.inputs[0])], "GeluOptions", {"Approximate": op.attrs.approximate}
def _tile(low: _Lowering, op: Op):
    return _with_const(low, op, ("multiples", list(op.attrs.multiples))), None, {}


def _gather_nd(low: _Lowering, op: Op):
    a = op.attrs
    return _with_const(low, op, ("indices", np.asarray(a.indices, np.int32).reshape(tuple(a.indices_shape)))), None, {}


def _space_batch(low: _Lowering, op: Op):
    a = op.attrs
    what = "paddings" if op.kind == "SPACE_TO_BATCH_ND" else "crops"
    return _with_const(low, op, ("block_shape", list(a.block_shape)), (what, [list(p) for p in a.paddings])), None, {}


def _cumsum(low: _Lowering, op: Op):
    a = op.attrs
    return (_with_const(low, op, ("axis", [a.axis])), "CumsumOptions",
            {"Exclusive": bool(a.exclusive), "Reverse": bool(a.reverse)})


def _l2_pool(low: _Lowering, op: Op):
    inputs, _, fields = _pool(low, op)
    return inputs, "Pool2DOptions", fields


def _transpose_conv(low: _Lowering, op: Op):
    inputs, table, fields = tflite_transpose_conv.writer_operands(low, op)
    return inputs, table, {**fields, "FusedActivationFunction": _activation(op)}


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
    "MAXIMUM": _plain,
    "MINIMUM": _plain,
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
    "ABS": _plain,
    "PRELU": _plain,
    "SQUARED_DIFFERENCE": _plain,
    "ELU": _plain,
    "RSQRT": _plain,
    "SQRT": _plain,
    "LOG_SOFTMAX": _plain,
    "L2_NORMALIZATION": _plain,
    "EXP": _plain,
    "NEG": _plain,
    "SUM": _mean,
    "REDUCE_MAX": _mean,
    "REDUCE_MIN": _mean,
    "TRANSPOSE": _transpose,
    "SLICE": _slice,
    "STRIDED_SLICE": _strided_slice,
    "SPLIT": _split,
    "PACK": _pack,
    "UNPACK": _unpack,
    "SPACE_TO_DEPTH": _block,
    "DEPTH_TO_SPACE": _block,
    "MIRROR_PAD": _mirror_pad,
    "REVERSE_V2": _reverse,
    "BROADCAST_TO": _broadcast_to,
    "GATHER": _gather,
    "RESIZE_NEAREST_NEIGHBOR": _resize,
    "RESIZE_BILINEAR": _resize,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _lstm,
    "SVDF": _svdf,
    "BATCH_MATMUL": _batch_matmul,
    "GELU": _gelu,
    "DIV": _elementwise,
    "TILE": _tile,
    "GATHER_ND": _gather_nd,
    "SPACE_TO_BATCH_ND": _space_batch,
    "BATCH_TO_SPACE_ND": _space_batch,
    "CUMSUM": _cumsum,
    "ADD_N": _plain,
    "L2_POOL_2D": _l2_pool,
    "LOG": _plain,
    "TRANSPOSE_CONV": _transpose_conv,
}


# ---------------------------------------------------------------- int32 / bool ops


def _arg_min_max(low: _Lowering, op: Op):
    axis = low.add_const(f"{op.outputs[0]}_axis", [op.attrs.axis])
    table = "ArgMaxOptions" if op.kind == "ARG_MAX" else "ArgMinOptions"
    return [low.ref(op.inputs[0]), axis], table, {"OutputType": TENSOR_TYPES[low.graph.t(op.outputs[0]).dtype]}


def _fill(low: _Lowering, op: Op):
    dims = low.add_const(f"{op.outputs[0]}_dims", list(low.graph.t(op.outputs[0]).shape))
    return [dims, low.ref(op.inputs[0])], None, {}


LOWERINGS.update({"ARG_MAX": _arg_min_max, "ARG_MIN": _arg_min_max, "SELECT_V2": _plain, "ZEROS_LIKE": _plain,
                  "FILL": _fill, **{k: _plain for k in ("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER",
                                                         "GREATER_EQUAL")}})
TYPE_VERSIONS.update({k: {"int8": 2} for k in ("ARG_MAX", "ARG_MIN", "EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL",
                                                "GREATER", "GREATER_EQUAL")})


# ---------------------------------------------------------------- padding


def _pads(a) -> tuple[tuple[int, int], tuple[int, int]]:
    return (a.pad_top, a.pad_bottom), (a.pad_left, a.pad_right)


def _strides(a) -> tuple[int, int]:
    return a.stride_h, a.stride_w


def _rule_out_size(padding: int, size: int, filt: int, stride: int, dilation: int) -> int:
    if padding == tflite.Padding.SAME:
        return -(-size // stride)
    return (size - (filt - 1) * dilation - 1) // stride + 1


def _match_padding(in_hw, out_hw, filt, stride, dilation, pads) -> int | None:
    """VALID or SAME when both the pads and the output size follow that rule on both axes, else None.

    VALID is tried first: where both fit (nothing to pad either way) it is the plainer reading.
    """
    for padding in (tflite.Padding.VALID, tflite.Padding.SAME):
        if all(
            _rule_out_size(padding, in_hw[i], filt[i], stride[i], dilation[i]) == out_hw[i]
            # The importer's own pad rule, so that export and re-import agree on every pad.
            and _same_or_valid_pads(padding, in_hw[i], out_hw[i], filt[i], stride[i], dilation[i]) == pads[i]
            for i in range(2)
        ):
            return padding
    return None


def _conv_padding(low: _Lowering, op: Op) -> tuple[int, int]:
    """The TFLite padding of a convolution and the index of its data input (an inserted PAD's output if needed)."""
    a, graph = op.attrs, low.graph
    x, w, out = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    filt, dilation, pads = w.shape[1:3], (a.dilation_h, a.dilation_w), _pads(a)
    padding = _match_padding(x.shape[1:3], out.shape[1:3], filt, _strides(a), dilation, pads)
    if padding is not None:
        return padding, low.ref(x.name)
    padded_hw = (x.shape[1] + sum(pads[0]), x.shape[2] + sum(pads[1]))
    no_pads = ((0, 0), (0, 0))
    if (
        min(pads[0] + pads[1]) < 0
        or _match_padding(padded_hw, out.shape[1:3], filt, _strides(a), dilation, no_pads) is None
    ):
        raise GraphError(
            f"op '{op.name}' ({op.kind}): pads {pads} with input {x.shape} do not give its output {out.shape}"
        )
    # Padding with the zero point is padding with real 0, which is what the convolution itself does.
    return tflite.Padding.VALID, _insert_pad(low, op, x, pads)


def _insert_pad(low: _Lowering, op: Op, x: Tensor, pads) -> int:
    (top, bottom), (left, right) = pads
    n, h, w, c = x.shape
    name = low.unique_name(f"{op.outputs[0]}_padded_input")
    padded = low.add_tensor(Tensor(name, (n, h + top + bottom, w + left + right, c), x.dtype, x.quant))
    paddings = low.add_const(f"{op.outputs[0]}_paddings", [[0, 0], [top, bottom], [left, right], [0, 0]])
    low.operators.append(_Operator("PAD", _dtype_version("PAD", x.dtype), [low.ref(x.name), paddings], [padded]))
    return padded


# ---------------------------------------------------------------- operator versions


def _dtype_version(kind: str, dtype: str) -> int:
    return TYPE_VERSIONS.get(kind, {}).get(dtype, 1)


def _version(graph: Graph, op: Op) -> int:
    """The version the converter would give this op; TFLM ignores it, LiteRT checks it against its kernels."""
    x = graph.t(op.inputs[0])
    version = _dtype_version(op.kind, x.dtype)
    if op.kind == "FULLY_CONNECTED" and version < 6 and len(op.inputs) == 2:
        return 6  # no bias operand at all
    if op.kind == "FULLY_CONNECTED" and version < 5 and op.attrs.keep_num_dims:
        return 5
    if op.kind == "DEPTHWISE_CONV_2D" and version == 1 and (op.attrs.dilation_h, op.attrs.dilation_w) != (1, 1):
        return 2
    if op.kind == "MUL" and version == 2 and _mul_rescale(graph, op) >= 1.0:
        return 3
    if op.kind == "BROADCAST_TO":
        return max(version, 2)  # version 1 is the converter's placeholder: no kernel registers it
    if op.kind in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR") and op.attrs.half_pixel_centers:
        return max(version, 3)
    if op.kind == "TRANSPOSE_CONV":
        return tflite_transpose_conv.version(graph, op)
    out = graph.t(op.outputs[0])
    if op.kind == "QUANTIZE" and out.quant is not None and out.quant.per_axis:
        return 3
    if op.kind == "QUANTIZE" and out.dtype == "int16":
        return 2
    return version


def _mul_rescale(graph: Graph, op: Op) -> float:
    q1, q2, qo = (graph.t(n).quant for n in (*op.inputs[:2], op.outputs[0]))
    if q1 is None or q2 is None or qo is None:
        return 0.0
    return float(q1.s) * float(q2.s) / float(qo.s)


# ---------------------------------------------------------------- serialization: tables -> flatbuffer


def _serialize(low: _Lowering) -> bytes:
    data_bytes = sum(t.nbytes for t in low.tensors if t.is_const)
    b = flatbuffers.Builder(data_bytes + BUFFER_ALIGNMENT * len(low.tensors) + 65536)
    buffers, buffer_of = _buffers(b, low.tensors)
    tensors = [_tensor(b, t, buffer_of[i]) for i, t in enumerate(low.tensors)]
    opcodes, opcode_index = _operator_codes(b, low.operators)
    operators = [_operator(b, o, opcode_index[o.kind]) for o in low.operators]
    subgraph = _subgraph(b, low, tensors, operators)
    description = b.CreateString("mcucompress")
    opcodes_vec = _table_vector(b, tflite.ModelStartOperatorCodesVector, opcodes)
    subgraphs_vec = _table_vector(b, tflite.ModelStartSubgraphsVector, [subgraph])
    buffers_vec = _table_vector(b, tflite.ModelStartBuffersVector, buffers)
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, SCHEMA_VERSION)
    tflite.ModelAddOperatorCodes(b, opcodes_vec)
    tflite.ModelAddSubgraphs(b, subgraphs_vec)
    tflite.ModelAddDescription(b, description)
    tflite.ModelAddBuffers(b, buffers_vec)
    b.Finish(tflite.ModelEnd(b), file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


def _table_vector(b: flatbuffers.Builder, start_vector, offsets: list[int]) -> int:
    start_vector(b, len(offsets))
    for off in reversed(offsets):  # flatbuffers builds back to front
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _int32_vector(b: flatbuffers.Builder, values) -> int:
    return b.CreateNumpyVector(np.asarray(values, dtype="<i4").reshape(-1))


def _buffers(b: flatbuffers.Builder, tensors: list[Tensor]) -> tuple[list[int], list[int]]:
    """Buffer 0 is the empty buffer every activation points to; each constant gets its own."""
    tflite.BufferStart(b)
    buffers = [tflite.BufferEnd(b)]
    buffer_of = []
    for t in tensors:
        if not t.is_const:
            buffer_of.append(0)
            continue
        raw = _raw_bytes(t)
        b.Prep(BUFFER_ALIGNMENT, len(raw))  # align the data start; the length prefix sits just before it
        data = b.CreateNumpyVector(raw)
        tflite.BufferStart(b)
        tflite.BufferAddData(b, data)
        buffer_of.append(len(buffers))
        buffers.append(tflite.BufferEnd(b))
    return buffers, buffer_of


def _raw_bytes(t: Tensor) -> np.ndarray:
    data = np.asarray(t.data, dtype=np.dtype(t.dtype).newbyteorder("<"))
    if data.size != t.size:
        raise GraphError(f"tensor '{t.name}' holds {data.size} values but its shape {t.shape} needs {t.size}")
    return np.ascontiguousarray(data).reshape(-1).view(np.uint8)


def _tensor(b: flatbuffers.Builder, t: Tensor, buffer: int) -> int:
    if t.dtype not in TENSOR_TYPES:
        raise GraphError(f"tensor '{t.name}' has dtype {t.dtype}, which the TFLite writer does not support")
    name = b.CreateString(t.name)
    shape = _int32_vector(b, t.shape)
    quant = _quantization(b, t.quant) if t.quant is not None else None
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, TENSOR_TYPES[t.dtype])
    tflite.TensorAddBuffer(b, buffer)
    tflite.TensorAddName(b, name)
    if quant is not None:
        tflite.TensorAddQuantization(b, quant)
    if t.variable:
        tflite.TensorAddIsVariable(b, True)
    return tflite.TensorEnd(b)


def _quantization(b: flatbuffers.Builder, q) -> int:
    scale = b.CreateNumpyVector(np.asarray(q.scale, dtype="<f4"))
    zero_point = b.CreateNumpyVector(np.asarray(q.zero_point, dtype="<i8"))
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scale)
    tflite.QuantizationParametersAddZeroPoint(b, zero_point)
    tflite.QuantizationParametersAddQuantizedDimension(b, q.axis if q.axis is not None else 0)
    return tflite.QuantizationParametersEnd(b)


def _operator_codes(b: flatbuffers.Builder, operators: list[_Operator]) -> tuple[list[int], dict[str, int]]:
    """One OperatorCode per kind, in order of first use, at the highest version any of its ops needs."""
    versions: dict[str, int] = {}
    for o in operators:
        versions[o.kind] = max(versions.get(o.kind, 1), o.version)
    offsets = []
    for kind, version in versions.items():
        code = getattr(tflite.BuiltinOperator, kind)
        tflite.OperatorCodeStart(b)
        # Readers before schema 2.3 only know the int8 field, which saturates at 127 (PLACEHOLDER_FOR_GREATER_OP_CODES).
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        tflite.OperatorCodeAddBuiltinCode(b, code)
        tflite.OperatorCodeAddVersion(b, version)
        offsets.append(tflite.OperatorCodeEnd(b))
    return offsets, {kind: i for i, kind in enumerate(versions)}


def _operator(b: flatbuffers.Builder, o: _Operator, opcode_index: int) -> int:
    inputs = _int32_vector(b, o.inputs)
    outputs = _int32_vector(b, o.outputs)
    options = _options_table(b, o.options, o.fields) if o.options is not None else None
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, opcode_index)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, o.options))
        tflite.OperatorAddBuiltinOptions(b, options)
    return tflite.OperatorEnd(b)


def _options_table(b: flatbuffers.Builder, table: str, fields: dict) -> int:
    """Build e.g. Conv2DOptions with the schema package's Conv2DOptionsStart/Add<Field>/End functions; a list
    value (SqueezeOptions' SqueezeDims) is an int32 vector, made before the table starts."""
    vectors = {name: _int32_vector(b, v) for name, v in fields.items() if isinstance(v, (list, tuple))}
    getattr(tflite, f"{table}Start")(b)
    for name, value in fields.items():
        getattr(tflite, f"{table}Add{name}")(b, vectors.get(name, value))
    return getattr(tflite, f"{table}End")(b)


def _subgraph(b: flatbuffers.Builder, low: _Lowering, tensors: list[int], operators: list[int]) -> int:
    tensors_vec = _table_vector(b, tflite.SubGraphStartTensorsVector, tensors)
    inputs = _int32_vector(b, [low.ref(n) for n in low.graph.inputs])
    outputs = _int32_vector(b, [low.ref(n) for n in low.graph.outputs])
    operators_vec = _table_vector(b, tflite.SubGraphStartOperatorsVector, operators)
    name = b.CreateString("main")
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors_vec)
    tflite.SubGraphAddInputs(b, inputs)
    tflite.SubGraphAddOutputs(b, outputs)
    tflite.SubGraphAddOperators(b, operators_vec)
    tflite.SubGraphAddName(b, name)
    return tflite.SubGraphEnd(b)


def _lookup(low: _Lowering, op: Op):
    """LOOKUP is internal (passes/float_island.py folds a float32 island into it just before code generation)."""
    raise GraphError(f"op '{op.name}' is an internal LOOKUP table (the folded float ops {' -> '.join(op.attrs.chain)}); "
                     "TFLite has no such op: export the graph before compile_graph folds it")


LOWERINGS["LOOKUP"] = _lookup
