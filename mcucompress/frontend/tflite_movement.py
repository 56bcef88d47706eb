"""TFLite import of the data-movement ops: their constant operands and options become IR attributes.

TRANSPOSE, SLICE, STRIDED_SLICE, SPLIT, SPLIT_V, PACK, UNPACK, SPACE_TO_DEPTH, DEPTH_TO_SPACE, MIRROR_PAD,
REVERSE_V2, BROADCAST_TO, GATHER, TILE, GATHER_ND, SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND. Operands that are not constants (a run-time perm, begin, indices) are
refused with one line; malformed ones are a corrupt file. The verifier then checks ranges and shapes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tflite

from mcucompress.errors import ModelFileError, UnsupportedOpError
from mcucompress.ir import Graph
from mcucompress.ir import ops as irops

KINDS = ("TRANSPOSE", "SLICE", "STRIDED_SLICE", "SPLIT", "PACK", "UNPACK", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE",
         "MIRROR_PAD", "REVERSE_V2", "BROADCAST_TO", "GATHER", "TILE", "GATHER_ND", "SPACE_TO_BATCH_ND",
         "BATCH_TO_SPACE_ND")
MAX_OPERAND = 64  # entries of a perm/begin/size/indices operand: anything longer is not a model of ours


def _opts(path: Path, index: int, kind: str, op, cls, required: bool = True):
    table = op.BuiltinOptions()
    if table is None or op.BuiltinOptionsType() != getattr(tflite.BuiltinOptions, cls.__name__, -1):
        if required:
            raise ModelFileError(f"{path}: op {index} ({kind}) has no {cls.__name__}; the file is corrupt; "
                                 "re-export the model")
        return None
    o = cls()
    o.Init(table.Bytes, table.Pos)
    return o


def _const(path: Path, graph: Graph, index: int, kind: str, ins: list[str], k: int, what: str,
           limit: int = MAX_OPERAND) -> list[int]:
    """Operand k as a flat list of ints; UnsupportedOpError when it is computed at run time."""
    if len(ins) <= k or not ins[k]:
        raise ModelFileError(f"{path}: op {index} ({kind}) lacks its {what} operand; the file is corrupt")
    data = graph.tensors[ins[k]].data
    if data is None:
        raise UnsupportedOpError(f"{path}: op {index} ({kind}) has a non-constant {what}; only constant {what} "
                                 "is supported")
    if data.dtype.kind not in "iu" or data.size > limit:
        raise ModelFileError(f"{path}: op {index} ({kind}) has a {what} operand of {data.dtype} {list(data.shape)}; "
                             "it must be a short integer vector; the file is corrupt; re-export the model")
    return [int(v) for v in data.reshape(-1)]


def attrs(path: Path, graph: Graph, index: int, builtin: str, op, ins: list[str], outs: list[str]):
    """The attributes of a movement op imported from TFLite builtin `builtin`."""
    kind = builtin
    rank = len(graph.tensors[ins[0]].shape)
    if kind == "TRANSPOSE":
        return irops.TransposeAttrs(tuple(_const(path, graph, index, kind, ins, 1, "perm")))
    if kind == "SLICE":
        return irops.SliceAttrs(tuple(_const(path, graph, index, kind, ins, 1, "begin")),
                                tuple(_const(path, graph, index, kind, ins, 2, "size")))
    if kind == "STRIDED_SLICE":
        o = _opts(path, index, kind, op, tflite.StridedSliceOptions)
        if o.EllipsisMask() or o.NewAxisMask() or (hasattr(o, "Offset") and o.Offset()):
            raise UnsupportedOpError(f"{path}: op {index} (STRIDED_SLICE) uses an ellipsis or new-axis mask or "
                                     "offset; TFLM supports none of them")
        begin, end, strides = (_const(path, graph, index, kind, ins, k, w) for k, w in
                               ((1, "begin"), (2, "end"), (3, "strides")))
        n = len(begin)
        if not len(end) == len(strides) == n or n > rank:
            raise ModelFileError(f"{path}: op {index} (STRIDED_SLICE) has begin, end, strides of lengths "
                                 f"{len(begin)}, {len(end)}, {len(strides)} for a rank-{rank} input; the file is corrupt")
        full = (1 << rank) - (1 << n)  # axes past the operands are taken whole, as TFLite does
        return irops.StridedSliceAttrs(tuple(begin + [0] * (rank - n)), tuple(end + [0] * (rank - n)),
                                       tuple(strides + [1] * (rank - n)), (o.BeginMask() & ((1 << n) - 1)) | full,
                                       (o.EndMask() & ((1 << n) - 1)) | full, o.ShrinkAxisMask() & ((1 << n) - 1))
    if kind in ("SPLIT", "SPLIT_V"):
        axis_k = 1 if kind == "SPLIT" else 2  # SPLIT's (axis, input) were swapped by the importer
        axis = _const(path, graph, index, kind, ins, axis_k, "axis")
        if len(axis) != 1 or not -rank <= axis[0] < rank:
            raise ModelFileError(f"{path}: op {index} ({kind}) has axis {axis} for a rank-{rank} input; the file is corrupt")
        axis = axis[0] % rank
        d = graph.tensors[ins[0]].shape[axis]
        if kind == "SPLIT":
            if not outs or d % len(outs):
                raise ModelFileError(f"{path}: op {index} (SPLIT) splits {d} into {len(outs)} equal parts; "
                                     "the file is corrupt")
            return irops.SplitAttrs(axis, tuple([d // len(outs)] * len(outs)))
        sizes = _const(path, graph, index, kind, ins, 1, "size_splits")
        if sizes.count(-1) == 1:  # one size may be inferred from the others
            sizes[sizes.index(-1)] = d - (sum(sizes) + 1)
        if len(sizes) != len(outs):
            raise ModelFileError(f"{path}: op {index} (SPLIT_V) has {len(sizes)} sizes for {len(outs)} outputs; "
                                 "the file is corrupt")
        return irops.SplitAttrs(axis, tuple(sizes))
    if kind in ("PACK", "UNPACK"):
        cls = tflite.PackOptions if kind == "PACK" else tflite.UnpackOptions
        axis = int(_opts(path, index, kind, op, cls).Axis())
        out_rank = rank + 1 if kind == "PACK" else rank
        if not -out_rank <= axis < out_rank:
            raise ModelFileError(f"{path}: op {index} ({kind}) has axis {axis} for rank {out_rank}; the file is corrupt")
        return irops.AxisAttrs(axis % out_rank)
    if kind in ("SPACE_TO_DEPTH", "DEPTH_TO_SPACE"):
        cls = tflite.SpaceToDepthOptions if kind == "SPACE_TO_DEPTH" else tflite.DepthToSpaceOptions
        return irops.BlockAttrs(int(_opts(path, index, kind, op, cls).BlockSize()))
    if kind == "MIRROR_PAD":
        o = _opts(path, index, kind, op, tflite.MirrorPadOptions, required=False)
        p = _const(path, graph, index, kind, ins, 1, "paddings")
        if len(p) != 2 * rank:
            raise ModelFileError(f"{path}: op {index} (MIRROR_PAD) has {len(p)} paddings for a rank-{rank} input; "
                                 "the file is corrupt")
        mode = "SYMMETRIC" if o is not None and o.Mode() == 1 else "REFLECT"
        return irops.MirrorPadAttrs(tuple((p[2 * i], p[2 * i + 1]) for i in range(rank)), mode)
    if kind == "REVERSE_V2":
        return irops.ReverseAttrs(tuple(_const(path, graph, index, kind, ins, 1, "axis")))
    if kind == "BROADCAST_TO":
        shape = _const(path, graph, index, kind, ins, 1, "shape")
        if tuple(shape) != tuple(graph.tensors[outs[0]].shape):
            raise ModelFileError(f"{path}: op {index} (BROADCAST_TO) to shape {shape} has an output of shape "
                                 f"{list(graph.tensors[outs[0]].shape)}; the file is corrupt")
        return irops.NoAttrs()
    if kind == "GATHER":
        o = _opts(path, index, kind, op, tflite.GatherOptions, required=False)
        if o is not None and o.BatchDims() != 0:
            raise UnsupportedOpError(f"{path}: op {index} (GATHER) has batch_dims {o.BatchDims()}; only 0 is supported")
        indices = _const(path, graph, index, kind, ins, 1, "indices", limit=1 << 16)
        axis = int(o.Axis()) if o is not None else 0
        if not -rank <= axis < rank:
            raise ModelFileError(f"{path}: op {index} (GATHER) has axis {axis} for a rank-{rank} input; the file is corrupt")
        return irops.GatherAttrs(tuple(indices), tuple(int(d) for d in graph.tensors[ins[1]].shape), axis % rank)
    if kind in ("TILE", "GATHER_ND", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"):
        return _more_attrs(path, graph, index, kind, ins, rank)
    raise ValueError(kind)


def _more_attrs(path: Path, graph: Graph, index: int, kind: str, ins: list[str], rank: int):
    if kind == "TILE":
        return irops.TileAttrs(tuple(_const(path, graph, index, kind, ins, 1, "multiples")))
    if kind == "GATHER_ND":
        indices = _const(path, graph, index, kind, ins, 1, "indices", limit=1 << 16)
        return irops.GatherNdAttrs(tuple(indices), tuple(int(d) for d in graph.tensors[ins[1]].shape))
    block = _const(path, graph, index, kind, ins, 1, "block_shape")
    what = "paddings" if kind == "SPACE_TO_BATCH_ND" else "crops"
    pads = _const(path, graph, index, kind, ins, 2, what)
    if len(pads) != 2 * len(block):
        raise ModelFileError(f"{path}: op {index} ({kind}) has {len(pads)} {what} for {len(block)} block sizes; "
                             "the file is corrupt")
    return irops.SpaceBatchAttrs(tuple(block), tuple((pads[2 * i], pads[2 * i + 1]) for i in range(len(block))))


def fold(graph: Graph, op) -> bool:
    """A movement op on constants becomes constant outputs (weights a converter transposed, ...)."""
    from mcucompress.reference.executor import run_op

    names = op.inputs if op.kind == "PACK" else op.inputs[:1]
    if not all(graph.tensors[n].data is not None for n in names):
        return False
    ys = run_op(graph, op, [graph.tensors[n].data for n in names])
    for n, y in zip(op.outputs, ys if len(op.outputs) > 1 else [ys]):
        graph.tensors[n].data = np.asarray(y).reshape(graph.tensors[n].shape)
    return True
