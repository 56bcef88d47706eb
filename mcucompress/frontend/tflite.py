"""Import .tflite flatbuffers (int8 and float32, TF 2.3 converters to today) into the IR.

Parsing goes through the `tflite` schema package; this module only maps schema objects to IR
tensors and ops, folds constant shape arithmetic, and rejects what we cannot run with one clear line.
"""

from __future__ import annotations

import math
import os
import struct
import traceback
from pathlib import Path

import numpy as np
import tflite

from mcucompress.errors import (
    SUPPORTED_OPS_HINT,
    GraphError,
    HybridModelError,
    McuError,
    ModelFileError,
    UnsupportedOpError,
)
from mcucompress.frontend import tflite_const_eval, tflite_movement, tflite_recurrent, tflite_resize, tflite_typed
from mcucompress.ir import Graph, Op, QuantParams, Tensor, registry
from mcucompress.ir import ops as irops
from mcucompress.ir.consistency import BROADCAST_BINARY, MAX_RANK, check_size, check_tensor
from mcucompress.names import model_name

TENSOR_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}
BUILTIN_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
ACTIVATION_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}
FOLDABLE = {"SHAPE", "STRIDED_SLICE", "PACK", "CAST", "GATHER", "SLICE", "REDUCE_PROD"}
WEIGHTED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
REDUCTIONS = ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN")  # input 1 holds the axes
NEEDS_OPTIONS = {"STRIDED_SLICE", "PACK", "GATHER", "REDUCE_PROD", "CONCATENATION"}  # folding reads their options


def supported_tflite_ops() -> list[str]:
    return sorted({name for s in registry.all_specs() for name in s.tflite_names} | FOLDABLE)


def _options(op, cls):
    """The op's builtin options as `cls`; None when absent or of another type (as TFLite reads them)."""
    table = op.BuiltinOptions()
    if table is None or op.BuiltinOptionsType() != getattr(tflite.BuiltinOptions, cls.__name__, -1):
        return None
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _required_options(path: Path, index: int, kind: str, op, cls):
    o = _options(op, cls)
    if o is None:
        raise ModelFileError(f"{path}: op {index} ({kind}) has no {cls.__name__} (missing or of another type); "
                             "the file is corrupt; re-export the model")
    return o


def _dims(path: Path, index: int, kind: str, t, rank: int, what: str) -> tuple[int, ...]:
    """The shape of an op's tensor, which must have `rank` positive dimensions."""
    if len(t.shape) != rank or any(d <= 0 for d in t.shape):
        raise ModelFileError(f"{path}: op {index} ({kind}) {what} '{t.name}' has shape {list(t.shape)}; it needs "
                             f"{rank} positive dimensions; the file is corrupt; re-export the model")
    return t.shape


def _tensor_names(path: Path, names: list[str], indices, what: str, optional: bool = False) -> list[str]:
    """Tensor indices of `what` as names; -1 is an omitted optional input."""
    out = []
    for i in (int(i) for i in indices):
        if optional and i == -1:
            out.append("")
        elif 0 <= i < len(names):
            out.append(names[i])
        else:
            raise ModelFileError(f"{path}: {what} refers to tensor {i}, but the model has {len(names)} tensors; "
                                 "the file is corrupt; re-export the model")
    return out


def _activation(path: Path, index: int, kind: str, code: int) -> str:
    if code not in ACTIVATION_NAMES:
        raise UnsupportedOpError(
            f"{path}: op {index} ({kind}) has fused activation code {code}; only NONE, RELU, RELU_N1_TO_1, RELU6 are supported"
        )
    return ACTIVATION_NAMES[code]


def _same_or_valid_pads(padding: int, in_size: int, out_size: int, filt: int, stride: int, dilation: int):
    """TFLite's padding rule: SAME puts the smaller half before (top/left), VALID pads nothing."""
    if padding == tflite.Padding.VALID:
        return 0, 0
    effective = (filt - 1) * dilation + 1
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return total // 2, total - total // 2


