"""Random RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR single-op graphs (shared by the TFLM, host and PTQ tests)."""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op, QuantParams, Tensor
from mcucompress.ir import ops as irops

KINDS = ["RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"]


def _out_size(rng, d: int) -> int:
    """Up or down, integer or not: 2x and 3x upscales, halving, and any size in [1, 3 d + 2]."""
    choice = rng.random()
    if choice < 0.25:
        return 2 * d
    if choice < 0.35:
        return 3 * d
    if choice < 0.45 and d > 1:
        return (d + 1) // 2
    return int(rng.integers(1, 3 * d + 3))


def config(kind: str, rng) -> tuple[tuple[int, ...], irops.ResizeAttrs]:
    depth = int(rng.integers(1, 6)) if rng.random() < 0.75 else int(rng.choice([16, 19, 32]))  # C's memcpy path too
    shape = (1, int(rng.integers(1, 8)), int(rng.integers(1, 8)), depth)
    size = (_out_size(rng, shape[1]), _out_size(rng, shape[2]))
    flags = int(rng.integers(0, 3 if kind == "RESIZE_BILINEAR" else 4))  # none, align, half pixel, (both)
    return shape, irops.ResizeAttrs(size, bool(flags & 1), bool(flags & 2))


def graph(kind: str, rng, dtype: str = "int8", shape=None, attrs=None) -> Graph:
    """One random single-op graph of `kind`; input and output share one random quantization (int8)."""
    if shape is None:
        shape, attrs = config(kind, rng)
    qp = QuantParams(np.array([np.float32(np.exp(rng.uniform(-6, 0)))], np.float32),
                     np.array([int(rng.integers(-128, 128))])) if dtype == "int8" else None
    g = Graph(name=kind.lower())
    g.add_tensor(Tensor("x", tuple(shape), dtype, qp))
    g.add_tensor(Tensor("y", (shape[0], *attrs.size, shape[3]), dtype, qp))
    g.ops = [Op(kind, ["x"], ["y"], attrs, kind.lower())]
    g.inputs, g.outputs = ["x"], ["y"]
    return g
