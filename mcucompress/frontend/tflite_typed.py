"""TFLite import of the ops with int32 or bool tensors: ARG_MAX / ARG_MIN (their constant axis operand becomes
the attribute), FILL (constant dims; a constant value folds the op into a constant), ZEROS_LIKE (of a constant:
folded), the comparisons and SELECT_V2 (operands as they are)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcucompress.errors import ModelFileError, UnsupportedOpError
from mcucompress.ir import Graph
from mcucompress.ir import ops as irops

KINDS = ("ARG_MAX", "ARG_MIN", "FILL", "ZEROS_LIKE", "EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER",
         "GREATER_EQUAL", "SELECT_V2")


def convert(path: Path, graph: Graph, index: int, kind: str, ins: list[str], outs: list[str]):
    """(attrs, IR inputs) of the op, or None when it was folded into a constant output."""
    t = graph.tensors
    where = f"{path}: op {index} ({kind})"
    if kind in ("ARG_MAX", "ARG_MIN"):
        if len(ins) < 2 or not ins[1]:
            raise ModelFileError(f"{where} has no axis operand; the file is corrupt; re-export the model")
        if t[ins[1]].data is None:
            raise UnsupportedOpError(f"{where} has a non-constant axis; only a constant axis is supported")
        rank = len(t[ins[0]].shape)
        axis = int(np.asarray(t[ins[1]].data).reshape(-1)[0])
        if not -rank <= axis < rank:
            raise ModelFileError(f"{where} reduces axis {axis} of a rank-{rank} input; the file is corrupt")
        return irops.ArgMinMaxAttrs(axis % rank), ins[:1]
    if kind == "FILL":
        if len(ins) < 2 or not ins[0] or not ins[1]:
            raise ModelFileError(f"{where} lacks its dims or value; the file is corrupt; re-export the model")
        dims, value, out = t[ins[0]], t[ins[1]], t[outs[0]]
        if dims.data is None:
            raise UnsupportedOpError(f"{where} has non-constant dims (TFLM needs them constant); fix the shape")
        if [int(d) for d in np.asarray(dims.data).reshape(-1)] != list(out.shape):
            raise ModelFileError(f"{where}: dims {np.asarray(dims.data).tolist()} differ from the output shape "
                                 f"{list(out.shape)}; the file is corrupt; re-export the model")
        if value.data is not None:
            out.data = np.full(out.shape, np.asarray(value.data).reshape(-1)[0], out.dtype)
            return None
        return irops.NoAttrs(), ins[1:2]
    if kind == "ZEROS_LIKE" and t[ins[0]].data is not None:
        t[outs[0]].data = np.zeros(t[outs[0]].shape, t[outs[0]].dtype)
        return None
    return irops.NoAttrs(), ins
