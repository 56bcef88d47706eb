"""Random configurations of the data-movement ops, as single-op IR graphs (shared by the TFLM and host tests)."""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op, QuantParams, Tensor
from mcucompress.ir import ops as irops
from mcucompress.ir.index_maps import index_maps

KINDS = ["TRANSPOSE", "SLICE", "STRIDED_SLICE", "SPLIT", "PACK", "UNPACK", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE",
         "MIRROR_PAD", "REVERSE_V2", "BROADCAST_TO", "GATHER"]


def _shape(rng, lo: int = 1, hi: int = 5, rank: int | None = None) -> tuple[int, ...]:
    rank = rank or int(rng.integers(1, 5))
    return tuple(int(d) for d in rng.integers(lo, hi + 1, rank))


def _neg(rng, axis: int, rank: int) -> int:
    """The axis, or its negative spelling half of the time."""
    return axis - rank if rng.random() < 0.5 else axis


def config(kind: str, rng) -> tuple[list[tuple[int, ...]], object, tuple | None]:
    """(input shapes, attrs, output shape for BROADCAST_TO else None) of one random configuration."""
    if kind == "TRANSPOSE":
        s = _shape(rng)
        return [s], irops.TransposeAttrs(tuple(int(p) for p in rng.permutation(len(s)))), None
    if kind == "SLICE":
        s = _shape(rng, 1, 6)
        begin = [int(rng.integers(0, d)) for d in s]
        size = [-1 if rng.random() < 0.2 else int(rng.integers(1, d - b + 1)) for d, b in zip(s, begin)]
        return [s], irops.SliceAttrs(tuple(begin), tuple(size)), None
    if kind == "STRIDED_SLICE":
        while True:
            s = _shape(rng, 1, 7)  # TFLM slices rank <= 4
            rank = len(s)
            strides = [int(rng.choice([1, 1, 2, 3, -1, -2])) for _ in s]
            begin = [int(rng.integers(-d, d)) for d in s]
            end = [int(rng.integers(-d - 1, d + 2)) for d in s]
            bm, em = int(rng.integers(0, 1 << rank)), int(rng.integers(0, 1 << rank))
            shrink = int(rng.integers(0, 1 << rank)) if rng.random() < 0.4 else 0
            strides = [abs(x) if shrink >> i & 1 else x for i, x in enumerate(strides)]
            a = irops.StridedSliceAttrs(tuple(begin), tuple(end), tuple(strides), bm, em, shrink)
            try:
                m = index_maps(kind, a, s, [None])[0]
            except ValueError:
                continue
            if m.size and m.ndim:
                return [s], a, None
    if kind == "SPLIT":
        s = _shape(rng, 1, 6)
        axis = int(rng.integers(0, len(s)))
        d = s[axis]
        if rng.random() < 0.5:
            n = int(rng.choice([k for k in range(1, d + 1) if d % k == 0]))
            sizes = [d // n] * n
        else:
            cuts = sorted({int(c) for c in rng.integers(1, d, int(rng.integers(0, 3)))}) if d > 1 else []
            sizes = list(np.diff([0, *cuts, d]))
        return [s], irops.SplitAttrs(_neg(rng, axis, len(s)), tuple(int(x) for x in sizes)), None
    if kind == "PACK":
        s = _shape(rng, 1, 4, int(rng.integers(1, 4)))
        n = int(rng.integers(1, 4))
        return [s] * n, irops.AxisAttrs(int(rng.integers(0, len(s) + 1))), None
    if kind == "UNPACK":
        s = _shape(rng, 1, 4, int(rng.integers(2, 5)))
        return [s], irops.AxisAttrs(int(rng.integers(0, len(s)))), None
    if kind in ("SPACE_TO_DEPTH", "DEPTH_TO_SPACE"):
        b = int(rng.integers(1, 4))
        if kind == "SPACE_TO_DEPTH":
            s = (1, b * int(rng.integers(1, 4)), b * int(rng.integers(1, 4)), int(rng.integers(1, 5)))
        else:
            s = (1, int(rng.integers(1, 4)), int(rng.integers(1, 4)), b * b * int(rng.integers(1, 4)))
        return [s], irops.BlockAttrs(b), None
    if kind == "MIRROR_PAD":
        s = _shape(rng, 1, 5)
        mode = str(rng.choice(["REFLECT", "SYMMETRIC"]))
        room = 1 if mode == "REFLECT" else 0
        pads = tuple((int(rng.integers(0, d - room + 1)), int(rng.integers(0, d - room + 1))) for d in s)
        return [s], irops.MirrorPadAttrs(pads, mode), None
    if kind == "REVERSE_V2":
        s = _shape(rng)
        first = int(rng.integers(0, len(s)))  # TFLM reverses consecutive axes only
        axes = range(first, int(rng.integers(first + 1, len(s) + 1)))
        return [s], irops.ReverseAttrs(tuple(_neg(rng, a, len(s)) for a in axes)), None
    if kind == "BROADCAST_TO":
        out = _shape(rng, 1, 4)
        s = tuple(1 if rng.random() < 0.5 else d for d in out[len(out) - int(rng.integers(1, len(out) + 1)):])
        return [s], irops.NoAttrs(), out
    if kind == "GATHER":
        s = _shape(rng, 1, 5)
        axis = int(rng.integers(0, len(s)))
        ishape = _shape(rng, 1, 3, int(rng.integers(1, 3)))
        ind = rng.integers(0, s[axis], ishape)
        return [s], irops.GatherAttrs(tuple(int(i) for i in ind.reshape(-1)), ishape, _neg(rng, axis, len(s))), None
    raise ValueError(kind)


def graph(kind: str, rng, dtype: str = "int8") -> Graph:
    """One random single-op graph of `kind`; every tensor shares one random quantization (int8)."""
    shapes, attrs, out_shape = config(kind, rng)
    qp = QuantParams(np.array([np.float32(np.exp(rng.uniform(-6, 0)))], np.float32), np.array([int(rng.integers(-128, 128))]))
    qp = qp if dtype == "int8" else None
    g = Graph(name=kind.lower())
    ins = [f"in{i}" for i in range(len(shapes))]
    for n, s in zip(ins, shapes):
        g.add_tensor(Tensor(n, s, dtype, qp))
    if kind == "PACK":
        out_shapes = [tuple(np.stack([np.zeros(shapes[0])] * len(shapes), axis=attrs.axis).shape)]
    else:
        out_shapes = [m.shape for m in index_maps(kind, attrs, shapes[0], [out_shape])]
    outs = [f"out{i}" for i in range(len(out_shapes))]
    for n, s in zip(outs, out_shapes):
        g.add_tensor(Tensor(n, tuple(s), dtype, qp))
    g.ops = [Op(kind, ins, outs, attrs, kind.lower())]
    g.inputs, g.outputs = ins, outs
    return g


def movement_chain() -> Graph:
    """Int8 chain of movement ops, one quantization: TRANSPOSE, SPLIT (two outputs), REVERSE_V2, STRIDED_SLICE
    (negative stride, masks), GATHER, CONCATENATION, DEPTH_TO_SPACE, MIRROR_PAD, SLICE, UNPACK (six outputs), PACK."""
    qp = QuantParams(np.array([0.05], np.float32), np.array([-3]))
    g = Graph(name="movement")
    ops = [
        ("TRANSPOSE", ["x"], ["t"], irops.TransposeAttrs((0, 2, 1, 3))),
        ("SPLIT", ["t"], ["s0", "s1"], irops.SplitAttrs(3, (1, 3))),
        ("REVERSE_V2", ["s1"], ["r1"], irops.ReverseAttrs((1,))),
        ("STRIDED_SLICE", ["s0"], ["ss"], irops.StridedSliceAttrs((0, 0, 0, 0), (1, 6, 6, 1), (1, -1, 2, 1), 2, 2, 0)),
        ("GATHER", ["r1"], ["ga"], irops.GatherAttrs((0, 2, 4), (3,), 2)),
        ("CONCATENATION", ["ga", "ss"], ["c"], irops.ConcatenationAttrs(3)),
        ("DEPTH_TO_SPACE", ["c"], ["d"], irops.BlockAttrs(2)),
        ("MIRROR_PAD", ["d"], ["m"], irops.MirrorPadAttrs(((0, 0), (1, 2), (0, 1), (0, 0)), "SYMMETRIC")),
        ("SLICE", ["m"], ["sl"], irops.SliceAttrs((0, 1, 1, 0), (1, 12, -1, 1))),
        ("UNPACK", ["sl"], [f"u{i}" for i in range(6)], irops.AxisAttrs(2)),
        ("PACK", [f"u{i}" for i in range(6)][::-1], ["y"], irops.AxisAttrs(1)),
    ]
    shapes = {"x": (1, 6, 6, 4)}
    for kind, ins, outs, attrs in ops:
        if kind == "CONCATENATION":
            found = [np.concatenate([np.zeros(shapes[n]) for n in ins], axis=3).shape]
        elif kind == "PACK":
            found = [np.stack([np.zeros(shapes[n]) for n in ins], axis=attrs.axis).shape]
        else:
            found = [m.shape for m in index_maps(kind, attrs, shapes[ins[0]], [None])]
        shapes.update(zip(outs, found))
    for n, s in shapes.items():
        g.add_tensor(Tensor(n, tuple(s), "int8", qp))
    g.ops = [Op(k, i, o, a, f"{k.lower()}_{j}") for j, (k, i, o, a) in enumerate(ops)]
    g.inputs, g.outputs = ["x"], ["y"]
    return g
