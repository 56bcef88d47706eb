"""On-disk form of the IR: `<stem>.json` for structure and `<stem>.npz` for constant arrays.

Round-trips exactly (float32 scales are written as the decimal repr of their float32 value).
Both files are written to temporary names and renamed, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from mcucompress.ir.graph import Graph
from mcucompress.ir.ops import Op
from mcucompress.ir.quant import QuantParams
from mcucompress.ir.tensor import Tensor

FORMAT_VERSION = 1


def graph_to_json(graph: Graph) -> dict:
    doc = {
        "format": FORMAT_VERSION,
        "name": graph.name,
        "inputs": graph.inputs,
        "outputs": graph.outputs,
        "tensors": [
            {
                "name": t.name,
                "shape": list(t.shape),
                "dtype": t.dtype,
                "quant": t.quant.to_json() if t.quant else None,
                "const": t.is_const,
                **({"variable": True} if t.variable else {}),
            }
            for t in graph.tensors.values()
        ],
        "ops": [
            {"kind": op.kind, "name": op.name, "inputs": op.inputs, "outputs": op.outputs, "attrs": op.attrs_json()}
            for op in graph.ops
        ],
    }
    # Only when a model file declared another layout than the IR's (ONNX NCHW): every other graph's document
    # (and IR hash) stays as it was.
    if any(tuple(p) != tuple(range(len(p))) for p in graph.input_layouts):
        doc["input_layouts"] = [list(p) for p in graph.input_layouts]
    return doc


def save(graph: Graph, path: str | os.PathLike) -> None:
    """Write `path` (.json) and its sibling .npz atomically."""
    path = Path(path)
    arrays = {f"t{i}": t.data for i, t in enumerate(graph.tensors.values()) if t.is_const}
    npz_path = path.with_suffix(".npz")
    tmp_json, tmp_npz = path.with_suffix(".json.tmp"), path.with_suffix(".tmp.npz")
    try:
        tmp_json.write_text(json.dumps(graph_to_json(graph), indent=1))
        np.savez(tmp_npz, **arrays)
        os.replace(tmp_npz, npz_path)
        os.replace(tmp_json, path)
    finally:
        for p in (tmp_json, tmp_npz):
            p.unlink(missing_ok=True)


def load(path: str | os.PathLike) -> Graph:
    path = Path(path)
    doc = json.loads(path.read_text())
    arrays = np.load(path.with_suffix(".npz"))
    graph = Graph(name=doc["name"], inputs=doc["inputs"], outputs=doc["outputs"],
                  input_layouts=[tuple(p) for p in doc.get("input_layouts", [])])
    for i, td in enumerate(doc["tensors"]):
        quant = QuantParams.from_json(td["quant"]) if td["quant"] else None
        data = arrays[f"t{i}"] if td["const"] else None
        graph.add_tensor(Tensor(td["name"], tuple(td["shape"]), td["dtype"], quant, data, td.get("variable", False)))
    for od in doc["ops"]:
        attrs = Op.attrs_from_json(od["kind"], od["attrs"])
        graph.ops.append(Op(od["kind"], od["inputs"], od["outputs"], attrs, od["name"]))
    return graph
