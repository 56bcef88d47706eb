"""Import .tflite flatbuffers (int8 and float32, TF 2.3 converters to today) into the IR.

Parsing goes through the `tflite` schema package; this module only maps schema objects to IR
tensors and ops, folds constant shape arithmetic, and rejects what we cannot run with one clear line.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import tflite

from mcucompress.errors import HybridModelError, McuError, ModelFileError, UnsupportedOpError
from mcucompress.frontend import tflite_const_eval
from mcucompress.ir import Graph, Op, QuantParams, Tensor, registry
from mcucompress.ir import ops as irops

TENSOR_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}
BUILTIN_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
ACTIVATION_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}
FOLDABLE = {"SHAPE", "STRIDED_SLICE", "PACK", "CAST", "GATHER", "SLICE", "REDUCE_PROD"}
WEIGHTED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}


def supported_tflite_ops() -> list[str]:
    return sorted({name for s in registry.all_specs() for name in s.tflite_names} | FOLDABLE)


def _options(op, cls):
    table = op.BuiltinOptions()
    if table is None:
        return None
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


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
    what = "an offset points outside the file" if isinstance(exc, struct.error) else f"{type(exc).__name__}: {exc}"
    what = " ".join(what.split())[:160]
    return ModelFileError(f"{path}: truncated or corrupt TFLite file ({what}); re-export the model")


def load(path: str | Path, keep_unsupported: bool = False) -> Graph:
    """The file as an IR graph; UnsupportedOpError naming every op of an unsupported kind, unless
    `keep_unsupported` (analysis only: such ops stay in the graph with their kind and no attributes)."""
    path = Path(path)
    raw, model = _open(path)
    try:
        return _build(path, raw, model, keep_unsupported)
    except McuError:
        raise
    except (IndexError, KeyError, TypeError, ValueError, struct.error) as exc:
        # A file whose tables parse but hold garbage (bad tensor indices, shapes, offsets): one line, no traceback.
        raise _corrupt(path, exc) from None


def _build(path: Path, raw: bytes, model, keep_unsupported: bool) -> Graph:
    sg = model.Subgraphs(0)
    graph = Graph(name=_model_name(path))
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
        data = _read_buffer(model, t.Buffer(), raw)
        arr = None
        if data is not None:
            arr = np.frombuffer(data, dtype=np.float16 if dtype == "float16" else dtype).reshape(shape)
            if dtype == "float16":
                arr, dtype = arr.astype(np.float32), "float32"
        graph.add_tensor(Tensor(name, shape, dtype, _read_quant(t), arr))
        if t.ShapeSignatureLength() and (t.ShapeSignatureAsNumpy() < 0).any():
            dynamic.add(name)
    graph.inputs = [names[i] for i in sg.InputsAsNumpy()]
    graph.outputs = [names[i] for i in sg.OutputsAsNumpy()]

    for index in range(sg.OperatorsLength()):
        op = sg.Operators(index)
        oc = model.OperatorCodes(op.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        kind = BUILTIN_NAMES.get(code, f"code {code}")
        if kind == "CUSTOM":
            kind = f"CUSTOM({(oc.CustomCode() or b'').decode()})"
        ins = ["" if i < 0 else names[i] for i in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [names[i] for i in op.OutputsAsNumpy()]
        _import_op(path, graph, index, kind, op, ins, outs, dynamic, reshaped, unsupported)
    if unsupported and not keep_unsupported:
        raise UnsupportedOpError(f"{path}: {', '.join(unsupported)}, which {'is' if len(unsupported) == 1 else 'are'} "
                                 f"not supported; supported ops: {', '.join(supported_tflite_ops())}")
    _fold_dequantized_constants(graph)
    _remove_dead_ops(graph)
    _check_hybrid(path, graph)
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


def _model_name(path: Path) -> str:
    stem = "".join(c if c.isalnum() else "_" for c in path.stem).strip("_").lower()
    return stem if stem and not stem[0].isdigit() else f"m_{stem}"


def _import_op(path: Path, graph: Graph, index: int, kind: str, op, ins: list[str], outs: list[str],
               dynamic: set[str], reshaped: set[str], unsupported: list[str]) -> None:
    tensors = graph.tensors
    if outs and outs[0] in dynamic and ins and ins[0]:
        _infer_dynamic_shape(path, graph, index, kind, op, ins, outs[0], reshaped)
    const_inputs = [tensors[n].data if n else None for n in ins]
    if kind in FOLDABLE or (kind in ("CONCATENATION", "MUL", "ADD", "SUB") and all(x is not None for x in const_inputs)):
        opts = _options(op, _options_class(kind))
        out = tensors[outs[0]]
        value = tflite_const_eval.evaluate(kind, const_inputs, [tensors[n].shape for n in ins], opts, out.dtype)
        if value is None:
            raise UnsupportedOpError(
                f"{path}: op {index} ({kind}) has non-constant inputs and cannot be folded; "
                f"supported ops: {', '.join(supported_tflite_ops())}"
            )
        out.data = np.asarray(value, dtype=out.dtype).reshape(out.shape)
        return
    if kind in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS") and const_inputs[0] is not None:
        out = tensors[outs[0]]
        out.data = const_inputs[0].reshape(out.shape).astype(out.dtype)
        return
    if kind in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS") and outs and ins and ins[0]:
        src, dst = tensors[ins[0]], tensors[outs[0]]
        if src.size != dst.size:
            raise UnsupportedOpError(
                f"{path}: op {index} ({kind}) turns shape {src.shape} into {dst.shape} (different sizes): the model "
                "has dynamic shapes that import cannot resolve; convert it with a fixed input shape"
            )
    kind = registry.tflite_aliases().get(kind, kind)
    if not registry.is_kind(kind):
        # Kept with the file's tensors so that `inspect` can show the whole model; load() names them all.
        graph.ops.append(Op(kind, ins, outs, irops.NoAttrs(), name=f"{kind.lower()}_{index}"))
        unsupported.append(f"op {index} is {kind}")
        return
    if not ins or not ins[0] or not outs or (kind in WEIGHTED and (len(ins) < 2 or not ins[1])):
        raise ModelFileError(f"{path}: op {index} ({kind}) lacks a required input or output; the file is corrupt")
    attrs = _attrs(path, graph, index, kind, op, ins, outs)
    if kind in ("RESHAPE", "MEAN", "PAD"):
        ins = ins[:1]  # their shape/axes/paddings operand is folded into the attrs
    graph.ops.append(Op(kind, ins, outs, attrs, name=f"{kind.lower()}_{index}"))


SAME_SHAPE = {"RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "QUANTIZE",
              "DEQUANTIZE", "SOFTMAX"}


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
        target = [int(d) for d in np.atleast_1d(operand)]
        if target.count(-1) == 1:
            known = int(np.prod([d for d in target if d != -1]))
            target[target.index(-1)] = int(np.prod(x)) // known if known else 0
        return tuple(target)
    if kind == "EXPAND_DIMS" and operand is not None:
        return tuple(np.expand_dims(np.empty(x, np.int8), int(np.atleast_1d(operand)[0])).shape)
    if kind == "SQUEEZE":
        o = _options(op, tflite.SqueezeOptions)
        dims = [int(d) % len(x) for d in o.SqueezeDimsAsNumpy()] if o is not None and o.SqueezeDimsLength() else None
        return tuple(d for i, d in enumerate(x) if not (d == 1 and (dims is None or i in dims)))
    if kind == "FULLY_CONNECTED" and len(ins) > 1 and ins[1]:
        n, k = t[ins[1]].shape
        o = _options(op, tflite.FullyConnectedOptions)
        if o is not None and o.KeepNumDims():
            return (*x[:-1], n)
        return (int(np.prod(x)) // k, n)
    if kind in SAME_SHAPE:
        return x
    if kind in ("ADD", "SUB", "MUL") and len(ins) > 1 and ins[1]:
        return tuple(int(d) for d in np.broadcast_shapes(x, t[ins[1]].shape))
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
        o = _options(op, cls)
        _, in_h, in_w, in_c = t[ins[0]].shape
        _, out_h, out_w, out_c = t[outs[0]].shape
        _, kh, kw, _ = t[ins[1]].shape
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
        o = _options(op, tflite.Pool2DOptions)
        _, in_h, in_w, _ = t[ins[0]].shape
        _, out_h, out_w, _ = t[outs[0]].shape
        fh, fw = o.FilterHeight(), o.FilterWidth()
        top, bottom = _same_or_valid_pads(o.Padding(), in_h, out_h, fh, o.StrideH(), 1)
        left, right = _same_or_valid_pads(o.Padding(), in_w, out_w, fw, o.StrideW(), 1)
        return irops.Pool2DAttrs(fh, fw, o.StrideH(), o.StrideW(), top, bottom, left, right,
                                 _activation(path, index, kind, o.FusedActivationFunction()))
    if kind == "MEAN":
        o = _options(op, tflite.ReducerOptions)
        axes_t = t[ins[1]]
        if axes_t.data is None:
            raise UnsupportedOpError(f"{path}: op {index} (MEAN) has non-constant axes")
        rank = len(t[ins[0]].shape)
        axes = tuple(sorted({int(a) % rank for a in np.atleast_1d(axes_t.data)}))
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
        return irops.PadAttrs(tuple((int(a), int(b)) for a, b in p.reshape(-1, 2)))
    if kind == "CONCATENATION":
        o = _options(op, tflite.ConcatenationOptions)
        rank = len(t[outs[0]].shape)
        return irops.ConcatenationAttrs(int(o.Axis()) % rank, _activation(path, index, kind, o.FusedActivationFunction()))
    if kind == "LEAKY_RELU":
        o = _options(op, tflite.LeakyReluOptions)
        return irops.LeakyReluAttrs(float(np.float32(o.Alpha())))
    return irops.NoAttrs()


def _fold_dequantized_constants(graph: Graph) -> None:
    """float16/int8 constant weights behind a DEQUANTIZE become float32 constants."""
    kept = []
    for op in graph.ops:
        src = graph.tensors[op.inputs[0]] if op.inputs else None
        if op.kind == "DEQUANTIZE" and src is not None and src.is_const:
            out = graph.tensors[op.outputs[0]]
            data = src.data.astype(np.float32)
            if src.quant is not None:
                q = src.quant
                shape = [1] * data.ndim
                if q.per_axis:
                    shape[q.axis] = -1
                data = (data - q.zero_point.reshape(shape)) * q.scale.reshape(shape)
            out.data = data.astype(np.float32)
            continue
        kept.append(op)
    graph.ops = kept


def _check_hybrid(path: Path, graph: Graph) -> None:
    for index, op in enumerate(graph.ops):
        if op.kind in WEIGHTED and len(op.inputs) > 1:
            act, weights = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
            if act.dtype == "float32" and weights.dtype == "int8":
                raise HybridModelError(
                    f"{path}: hybrid model (float32 activations, int8 weights in op {index} {op.kind}); "
                    "convert it as a full-integer int8 model, or give the pure float32 model and quantize it with --calibration"
                )
