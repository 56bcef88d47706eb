"""Check the fields of a parsed ONNX protobuf before the importer trusts any of them.

A protobuf that decodes can still hold names that are not UTF-8 (the protobuf runtime then hands out
bytes), nodes without outputs, initializers whose data type is unknown or whose stored data does not
fill their dims, shapes of absurd size, and external-data references outside the model's folder. Each
of these is one ModelFileError naming the file and the offending node, tensor or field.
"""

from __future__ import annotations

import math
from pathlib import Path

from mcucompress.errors import ModelFileError
from mcucompress.ir.consistency import MAX_ELEMENTS

# TensorProto.DataType -> (bytes per element in raw_data, the typed field holding it otherwise)
ELEMENT_TYPES = {
    1: (4, "float_data"), 2: (1, "int32_data"), 3: (1, "int32_data"), 4: (2, "int32_data"), 5: (2, "int32_data"),
    6: (4, "int32_data"), 7: (8, "int64_data"), 9: (1, "int32_data"), 10: (2, "int32_data"), 11: (8, "double_data"),
    12: (4, "uint64_data"), 13: (8, "uint64_data"), 16: (2, "int32_data"),
}
FIX = "the file is corrupt; re-export the model"


def _fail(path: Path, message: str):
    raise ModelFileError(f"{path}: {message}; {FIX}")


def _text(path: Path, value, what: str) -> str:
    if not isinstance(value, str):
        _fail(path, f"{what} is not valid UTF-8 text ({bytes(value)[:40]!r})")
    return value


def _names(path: Path, model) -> None:
    g = model.graph
    _text(path, g.name, "the graph name")
    for o in model.opset_import:
        _text(path, o.domain, "an opset domain")
    for kind, items in (("input", g.input), ("output", g.output), ("value_info", g.value_info),
                        ("initializer", g.initializer)):
        for i, item in enumerate(items):
            _text(path, item.name, f"the name of graph {kind} {i}")
            if kind != "initializer" and item.type.HasField("tensor_type"):
                for d in item.type.tensor_type.shape.dim:
                    _text(path, d.dim_param, f"a dimension name of graph {kind} {i}")
    for index, node in enumerate(g.node):
        where = f"node {index}"
        for field in ("name", "op_type", "domain"):
            _text(path, getattr(node, field), f"the {field} of {where}")
        for k, n in enumerate(node.input):
            _text(path, n, f"input {k} of {where}")
        for k, n in enumerate(node.output):
            _text(path, n, f"output {k} of {where}")
        for a in node.attribute:
            _text(path, a.name, f"an attribute name of {where}")
        if not node.output or not node.output[0]:
            _fail(path, f"{where} '{node.name}' ({node.op_type}) has no output")


def _initializer(path: Path, model_dir: Path, t) -> None:
    where = f"initializer '{t.name}'"
    if any(d < 0 for d in t.dims) or len(t.dims) > 8:
        _fail(path, f"{where} has dims {list(t.dims)}")
    count = math.prod(t.dims)
    if count > MAX_ELEMENTS:
        _fail(path, f"{where} has dims {list(t.dims)}: more than {MAX_ELEMENTS:,} elements")
    if t.data_type not in ELEMENT_TYPES:
        _fail(path, f"{where} has data type {t.data_type}, which is not a numeric type we read")
    if t.data_location == 1:  # EXTERNAL: only files inside the model's folder, never beyond it
        entries = {e.key: e.value for e in t.external_data}
        location = Path(_text(path, entries.get("location", ""), f"the external data location of {where}"))
        target = (model_dir / location).resolve()
        if not location.parts or location.is_absolute() or model_dir.resolve() not in target.parents:
            _fail(path, f"{where} points to external data '{location}' outside the model's folder")
        if not target.is_file():
            raise ModelFileError(f"{path}: {where}: external data file '{location}' is missing; put it beside the model")
        return
    size, field = ELEMENT_TYPES[t.data_type]
    if t.HasField("raw_data"):
        if len(t.raw_data) != count * size:
            _fail(path, f"{where} holds {len(t.raw_data)} bytes for dims {list(t.dims)} ({count * size} expected)")
        return
    stored = len(getattr(t, field))
    if stored != count and not (field == "int32_data" and size == 1 and stored == count):
        _fail(path, f"{where} holds {stored} values in {field} for dims {list(t.dims)} ({count} expected)")


def check_proto(path: Path, model) -> None:
    """Names are text, nodes have outputs, initializers are readable and consistent with their dims."""
    _names(path, model)
    for t in model.graph.initializer:
        _initializer(path, path.parent, t)


def check_shapes(path: Path, shapes: dict[str, tuple[int, ...]]) -> None:
    """Inferred shapes small enough to hold: the importer builds index arrays of their size."""
    for name, shape in shapes.items():
        if len(shape) > 8 or math.prod(shape) > MAX_ELEMENTS:
            raise ModelFileError(f"{path}: tensor '{name}' has shape {list(shape)}: more than {MAX_ELEMENTS:,} "
                                 "elements, too large for a microcontroller; fix the model's input shape")
