"""Reference kernel of RESIZE_BILINEAR (NHWC, int8 or float32); RESIZE_NEAREST_NEIGHBOR is an index map
(mcucompress.ir.index_maps, run by reference.movement.move).

The per-axis tables come from mcucompress.ir.resize, the same ones the C kernels read from flash. int8
bilinear is TFLite's integer formulation: the four-term sum in units of 2^-20, divided by 2^20 rounding half
away from zero (TFLM's default double-rounding build).
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op
from mcucompress.ir import resize as rz


def _in_hw(graph: Graph, op: Op) -> tuple[int, int]:
    s = graph.t(op.inputs[0]).shape
    return s[1], s[2]


def bilinear(graph: Graph, op: Op, xs: list) -> np.ndarray:
    a = op.attrs
    (h, w), (oh, ow) = _in_hw(graph, op), a.size
    x = np.asarray(xs[0])
    if x.dtype == np.int8:
        y0, y1, fy = rz.bilinear_int_tables(h, oh, a.align_corners, a.half_pixel_centers)
        x0, x1, fx = rz.bilinear_int_tables(w, ow, a.align_corners, a.half_pixel_centers)
        v = x.astype(np.int64)
        fy, fx = fy[None, :, None, None], fx[None, None, :, None]
        top = v[:, y0] * (rz.ONE - fy) + v[:, y1] * fy  # rows first: integer arithmetic, so the order is free
        acc = top[:, :, x0] * (rz.ONE - fx) + top[:, :, x1] * fx
        half = 1 << 19
        q = np.where(acc > 0, acc + half, acc - half)
        return (np.sign(q) * (np.abs(q) >> 20)).astype(np.int8)  # C division truncates toward zero
    y0, y1, fy = rz.bilinear_float_tables(h, oh, a.align_corners, a.half_pixel_centers)
    x0, x1, fx = rz.bilinear_float_tables(w, ow, a.align_corners, a.half_pixel_centers)
    one = np.float32(1)
    fy, fx = fy[None, :, None, None], fx[None, None, :, None]
    v = x.astype(np.float32)
    out = (v[:, y0][:, :, x0] * (one - fy) * (one - fx) + v[:, y1][:, :, x0] * fy * (one - fx)
           + v[:, y0][:, :, x1] * (one - fy) * fx + v[:, y1][:, :, x1] * fy * fx)
    return out.astype(np.float32)