def _read_buffer(model, buf_index: int, raw: bytes) -> bytes | None:
    if buf_index <= 0 or buf_index >= model.BuffersLength():
        return None
    buf = model.Buffers(buf_index)
    if buf.Offset() > 1:
        return raw[buf.Offset() : buf.Offset() + buf.Size()]
    if buf.DataLength() == 0:
        return None
    return buf.DataAsNumpy().tobytes()


def _read_quant(t) -> QuantParams | None:
    q = t.Quantization()
    if q is None or q.ScaleLength() == 0:
        return None
    scale = q.ScaleAsNumpy().astype(np.float32)
    zp = q.ZeroPointAsNumpy().astype(np.int64) if q.ZeroPointLength() else np.zeros(scale.size, np.int64)
    axis = int(q.QuantizedDimension()) if scale.size > 1 else None
    return QuantParams(scale, zp, axis)


def _open(path: Path) -> tuple[bytes, object]:
    raw = path.read_bytes()
    if len(raw) == 0:
        raise ModelFileError(f"{path}: file is empty; give a .tflite model")
    if len(raw) < 8 or raw[4:8] != b"TFL3":
        raise ModelFileError(f"{path}: not a TFLite flatbuffer (no 'TFL3' identifier); give a .tflite model")
    try:
        model = tflite.Model.GetRootAs(raw, 0)
        if model.SubgraphsLength() < 1:
            raise ModelFileError(f"{path}: the model has no subgraph")
        sg = model.Subgraphs(0)
        # Touch every table once so a truncated file fails here, not half-way through import.
        for i in range(sg.TensorsLength()):
            sg.Tensors(i).ShapeAsNumpy()
        for i in range(model.BuffersLength()):
            b = model.Buffers(i)
            if b.DataLength():
                b.DataAsNumpy()
        for i in range(sg.OperatorsLength()):
            sg.Operators(i).InputsAsNumpy()
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - flatbuffers raises bare IndexError/struct.error on truncation
        raise _corrupt(path, exc) from None
    return raw, model


def _corrupt(path: Path, exc: Exception) -> ModelFileError:
    # The flatbuffers reader bounds-checks every offset and length it follows (struct.error, or a
    # ValueError/TypeError from its number codecs): that is the file's structure being broken, not a bug.
    frames = traceback.extract_tb(exc.__traceback__)
    in_reader = isinstance(exc, struct.error) or bool(frames and f"{os.sep}flatbuffers{os.sep}" in frames[-1].filename)
    what = "an offset or length points outside the file" if in_reader else f"{type(exc).__name__}: {exc}"
    what = " ".join(what.split())[:160]
    return ModelFileError(f"{path}: truncated or corrupt TFLite file ({what}); re-export the model")


def load(path: str | Path, keep_unsupported: bool = False, dequantize_hybrid: bool = False) -> Graph:
    """The file as an IR graph; UnsupportedOpError naming every op of an unsupported kind, unless
    `keep_unsupported` (analysis only: such ops stay in the graph with their kind and no attributes).
    A hybrid model (float32 activations, int8 weights: the converter's dynamic-range output) is refused unless
    `dequantize_hybrid`: its weights then become float32 exactly as TFLite dequantizes them, for our PTQ."""
    path = Path(path)
    raw, model = _open(path)
    try:
        return _build(path, raw, model, keep_unsupported, dequantize_hybrid)
    except GraphError as exc:
        raise GraphError(f"{path}: {exc}") from None
    except McuError:
        raise
    except (IndexError, KeyError, TypeError, ValueError, AttributeError, ArithmeticError, struct.error) as exc:
        # Defence in depth behind the explicit checks: a table that parses but holds garbage the checks did not
        # foresee is one line, no traceback (the fuzz test counts these separately: each is a check to add).
        raise _corrupt(path, exc) from None
    except MemoryError:
        raise ModelFileError(f"{path}: the model's shapes or constants need more memory than this machine has; "
                             "the file is corrupt or not a microcontroller model") from None


