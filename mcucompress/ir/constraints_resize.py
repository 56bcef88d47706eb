"""Constraint checks of RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (their docstrings are the rules shown).

TFLM's int8 kernels copy or interpolate stored integers without rescaling, so an output quantized
differently from the input would be silently wrong: refused, as for the movement ops.
"""

from __future__ import annotations

from mcucompress.errors import UnsupportedOpError
from mcucompress.ir import Graph, Op
from mcucompress.ir import resize as rz
from mcucompress.ir.constraints import _qp, _where


def _common(graph: Graph, op: Op) -> None:
    x = graph.t(op.inputs[0])
    if len(x.shape) != 4:
        raise UnsupportedOpError(f"{_where(op)}: input of shape {list(x.shape)}; TFLM resizes NHWC (rank 4) only")
    if _qp(graph, op.inputs[0]) != _qp(graph, op.outputs[0]):
        raise UnsupportedOpError(f"{_where(op)}: output is quantized {_qp(graph, op.outputs[0])}, input "
                                 f"{_qp(graph, op.inputs[0])}; TFLM's {op.kind} does not rescale: re-quantize the model")


def check_resize_nearest_neighbor(graph: Graph, op: Op) -> None:
    """RESIZE_NEAREST_NEIGHBOR int8: NHWC input, constant size (height, width) (up or down, any factor), align_corners and half_pixel_centers as TFLite; input and output share scale and zero point."""
    _common(graph, op)


def check_resize_bilinear(graph: Graph, op: Op) -> None:
    """RESIZE_BILINEAR int8: NHWC input, constant size (height, width) (up or down, any factor), align_corners or half_pixel_centers (not both), TFLite's integer interpolation (no upscale so large that it would read past the input); input and output share scale and zero point."""
    _common(graph, op)
    a, s = op.attrs, graph.t(op.inputs[0]).shape
    try:
        rz.check_attrs(op.kind, a, s)
        rz.bilinear_int_tables(s[1], a.size[0], a.align_corners, a.half_pixel_centers)
        rz.bilinear_int_tables(s[2], a.size[1], a.align_corners, a.half_pixel_centers)
    except ValueError as exc:
        raise UnsupportedOpError(f"{_where(op)}: {exc}") from None
