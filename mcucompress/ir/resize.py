"""Coordinate arithmetic of RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR, exactly as TFLite's reference kernels.

Both ops resize axes 1 and 2 of an NHWC tensor independently, so everything is a per-axis table computed once
from (input size, output size, flags): the reference executor applies the tables with numpy, the code
generator writes the same tables to flash for the C kernels, so reference and C cannot disagree.

- Nearest neighbour: the source index of every output index, computed in float32 as TFLite does
  (scale = in / out or (in - 1) / (out - 1); floor, or round half away from zero with align_corners).
- Bilinear int8: TFLite's integer formulation. Scales are 10-bit fixed point rounded to nearest, the
  source coordinate of output y is y * scale (minus half a pixel with half_pixel_centers), the lower
  index truncates toward zero then clamps at 0, the upper rounds up then clamps at size - 1; the four
  weights are products of (1024 - frac) and frac (frac may be negative at the top/left edge with
  half_pixel_centers) and the weighted sum is divided by 2^20 rounding half away from zero.
- Bilinear float32: the same scheme in float32 (floor and ceil of the source coordinate).
"""

from __future__ import annotations

import numpy as np

ONE = 1 << 10  # the integer formulation's fixed-point unit


def check_attrs(kind: str, attrs, in_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The output shape (N, out_h, out_w, C); ValueError for a bad size or flag combination."""
    if len(in_shape) != 4:
        raise ValueError(f"input shape {list(in_shape)} must be NHWC (rank 4)")
    size = tuple(int(s) for s in attrs.size)
    if len(size) != 2 or min(size) < 1 or max(size) > 1 << 14:
        raise ValueError(f"size {list(size)} must be two output dimensions in [1, 16384]")
    if kind == "RESIZE_BILINEAR" and attrs.align_corners and attrs.half_pixel_centers:
        raise ValueError("align_corners and half_pixel_centers are both set; TFLite allows one at most")
    return (in_shape[0], size[0], size[1], in_shape[3])


def _scale_f32(in_size: int, out_size: int, align_corners: bool) -> np.float32:
    if align_corners and out_size > 1:
        return np.float32(in_size - 1) / np.float32(out_size - 1)
    return np.float32(in_size) / np.float32(out_size)


def nearest_sources(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """Input index read by each output index (int64 [out_size])."""
    scale = _scale_f32(in_size, out_size, align_corners)
    offset = np.float32(0.5 if half_pixel_centers else 0.0)
    pos = (np.arange(out_size).astype(np.float32) + offset) * scale  # float32 throughout, as in C++
    # align_corners rounds half away from zero (std::round); otherwise floor.
    # (in float64 the + 0.5 is exact for every float32 pos, so no double rounding)
    src = np.floor(pos.astype(np.float64) + 0.5) if align_corners else np.floor(pos)  # pos >= 0
    src = np.minimum(src.astype(np.int64), in_size - 1)
    return np.maximum(src, 0) if half_pixel_centers else src


def _scale_10(in_size: int, out_size: int, align_corners: bool) -> int:
    if align_corners and out_size > 1:
        return (ONE * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    return (ONE * in_size + out_size // 2) // out_size


def bilinear_int_tables(in_size: int, out_size: int, align_corners: bool,
                        half_pixel_centers: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower index, upper index, frac) per output index (int64): the weight of the upper index is frac / 1024,
    of the lower (1024 - frac) / 1024. ValueError where TFLite's formula would read past the input (lower
    index >= input size, which happens for some very large non-integer upscales)."""
    scale = _scale_10(in_size, out_size, align_corners)
    v = np.arange(out_size, dtype=np.int64) * scale
    if half_pixel_centers:
        v = v + scale // 2 - ONE // 2
    lo = np.maximum(np.where(v >= 0, v // ONE, 0), 0)  # C division truncates toward zero; v >= -512
    hi = np.minimum((v + ONE - 1) // ONE, in_size - 1)  # v + 1023 > 0
    if (lo > in_size - 1).any():
        raise ValueError(f"resizing {in_size} to {out_size}: TFLite's integer formula reads index "
                         f"{int(lo.max())} past the input")
    return lo, hi, v - ONE * lo


def bilinear_float_tables(in_size: int, out_size: int, align_corners: bool,
                          half_pixel_centers: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower index, upper index, frac) per output index, frac float32 (the weight of the upper index)."""
    scale = _scale_f32(in_size, out_size, align_corners)
    y = np.arange(out_size).astype(np.float32)
    v = (y + np.float32(0.5)) * scale - np.float32(0.5) if half_pixel_centers else y * scale
    v = v.astype(np.float32)
    lo = np.maximum(np.floor(v).astype(np.int64), 0)
    hi = np.minimum(np.ceil(v).astype(np.int64), in_size - 1)
    return lo, hi, (v - lo.astype(np.float32)).astype(np.float32)
