"""TFLite import of RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR: the constant size operand and the options
(align_corners, half_pixel_centers) become ResizeAttrs. A size computed at run time is refused (TFLM has no
dynamic tensors either); the verifier then checks the flags and the output shape."""

from __future__ import annotations

from pathlib import Path

import tflite

from mcucompress.errors import ModelFileError
from mcucompress.frontend.tflite_movement import _const, _opts
from mcucompress.ir import Graph
from mcucompress.ir import ops as irops

KINDS = ("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")


def attrs(path: Path, graph: Graph, index: int, kind: str, op, ins: list[str], outs: list[str]) -> irops.ResizeAttrs:
    size = _const(path, graph, index, kind, ins, 1, "size")
    if len(size) != 2:
        raise ModelFileError(f"{path}: op {index} ({kind}) has size {size}; it must be (height, width); the file is "
                             "corrupt")
    cls = tflite.ResizeBilinearOptions if kind == "RESIZE_BILINEAR" else tflite.ResizeNearestNeighborOptions
    o = _opts(path, index, kind, op, cls, required=False)
    if o is None:
        return irops.ResizeAttrs(tuple(size))
    return irops.ResizeAttrs(tuple(size), bool(o.AlignCorners()), bool(o.HalfPixelCenters()))
