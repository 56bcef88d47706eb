"""ONNX converter of Resize (opset 11+) onto TFLite's RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR.

Only what maps exactly is imported; anything else is one UnsupportedOpError naming the node and the attribute.
- nearest: ONNX's source index of every output row and column is computed in exact rational arithmetic from
  coordinate_transformation_mode and nearest_mode (clamped to the input, as onnxruntime does) and compared with
  TFLite's index map under each of its flag combinations: the first that agrees on both axes is used. PyTorch's
  nn.Upsample / F.interpolate(mode='nearest') export asymmetric + floor (no flags); 'nearest-exact' exports
  half_pixel + round_prefer_ceil (half_pixel_centers).
- linear: asymmetric (no flags), align_corners, half_pixel and pytorch_half_pixel (half_pixel_centers; for
  pytorch_half_pixel only when no resized axis has output size 1), provided a given scale equals
  output size / input size exactly (TFLite computes its coordinates from the sizes).
Upsample exists only up to opset 9, below the importer's minimum opset (11), so it never reaches here.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from mcucompress.frontend.onnx_context import Importer, converter
from mcucompress.frontend.onnx_layout import NHWC
from mcucompress.ir import ops as irops
from mcucompress.ir.resize import nearest_sources

FLAG_COMBOS = ((False, False), (False, True), (True, False), (True, True))  # (align_corners, half_pixel_centers)


def _sizes_and_scales(ctx: Importer, node, in_shape) -> tuple[list[int], list[Fraction]]:
    """Output shape (NCHW) and the per-axis scale ONNX's coordinate transformation divides by."""
    if ctx.attr("axes") is not None:
        ctx.fail(f"Resize with axes {list(ctx.attr('axes'))} is not supported; resize H and W of an NCHW tensor")
    sizes = ctx.const(ctx.inp(3), "sizes") if ctx.inp(3) else None
    if sizes is not None and np.asarray(sizes).size:
        policy = ctx.attr("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":
            ctx.fail(f"Resize with keep_aspect_ratio_policy '{policy}' is not supported; only 'stretch'")
        out = [int(s) for s in np.asarray(sizes).reshape(-1)]
        scales = [Fraction(o, i) for o, i in zip(out, in_shape)]
    else:
        given = [float(s) for s in np.asarray(ctx.const(ctx.inp(2), "scales"), np.float32).reshape(-1)]
        if not given:
            ctx.fail("Resize has neither scales nor sizes")
        scales = [Fraction(s) for s in given]  # the float32 value exactly
        out = [math.floor(i * s) for i, s in zip(in_shape, scales)]
    if len(out) != 4 or out[:2] != list(in_shape[:2]) or min(out) < 1:
        ctx.fail(f"Resize of {list(in_shape)} to {out}: only the height and width of an NCHW tensor may change")
    return out, scales


def _onnx_coordinate(mode: str, o: int, i: int, n: int, s: Fraction) -> Fraction:
    if mode == "asymmetric":
        return o / s
    if mode == "half_pixel" or (mode == "pytorch_half_pixel" and n > 1):
        return (o + Fraction(1, 2)) / s - Fraction(1, 2)
    if mode == "pytorch_half_pixel":
        return Fraction(0)
    if mode == "tf_half_pixel_for_nn":
        return (o + Fraction(1, 2)) / s
    if mode == "align_corners":
        return Fraction(o * (i - 1), n - 1) if n > 1 else Fraction(0)
    raise KeyError(mode)


def _round(mode: str, x: Fraction) -> int:
    if mode == "floor":
        return math.floor(x)
    if mode == "ceil":
        return math.ceil(x)
    if mode == "round_prefer_ceil":
        return math.floor(x + Fraction(1, 2))
    if mode == "round_prefer_floor":
        return math.ceil(x - Fraction(1, 2))
    raise KeyError(mode)


def _nearest_flags(ctx: Importer, coord: str, nearest: str, axes) -> tuple[bool, bool]:
    if coord not in ("asymmetric", "half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "align_corners"):
        ctx.fail(f"Resize with coordinate_transformation_mode '{coord}' is not supported")
    if nearest not in ("floor", "ceil", "round_prefer_ceil", "round_prefer_floor"):
        ctx.fail(f"Resize with nearest_mode '{nearest}' is not supported")
    wanted = [[min(max(_round(nearest, _onnx_coordinate(coord, o, i, n, s)), 0), i - 1) for o in range(n)]
              for i, n, s in axes]
    for flags in FLAG_COMBOS:
        if all(nearest_sources(i, n, *flags).tolist() == w for (i, n, _), w in zip(axes, wanted)):
            return flags
    sizes = " x ".join(f"{i}->{n}" for i, n, _ in axes)
    ctx.fail(f"Resize nearest with coordinate_transformation_mode '{coord}' and nearest_mode '{nearest}' does not map "
             f"exactly onto TFLite's RESIZE_NEAREST_NEIGHBOR for {sizes}")


def _linear_flags(ctx: Importer, coord: str, axes) -> tuple[bool, bool]:
    if coord == "align_corners":
        return True, False
    if coord not in ("asymmetric", "half_pixel", "pytorch_half_pixel"):
        ctx.fail(f"Resize linear with coordinate_transformation_mode '{coord}' does not map onto TFLite's "
                 "RESIZE_BILINEAR (asymmetric, half_pixel, pytorch_half_pixel, align_corners do)")
    for i, n, s in axes:
        if s != Fraction(n, i):
            ctx.fail(f"Resize linear with scale {float(s):g} resizes {i} to {n}: TFLite interpolates with {n}/{i}; "
                     "give sizes or an exact scale")
        if coord == "pytorch_half_pixel" and n == 1 and i > 1:
            ctx.fail("Resize linear with coordinate_transformation_mode 'pytorch_half_pixel' to an output of size 1 "
                     "does not map onto TFLite's RESIZE_BILINEAR")
    return False, coord != "asymmetric"


@converter("Resize")
def resize(ctx: Importer, node) -> None:
    x = ctx.spatial(node.input[0])
    in_shape = ctx.shape(node.input[0])
    out, scales = _sizes_and_scales(ctx, node, in_shape)
    mode = ctx.attr("mode", "nearest")
    coord = ctx.attr("coordinate_transformation_mode", "half_pixel")
    if int(ctx.attr("antialias", 0)):
        ctx.fail("Resize with antialias 1 is not supported; TFLite's resize ops do not filter")
    axes = [(in_shape[k], out[k], scales[k]) for k in (2, 3)]
    if mode == "nearest":
        flags = _nearest_flags(ctx, coord, ctx.attr("nearest_mode", "round_prefer_floor"), axes)
        kind = "RESIZE_NEAREST_NEIGHBOR"
    elif mode == "linear":
        flags = _linear_flags(ctx, coord, axes)
        kind = "RESIZE_BILINEAR"
    else:
        ctx.fail(f"Resize with mode '{mode}' is not supported; nearest and linear are")
    y = ctx.add_act(node.output[0], NHWC, shape=tuple(out), quant_src=x)
    ctx.emit(kind, [x.name], [y.name], irops.ResizeAttrs((out[2], out[3]), *flags))