def _build(path: Path, raw: bytes, model, keep_unsupported: bool, dequantize_hybrid: bool = False) -> Graph:
    sg = model.Subgraphs(0)
    graph = Graph(name=model_name(path))
    names: list[str] = []
    seen: set[str] = set()
    dynamic: set[str] = set()  # shape_signature has a -1: the stored shape is a placeholder (batch 1, or 1s)
    reshaped: set[str] = set()  # dynamic tensors whose shape import inferred and changed
    unsupported: list[str] = []  # "op <index> is <kind>" of every op we cannot run
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        name = (t.Name() or b"").decode("utf-8", "replace") or f"tensor_{i}"
        if name in seen:
            name = f"{name}_{i}"
        seen.add(name)
        names.append(name)
        dtype = TENSOR_TYPES.get(t.Type())
        if dtype is None:
            raise ModelFileError(f"{path}: tensor {i} '{name}' has unsupported type code {t.Type()}")
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        check_size(tuple(max(d, 1) for d in shape), f"{path}: tensor {i} '{name}'", ModelFileError)
        if any(d < 0 for d in shape):
            raise ModelFileError(f"{path}: tensor {i} '{name}' has a negative dimension in shape {list(shape)}; "
                                 "the file is corrupt; re-export the model")
        data = _read_buffer(model, t.Buffer(), raw)
        arr = None
        itemsize = 2 if dtype == "float16" else np.dtype(dtype).itemsize
        if data is not None and len(data) != math.prod(shape) * itemsize:
            raise ModelFileError(f"{path}: tensor {i} '{name}' has {len(data)} bytes of data for shape {list(shape)} "
                                 f"({math.prod(shape) * itemsize} bytes of {dtype}); the file is corrupt; re-export it")
        if data is not None:
            arr = np.frombuffer(data, dtype=np.float16 if dtype == "float16" else dtype).reshape(shape)
            if dtype == "float16":
                arr, dtype = arr.astype(np.float32), "float32"
        variable = bool(t.IsVariable())  # recurrent state: TFLM resets it at init whatever the buffer holds
        graph.add_tensor(Tensor(name, shape, dtype, _read_quant(t), None if variable else arr, variable))
        if t.ShapeSignatureLength() and (t.ShapeSignatureAsNumpy() < 0).any():
            dynamic.add(name)
    graph.inputs = _tensor_names(path, names, sg.InputsAsNumpy() if sg.InputsLength() else [], "the model's inputs")
    graph.outputs = _tensor_names(path, names, sg.OutputsAsNumpy() if sg.OutputsLength() else [], "the model's outputs")
    if not graph.inputs or not graph.outputs:
        raise ModelFileError(f"{path}: the model lists no inputs or no outputs; the file is corrupt; re-export it")

    for index in range(sg.OperatorsLength()):
        op = sg.Operators(index)
        if not 0 <= op.OpcodeIndex() < model.OperatorCodesLength():
            raise ModelFileError(f"{path}: op {index} has opcode index {op.OpcodeIndex()}, but the model has "
                                 f"{model.OperatorCodesLength()} opcodes; the file is corrupt; re-export the model")
        oc = model.OperatorCodes(op.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        kind = BUILTIN_NAMES.get(code, f"code {code}")
        if kind == "CUSTOM":
            kind = f"CUSTOM({(oc.CustomCode() or b'').decode('utf-8', 'replace')})"
        ins = _tensor_names(path, names, op.InputsAsNumpy() if op.InputsLength() else [], f"op {index} ({kind})", True)
        outs = _tensor_names(path, names, op.OutputsAsNumpy() if op.OutputsLength() else [], f"op {index} ({kind})")
        _import_op(path, graph, index, kind, op, ins, outs, dynamic, reshaped, unsupported)
    if unsupported and not keep_unsupported:
        raise UnsupportedOpError(f"{path}: {', '.join(unsupported)}, which {'is' if len(unsupported) == 1 else 'are'} "
                                 f"not supported; {SUPPORTED_OPS_HINT}")
    _fold_dequantized_constants(graph)
    _remove_dead_ops(graph)
    _check_hybrid(path, graph, dequantize_hybrid)
    graph.remove_unused_tensors()
    return graph


def _remove_dead_ops(graph: Graph) -> None:
    """Drop ops whose outputs nothing reads: e.g. a RESHAPE that only fed a SHAPE folded away at import."""
    used = set(graph.outputs)
    kept = []
    for op in reversed(graph.ops):
        if any(n in used for n in op.outputs):
            kept.append(op)
            used.update(n for n in op.inputs if n)
    graph.ops = kept[::-1]




def _import_op(path: Path, graph: Graph, index: int, kind: str, op, ins: list[str], outs: list[str],
               dynamic: set[str], reshaped: set[str], unsupported: list[str]) -> None:
    tensors = graph.tensors
    if kind == "SPLIT" and len(ins) == 2:
        ins = [ins[1], ins[0]]  # TFLite's SPLIT takes (axis, input): the activation goes first in the IR
    if outs and outs[0] in dynamic and ins and ins[0]:
        _infer_dynamic_shape(path, graph, index, kind, op, ins, outs[0], reshaped)
    const_inputs = [tensors[n].data if n else None for n in ins]
    if kind in FOLDABLE or (kind in ("CONCATENATION", "MUL", "ADD", "SUB") and all(x is not None for x in const_inputs)):
        opts = _options(op, _options_class(kind))
        if opts is None and kind in NEEDS_OPTIONS:
            _required_options(path, index, kind, op, _options_class(kind))
        if not outs:
            raise ModelFileError(f"{path}: op {index} ({kind}) has no output; the file is corrupt; re-export the model")
        out = tensors[outs[0]]
        try:
            shapes = [tensors[n].shape if n else () for n in ins]
            value = tflite_const_eval.evaluate(kind, const_inputs, shapes, opts, out.dtype)
            if value is not None:
                value = np.asarray(value, dtype=out.dtype).reshape(out.shape)
        except (ValueError, IndexError, TypeError, OverflowError) as exc:  # numpy on inconsistent constants
            raise ModelFileError(f"{path}: op {index} ({kind}) cannot be evaluated on its constant inputs "
                                 f"({' '.join(str(exc).split())[:120]}); the file is corrupt; re-export the model") from None
        if value is None and registry.is_kind(kind):
            return _import_op_kind(path, graph, index, kind, op, ins, outs, unsupported)
        if value is None:
            raise UnsupportedOpError(
                f"{path}: op {index} ({kind}) has non-constant inputs and cannot be folded; {SUPPORTED_OPS_HINT}"
            )
        out.data = value
        return
    if kind in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS") and const_inputs and const_inputs[0] is not None and outs:
        out = tensors[outs[0]]
        if const_inputs[0].size != out.size:
            raise ModelFileError(f"{path}: op {index} ({kind}) reshapes a constant of {const_inputs[0].size} values "
                                 f"into {list(out.shape)}; the file is corrupt; re-export the model")
        out.data = const_inputs[0].reshape(out.shape).astype(out.dtype)
        return
    if kind in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS") and outs and ins and ins[0]:
        src, dst = tensors[ins[0]], tensors[outs[0]]
        if src.size != dst.size:
            raise UnsupportedOpError(
                f"{path}: op {index} ({kind}) turns shape {src.shape} into {dst.shape} (different sizes): the model "
                "has dynamic shapes that import cannot resolve; convert it with a fixed input shape"
            )
    _import_op_kind(path, graph, index, kind, op, ins, outs, unsupported)


def _import_op_kind(path: Path, graph: Graph, index: int, kind: str, op, ins: list[str], outs: list[str],
                    unsupported: list[str]) -> None:
    """Append the op as its registry kind (or as an unsupported op, named in `unsupported`)."""
    builtin = kind
    kind = registry.tflite_aliases().get(kind, kind)
    if not registry.is_kind(kind):
        # Kept with the file's tensors so that `inspect` can show the whole model; load() names them all.
        graph.ops.append(Op(kind, ins, outs, irops.NoAttrs(), name=f"{kind.lower()}_{index}"))
        unsupported.append(f"op {index} is {kind}")
        return
    if not ins or not ins[0] or not outs or (kind in WEIGHTED and (len(ins) < 2 or not ins[1])):
        raise ModelFileError(f"{path}: op {index} ({kind}) lacks a required input or output; the file is corrupt")
    attrs = tflite_movement.attrs(path, graph, index, builtin, op, ins, outs) if kind in tflite_movement.KINDS \
        else tflite_recurrent.attrs(path, graph, index, kind, op, ins, outs) if kind in tflite_recurrent.KINDS \
        else _attrs(path, graph, index, kind, op, ins, outs)
    if kind in tflite_resize.KINDS:
        attrs, ins = tflite_resize.attrs(path, graph, index, kind, op, ins, outs), ins[:1]  # size is in the attrs
    if kind in ("RESHAPE", "PAD", *REDUCTIONS) or (kind in tflite_movement.KINDS and kind != "PACK"):
        ins = ins[:1]  # their shape/axes/paddings/... operands are folded into the attrs
    if kind in tflite_typed.KINDS:  # int32 / bool ops: their constant operands, or folded into a constant
        converted = tflite_typed.convert(path, graph, index, kind, ins, outs)
        if converted is None:
            return
        attrs, ins = converted
    new = Op(kind, ins, outs, attrs, name=f"{kind.lower()}_{index}")
    if kind in tflite_movement.KINDS and tflite_movement.fold(graph, new):
        return
    graph.ops.append(new)


SAME_SHAPE = {"RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "QUANTIZE",
              "DEQUANTIZE", "SOFTMAX", "ABS", "PRELU", "ELU", "RSQRT",
              "SQRT", "EXP", "L2_NORMALIZATION", "LOG_SOFTMAX", "NEG", "GELU"}


def _inferred_shape(graph: Graph, kind: str, op, ins: list[str]) -> tuple[int, ...] | None:
    """The output shape of `kind` from its input shapes and constant operands (None: not inferable here)."""
    t = graph.tensors
    x = t[ins[0]].shape
    operand = t[ins[1]].data if len(ins) > 1 and ins[1] else None
    if kind == "RESHAPE":
        if operand is None:
            o = _options(op, tflite.ReshapeOptions)
            if o is None or o.NewShapeLength() == 0:
                return None
            operand = o.NewShapeAsNumpy()
        target = [int(d) for d in np.asarray(operand).reshape(-1)]
        if len(target) > MAX_RANK or any(d < -1 for d in target):
            return None  # not a shape: the caller's checks and the verifier name the op
        if target.count(-1) == 1:
            known = math.prod(d for d in target if d != -1)
            target[target.index(-1)] = math.prod(x) // known if known else 0
        return tuple(target)
    if kind == "EXPAND_DIMS" and operand is not None and operand.size:
        axis = int(np.atleast_1d(operand)[0])
        if not -len(x) - 1 <= axis <= len(x):
            return None
        axis %= len(x) + 1
        return (*x[:axis], 1, *x[axis:])
    if kind == "SQUEEZE" and x:
        o = _options(op, tflite.SqueezeOptions)
        dims = [int(d) % len(x) for d in o.SqueezeDimsAsNumpy()] if o is not None and o.SqueezeDimsLength() else None
        return tuple(d for i, d in enumerate(x) if not (d == 1 and (dims is None or i in dims)))
    if kind == "FULLY_CONNECTED" and len(ins) > 1 and ins[1] and len(t[ins[1]].shape) == 2 and min(t[ins[1]].shape) > 0:
        n, k = t[ins[1]].shape
        o = _options(op, tflite.FullyConnectedOptions)
        if o is not None and o.KeepNumDims():
            return (*x[:-1], n)
        return (math.prod(x) // k, n)
    if kind == "BATCH_MATMUL" and len(ins) > 1 and ins[1]:
        from mcucompress.reference.batch_matmul import output_shape

        o = _options(op, tflite.BatchMatMulOptions)
        try:
            return output_shape(x, t[ins[1]].shape, bool(o and o.AdjX()), bool(o and o.AdjY()))
        except ValueError:
            return None  # the verifier names the op whose shapes do not multiply
    if kind in SAME_SHAPE:
        return x
    if kind in BROADCAST_BINARY and len(ins) > 1 and ins[1]:
        try:
            return tuple(int(d) for d in np.broadcast_shapes(x, t[ins[1]].shape))
        except ValueError:
            return None  # the verifier names the op whose shapes do not broadcast
    return None


def _infer_dynamic_shape(path: Path, graph: Graph, index: int, kind: str, op, ins: list[str], out_name: str,
                         reshaped: set[str]) -> None:
    """A dynamic output (shape_signature with -1) gets the shape that its op computes from the static input.

    A current converter lowers Keras' Dense on a rank-3 tensor to RESHAPE [prod(leading dims), K] (from
    SHAPE/GATHER/REDUCE_PROD/CONCATENATION) -> FULLY_CONNECTED -> RESHAPE, storing [1, 1] and [1, N] as the
    dynamic tensors' shapes: with the input shape fixed, every such shape is known at import time."""
    out = graph.tensors[out_name]
    if kind in FOLDABLE or out.is_const:
        return
    shape = _inferred_shape(graph, kind, op, ins)
    if shape is None:
        if any(n in reshaped for n in ins if n):
            raise UnsupportedOpError(
                f"{path}: op {index} ({kind}) has an output of dynamic shape that import cannot infer; "
                "convert the model with a fixed input shape"
            )
        return
    if shape != out.shape and all(d > 0 for d in shape):
        out.shape = shape
        reshaped.add(out_name)


def _options_class(kind: str):
    names = {
        "STRIDED_SLICE": "StridedSliceOptions",
        "PACK": "PackOptions",
        "CONCATENATION": "ConcatenationOptions",
        "GATHER": "GatherOptions",
        "REDUCE_PROD": "ReducerOptions",
        "CAST": "CastOptions",
        "SLICE": "SliceOptions",
        "SHAPE": "ShapeOptions",
        "MUL": "MulOptions",
        "ADD": "AddOptions",
        "SUB": "SubOptions",
    }
    return getattr(tflite, names[kind])


def _attrs(path: Path, graph: Graph, index: int, kind: str, op, ins: list[str], outs: list[str]):
    t = graph.tensors
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        cls = tflite.Conv2DOptions if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions
        o = _required_options(path, index, kind, op, cls)
        _, in_h, in_w, in_c = _dims(path, index, kind, t[ins[0]], 4, "input")
        _, out_h, out_w, out_c = _dims(path, index, kind, t[outs[0]], 4, "output")
        _, kh, kw, _ = _dims(path, index, kind, t[ins[1]], 4, "weights")
        dh, dw = o.DilationHFactor(), o.DilationWFactor()
        top, bottom = _same_or_valid_pads(o.Padding(), in_h, out_h, kh, o.StrideH(), dh)
        left, right = _same_or_valid_pads(o.Padding(), in_w, out_w, kw, o.StrideW(), dw)
        common = {
            "stride_h": o.StrideH(), "stride_w": o.StrideW(), "dilation_h": dh, "dilation_w": dw,
            "pad_top": top, "pad_bottom": bottom, "pad_left": left, "pad_right": right,
            "activation": _activation(path, index, kind, o.FusedActivationFunction()),
        }
        if kind == "CONV_2D":
            if t[ins[1]].shape[3] != in_c:
                raise UnsupportedOpError(f"{path}: op {index} (CONV_2D) is a grouped convolution; groups are not supported")
            return irops.Conv2DAttrs(**common)
        return irops.DepthwiseConv2DAttrs(**common, depth_multiplier=out_c // in_c)
    if kind == "FULLY_CONNECTED":
        o = _options(op, tflite.FullyConnectedOptions)
        if o is None:
            return irops.FullyConnectedAttrs()
        if o.WeightsFormat() != 0:
            raise UnsupportedOpError(f"{path}: op {index} (FULLY_CONNECTED) uses shuffled weights; re-convert with default weights")
        return irops.FullyConnectedAttrs(_activation(path, index, kind, o.FusedActivationFunction()), bool(o.KeepNumDims()))
    if kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        o = _required_options(path, index, kind, op, tflite.Pool2DOptions)
        _, in_h, in_w, _ = _dims(path, index, kind, t[ins[0]], 4, "input")
        _, out_h, out_w, _ = _dims(path, index, kind, t[outs[0]], 4, "output")
        fh, fw = o.FilterHeight(), o.FilterWidth()
        top, bottom = _same_or_valid_pads(o.Padding(), in_h, out_h, fh, o.StrideH(), 1)
        left, right = _same_or_valid_pads(o.Padding(), in_w, out_w, fw, o.StrideW(), 1)
        return irops.Pool2DAttrs(fh, fw, o.StrideH(), o.StrideW(), top, bottom, left, right,
                                 _activation(path, index, kind, o.FusedActivationFunction()))
    if kind in REDUCTIONS:
        o = _options(op, tflite.ReducerOptions)
        if len(ins) < 2 or not ins[1]:
            raise ModelFileError(f"{path}: op {index} ({kind}) has no axes operand; the file is corrupt; re-export the model")
        axes_t = t[ins[1]]
        if axes_t.data is None:
            raise UnsupportedOpError(f"{path}: op {index} ({kind}) has non-constant axes")
        rank = len(t[ins[0]].shape)
        axes = np.atleast_1d(axes_t.data).astype(np.int64)
        if rank == 0 or axes.size == 0 or ((axes < -rank) | (axes >= rank)).any():
            raise ModelFileError(f"{path}: op {index} ({kind}) reduces axes {axes.tolist()} of a rank-{rank} input; "
                                 "the file is corrupt; re-export the model")
        axes = tuple(sorted({int(a) % rank for a in axes}))
        return irops.MeanAttrs(axes, bool(o.KeepDims()) if o else False)
    if kind in ("ADD", "SUB", "MUL"):
        cls = {"ADD": tflite.AddOptions, "SUB": tflite.SubOptions, "MUL": tflite.MulOptions}[kind]
        o = _options(op, cls)
        act = _activation(path, index, kind, o.FusedActivationFunction()) if o else "NONE"
        return irops.ElementwiseAttrs(act)
    if kind == "SOFTMAX":
        o = _options(op, tflite.SoftmaxOptions)
        return irops.SoftmaxAttrs(float(np.float32(o.Beta())) if o else 1.0)
    if kind == "PAD":
        p = t[ins[1]].data
        if p is None:
            raise UnsupportedOpError(f"{path}: op {index} (PAD) has non-constant paddings")
        if len(ins) > 2 and ins[2]:
            value = t[ins[2]].data
            expected = t[ins[0]].quant.zp if t[ins[0]].quant else 0
            if value is None or value.reshape(-1)[0] != expected:
                raise UnsupportedOpError(f"{path}: op {index} (PADV2) pads with a value other than zero; only zero padding is supported")
        if p.size != 2 * len(t[ins[0]].shape):
            raise ModelFileError(f"{path}: op {index} (PAD) has paddings of shape {list(p.shape)} for a rank-"
                                 f"{len(t[ins[0]].shape)} input; the file is corrupt; re-export the model")
        return irops.PadAttrs(tuple((int(a), int(b)) for a, b in p.reshape(-1, 2)))
    if kind == "CONCATENATION":
        o = _required_options(path, index, kind, op, tflite.ConcatenationOptions)
        rank = len(t[outs[0]].shape)
        if not -rank <= o.Axis() < rank:
            raise ModelFileError(f"{path}: op {index} (CONCATENATION) has axis {o.Axis()} for a rank-{rank} output; "
                                 "the file is corrupt; re-export the model")
        return irops.ConcatenationAttrs(int(o.Axis()) % rank, _activation(path, index, kind, o.FusedActivationFunction()))
    if kind == "PRELU" and (len(ins) < 2 or not ins[1] or t[ins[1]].data is None):
        raise UnsupportedOpError(f"{path}: op {index} (PRELU) has a non-constant alpha; only a constant alpha is supported")
    if kind == "L2_NORMALIZATION":
        o = _options(op, tflite.L2NormOptions)
        if o is not None and _activation(path, index, kind, o.FusedActivationFunction()) != "NONE":
            raise UnsupportedOpError(f"{path}: op {index} (L2_NORMALIZATION) has a fused activation; TFLM supports none")
    if kind == "DIV":
        o = _options(op, tflite.DivOptions)
        return irops.ElementwiseAttrs(_activation(path, index, kind, o.FusedActivationFunction()) if o else "NONE")
    if kind == "GELU":
        o = _options(op, tflite.GeluOptions)
        return irops.GeluAttrs(bool(o.Approximate()) if o else False)
    if kind == "BATCH_MATMUL":
        o = _options(op, tflite.BatchMatMulOptions)
        return irops.BatchMatMulAttrs(bool(o.AdjX()), bool(o.AdjY())) if o else irops.BatchMatMulAttrs()
    if kind == "LEAKY_RELU":
        o = _required_options(path, index, kind, op, tflite.LeakyReluOptions)
        return irops.LeakyReluAttrs(float(np.float32(o.Alpha())))
    return irops.NoAttrs()


def _fold_dequantized_constants(graph: Graph) -> None:
    """float16/int8 constant weights behind a DEQUANTIZE become float32 constants."""
    kept = []
    for op in graph.ops:
        src = graph.tensors[op.inputs[0]] if op.inputs else None
        if op.kind == "DEQUANTIZE" and src is not None and src.is_const:
            graph.tensors[op.outputs[0]].data = _dequantized(src)
            continue
        kept.append(op)
    graph.ops = kept


def _check_hybrid(path: Path, graph: Graph, dequantize: bool) -> None:
    """A float op with int8 weights: refused, or (dequantize) its weights become float32 constants."""
    for index, op in enumerate(graph.ops):
        if op.kind in WEIGHTED and len(op.inputs) > 1:
            act, weights = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
            if act.dtype == "float32" and weights.dtype == "int8":
                if not dequantize:
                    raise HybridModelError(
                        f"{path}: hybrid model (float32 activations, int8 weights in op {index} {op.kind}); give "
                        "--calibration DATA to quantize it to full int8 (its weights are dequantized exactly, then "
                        "quantized with the activations), or convert it as a full-integer int8 model")
                _dequantize_weights(weights)


def _dequantized(t) -> np.ndarray:
    """A constant's values as TFLite's DEQUANTIZE gives them: scale * (q - zero point), per axis where so."""
    check_tensor(t)  # its quantized dimension and scales, before they index anything
    data = t.data.astype(np.float32)
    if t.quant is not None:
        q = t.quant
        shape = [1] * data.ndim
        if q.per_axis:
            shape[q.axis] = -1
        data = (data - q.zero_point.reshape(shape)) * q.scale.reshape(shape)
    return data.astype(np.float32)


def _dequantize_weights(t) -> None:
    """A hybrid op's int8 weights become float32 constants (exactly what the hybrid kernels multiply by)."""
    t.data, t.dtype, t.quant = _dequantized(t), "float32", None
