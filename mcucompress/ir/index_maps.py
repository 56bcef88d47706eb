"""Where each output element of a data-movement op comes from: one integer index map per output.

TRANSPOSE, SLICE, STRIDED_SLICE, SPLIT(_V), UNPACK, SPACE_TO_DEPTH, DEPTH_TO_SPACE, MIRROR_PAD, REVERSE_V2,
BROADCAST_TO and GATHER only move values. Applying the op to `arange(input size)` gives, for every output
element, the flat index of the input element it copies; that one function is the verifier's shape rule, the
reference executor (`x.flat[map]`) and the source of the C kernel's per-axis offset tables, so the three
cannot disagree. Attributes out of range raise ValueError (the verifier turns it into a GraphError).
"""

from __future__ import annotations

import math

import numpy as np

from mcucompress.ir import resize as rz

MOVEMENT_KINDS = ("TRANSPOSE", "SLICE", "STRIDED_SLICE", "SPLIT", "UNPACK", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE",
                  "MIRROR_PAD", "REVERSE_V2", "BROADCAST_TO", "GATHER")
MULTI_OUTPUT = ("SPLIT", "UNPACK")


def _axis(axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= int(axis) < rank:
        raise ValueError(f"{what} {axis} is not an axis of a rank-{rank} input")
    return int(axis) % rank


def _strided_range(a, axis: int, d: int) -> range:
    """TFLite's StartForAxis / StopForAxis (no ellipsis, no new axis): the indices axis `axis` keeps."""
    s = int(a.strides[axis])
    if s == 0:
        raise ValueError(f"stride 0 on axis {axis}")
    lo, hi = (0, d) if s > 0 else (-1, d - 1)
    if a.begin_mask >> axis & 1:
        start = 0 if s > 0 else d - 1
    else:
        start = int(a.begin[axis]) + (d if int(a.begin[axis]) < 0 else 0)
        start = min(max(start, lo), hi)
    if a.shrink_axis_mask >> axis & 1:
        if s < 0:  # TFLM then copies nothing at all: no model of a converter does this
            raise ValueError(f"shrink axis {axis} has negative stride {s}")
        if not 0 <= start < d:
            raise ValueError(f"shrink axis {axis} takes index {a.begin[axis]} of a dimension of {d}")
        return range(start, start + 1)
    if a.end_mask >> axis & 1:
        stop = d if s > 0 else -1
    else:
        stop = int(a.end[axis]) + (d if int(a.end[axis]) < 0 else 0)
        stop = min(max(stop, lo), hi)
    return range(start, stop, s)


def index_maps(kind: str, attrs, in_shape: tuple[int, ...], out_shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Per output, an int32 array of the output's shape holding flat indices into input 0."""
    rank = len(in_shape)
    if math.prod(in_shape) > 1 << 24:
        raise ValueError(f"input shape {list(in_shape)} is too large")
    idx = np.arange(math.prod(in_shape), dtype=np.int32).reshape(in_shape)  # <= 2^24 elements (the verifier)
    a = attrs
    if kind == "TRANSPOSE":
        perm = [int(p) for p in a.perm]
        if sorted(perm) != list(range(rank)):
            raise ValueError(f"perm {perm} is not a permutation of the {rank} axes")
        return [idx.transpose(perm)]
    if kind == "SLICE":
        if len(a.begin) != rank or len(a.size) != rank:
            raise ValueError(f"begin {list(a.begin)} and size {list(a.size)} must have {rank} entries")
        sl = []
        for b, s, d in zip(a.begin, a.size, in_shape):
            e = d if s == -1 else b + s
            if not (0 <= b and (s == -1 or s >= 0) and e <= d):
                raise ValueError(f"begin {list(a.begin)} size {list(a.size)} fall outside shape {list(in_shape)}")
            sl.append(slice(int(b), int(e)))
        return [idx[tuple(sl)]]
    if kind == "STRIDED_SLICE":
        if not len(a.begin) == len(a.end) == len(a.strides) == rank:
            raise ValueError(f"begin, end and strides must have {rank} entries")
        ranges = [_strided_range(a, i, d) for i, d in enumerate(in_shape)]
        y = idx[np.ix_(*[np.array(r, np.int64) for r in ranges])] if rank else idx
        keep = [len(r) for i, r in enumerate(ranges) if not a.shrink_axis_mask >> i & 1]
        return [y.reshape(keep)]
    if kind == "SPLIT":
        axis = _axis(a.axis, rank)
        sizes = [int(s) for s in a.sizes]
        if not sizes or any(s < 1 for s in sizes) or sum(sizes) != in_shape[axis]:
            raise ValueError(f"sizes {sizes} do not split axis {axis} of {in_shape[axis]}")
        return np.split(idx, np.cumsum(sizes)[:-1], axis=axis)
    if kind == "UNPACK":
        axis = _axis(a.axis, rank)
        return [np.take(idx, i, axis=axis) for i in range(in_shape[axis])]
    if kind in ("SPACE_TO_DEPTH", "DEPTH_TO_SPACE"):
        b = int(a.block_size)
        if rank != 4 or b < 1:
            raise ValueError(f"needs a rank-4 input and block size >= 1 (rank {rank}, block {b})")
        n, h, w, c = in_shape
        if kind == "SPACE_TO_DEPTH":
            if h % b or w % b:
                raise ValueError(f"height {h} and width {w} must be multiples of the block size {b}")
            y = idx.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
            return [y.reshape(n, h // b, w // b, b * b * c)]
        if c % (b * b):
            raise ValueError(f"depth {c} must be a multiple of block size squared {b * b}")
        y = idx.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
        return [y.reshape(n, h * b, w * b, c // (b * b))]
    if kind == "MIRROR_PAD":
        if len(a.paddings) != rank or a.mode not in ("REFLECT", "SYMMETRIC"):
            raise ValueError(f"needs {rank} (before, after) paddings and mode REFLECT or SYMMETRIC")
        room = 1 if a.mode == "REFLECT" else 0  # REFLECT does not repeat the edge value
        for d, (p, q) in zip(in_shape, a.paddings):
            if not (0 <= p <= d - room and 0 <= q <= d - room):
                raise ValueError(f"paddings {[list(p) for p in a.paddings]} must be in [0, dim{' - 1' * room}] "
                                 f"for {a.mode} on shape {list(in_shape)}")
        return [np.pad(idx, [(int(p), int(q)) for p, q in a.paddings], mode=a.mode.lower())]
    if kind == "REVERSE_V2":
        axes = {_axis(x, rank) for x in a.axes}
        return [np.flip(idx, axis=tuple(sorted(axes))) if axes else idx]
    if kind == "BROADCAST_TO":
        out = tuple(out_shapes[0])
        try:
            if np.broadcast_shapes(in_shape, out) != out:
                raise ValueError
        except ValueError:
            raise ValueError(f"shape {list(in_shape)} does not broadcast to {list(out)}") from None
        return [np.broadcast_to(idx, out)]
    if kind == "GATHER":
        axis = _axis(a.axis, rank)
        ind = np.asarray(a.indices, np.int64)
        if ind.size != math.prod(a.indices_shape) or ((ind < 0) | (ind >= in_shape[axis])).any():
            raise ValueError(f"indices {ind.tolist()[:8]} must lie in [0, {in_shape[axis]}) and fill shape "
                             f"{list(a.indices_shape)}")
        return [np.take(idx, ind.reshape(tuple(a.indices_shape)), axis=axis)]
    if kind == "RESIZE_NEAREST_NEIGHBOR":  # each output pixel copies one input pixel (ir/resize.py says which)
        rz.check_attrs(kind, a, in_shape)
        rows = rz.nearest_sources(in_shape[1], int(a.size[0]), a.align_corners, a.half_pixel_centers)
        cols = rz.nearest_sources(in_shape[2], int(a.size[1]), a.align_corners, a.half_pixel_centers)
        return [idx[:, rows][:, :, cols]]
    raise ValueError(f"{kind} is not a data-movement op")


def axis_tables(m: np.ndarray) -> list[np.ndarray]:
    """A map as a sum of per-axis offsets: m[i0, .., ik] == sum_k tables[k][ik] (the base folded into
    axis 0); every map of index_maps() has this form, which the C kernel relies on."""
    m = np.asarray(m).reshape(m.shape or (1,))
    tables = []
    for k, d in enumerate(m.shape):
        line = m[(0,) * k + (slice(None),) + (0,) * (m.ndim - k - 1)]
        tables.append(line - (m.flat[0] if k else 0))
    total = sum(t.reshape([-1 if i == k else 1 for i in range(m.ndim)]) for k, t in enumerate(tables))
    if not np.array_equal(np.broadcast_to(total, m.shape), m):
        raise ValueError("index map is not a sum of per-axis offsets")
    return tables
