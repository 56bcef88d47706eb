"""Import .onnx models (opset 11 and newer; float32, or int8 QDQ) into the IR.

Steps: parse and check the protobuf, fix the batch dimension to 1 (any other dynamic dimension is an
error), infer static shapes, convert node by node (onnx_context, onnx_ops*.py, onnx_qdq.py), then run
the default graph passes (constant folding, BatchNorm folding, activation fusion, identity removal).
Activations become NHWC; weights are rearranged at import so no transpose runs on the device.
"""

from __future__ import annotations

from pathlib import Path

from mcucompress.errors import SUPPORTED_OPS_HINT, McuError, ModelFileError, UnsupportedOpError
from mcucompress.frontend.onnx_checks import check_proto, check_shapes
from mcucompress.ir import Graph, registry
from mcucompress.names import model_name

MIN_OPSET = 11
LEFTOVER_KINDS = {
    "HARD_SIGMOID": "HardSigmoid is supported only as x * HardSigmoid(x) with alpha=1/6, beta=0.5 (HardSwish)",
    "RELU_N1_TO_1": "Clip(-1, 1) is supported only right after a Conv, Gemm, MatMul, Add, Sub, Mul or pool "
                    "(as its fused activation)",
}


def _onnx(path: Path):
    try:
        import onnx
    except ImportError:
        raise ModelFileError(f"{path}: reading ONNX models needs the onnx package; pip install onnx") from None
    return onnx




def _one_line(exc: Exception, limit: int = 160) -> str:
    return " ".join(str(exc).split())[:limit] or type(exc).__name__


def _parse(path: Path):
    onnx = _onnx(path)
    raw = path.read_bytes()
    if not raw:
        raise ModelFileError(f"{path}: file is empty; give a .tflite or .onnx model")
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model_from_string(raw)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: not a valid ONNX protobuf ({_one_line(exc, 80)}); re-export the model") from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise ModelFileError(f"{path}: truncated or corrupt ONNX file (no graph or no nodes); re-export the model")
    check_proto(path, model)  # names, node outputs, initializers, external data: before anything reads them
    if any(i.data_location == onnx.TensorProto.EXTERNAL for i in model.graph.initializer):
        try:
            onnx.load_external_data_for_model(model, str(path.parent))
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"{path}: cannot read external weight data ({_one_line(exc)})") from None
    return model


def _check(path: Path, model) -> None:
    onnx = _onnx(path)
    opsets = {o.domain: o.version for o in model.opset_import}
    version = opsets.get("", opsets.get("ai.onnx"))
    if version is None or version < MIN_OPSET:
        raise UnsupportedOpError(f"{path}: ONNX opset {version}; re-export the model with opset {MIN_OPSET} or newer")
    for index, node in enumerate(model.graph.node):
        if node.domain in ("", "ai.onnx") and not onnx.defs.has(node.op_type):
            raise UnsupportedOpError(f"{path}: node {index} '{node.name or node.output[0]}' is {node.op_type}, which "
                                     f"is not supported; {SUPPORTED_OPS_HINT}")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - the checker raises ValidationError, or anything on a corrupt proto
        raise ModelFileError(f"{path}: invalid ONNX model ({_one_line(exc)}); re-export the model") from None


def _dim_text(d) -> str:
    return str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")


def _fix_input_shapes(path: Path, model) -> None:
    """Batch (the first dimension) becomes 1; any other unknown dimension is an error."""
    inits = {i.name for i in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        dims = list(tt.shape.dim) if tt.HasField("shape") else None
        text = "[" + ", ".join(_dim_text(d) for d in dims) + "]" if dims is not None else "unknown"
        if not dims:
            raise UnsupportedOpError(f"{path}: dynamic shape {text} of input '{vi.name}'; give a model with fixed input shape")
        for i, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value > 0:
                continue
            if i == 0:
                d.dim_value = 1
                continue
            raise UnsupportedOpError(f"{path}: dynamic shape {text} of input '{vi.name}' (dimension {i} is not fixed); "
                                     "give a model with fixed input shape")
    # Shapes the exporter wrote with a symbolic batch would clash with batch 1: let inference redo them.
    del model.graph.value_info[:]
    for vi in model.graph.output:
        vi.type.tensor_type.ClearField("shape")


def static_shapes(path: Path, model) -> tuple[object, dict[str, tuple[int, ...]]]:
    onnx = _onnx(path)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - InferenceError, or anything onnx's C++ raises on a corrupt proto
        raise ModelFileError(f"{path}: shape inference failed ({_one_line(exc)}); re-export the model") from None
    shapes = {}
    g = inferred.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        if tt.HasField("shape") and all(d.HasField("dim_value") and d.dim_value > 0 for d in tt.shape.dim):
            shapes[vi.name] = tuple(int(d.dim_value) for d in tt.shape.dim)
    check_shapes(path, shapes)
    return inferred, shapes


def load(path: str | Path) -> Graph:
    """Import `path` (an .onnx model) as a float32 graph, or an int8 graph for a QDQ model."""
    path = Path(path)
    _onnx(path)  # a clear error, not an ImportError, when the onnx package is missing
    from mcucompress.frontend import onnx_ops_math
    from mcucompress.frontend.onnx_context import Importer, register_converters
    from mcucompress.frontend.onnx_qdq import make_qdq
    from mcucompress.passes import run_default_passes

    register_converters()
    model = _parse(path)
    _check(path, model)
    _fix_input_shapes(path, model)
    model, shapes = static_shapes(path, model)
    onnx_ops_math.fuse_erf_gelu(model)  # after shape inference: an opset < 20 has no Gelu schema
    try:
        graph = Importer(path, model, shapes, model_name(path), make_qdq(path, model)).run()
        run_default_passes(graph)
    except McuError:
        raise
    except (IndexError, KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        # Defence in depth behind onnx_checks and the converters' own checks (the fuzz test counts these).
        raise ModelFileError(f"{path}: corrupt ONNX model ({type(exc).__name__}: {_one_line(exc)}); "
                             "re-export the model") from None
    except MemoryError:
        raise ModelFileError(f"{path}: the model's shapes or constants need more memory than this machine has; "
                             "the file is corrupt or not a microcontroller model") from None
    for op in graph.ops:
        if not registry.is_kind(op.kind):
            raise UnsupportedOpError(f"{path}: op '{op.name}': {LEFTOVER_KINDS.get(op.kind, op.kind)}")
    graph.remove_unused_tensors()
    return graph
