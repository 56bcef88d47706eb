"""Random configurations of TILE, GATHER_ND, SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND as single-op IR graphs
(shared by the TFLM/LiteRT and host tests)."""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op, QuantParams, Tensor
from mcucompress.ir import ops as irops
from mcucompress.ir.index_maps import index_maps

KINDS = ["TILE", "GATHER_ND", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"]


def _shape(rng, lo: int, hi: int, rank: int) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(lo, hi + 1, rank))


def config(kind: str, rng) -> tuple[tuple[int, ...], object]:
    """(input shape, attrs) of one random configuration of `kind`."""
    if kind == "TILE":
        s = (1,) + _shape(rng, 1, 4, int(rng.integers(0, 4)))
        return s, irops.TileAttrs(tuple(int(m) for m in rng.integers(1, 4, len(s))))
    if kind == "GATHER_ND":
        s = _shape(rng, 1, 5, int(rng.integers(1, 5)))
        k = int(rng.integers(1, len(s) + 1))
        batch = _shape(rng, 1, 3, int(rng.integers(1, 3)))
        if k == len(s) and len(batch) == 0:
            batch = (2,)
        ind = np.stack([rng.integers(0, d, batch) for d in s[:k]], axis=-1)
        return s, irops.GatherNdAttrs(tuple(int(i) for i in ind.reshape(-1)), tuple(ind.shape))
    rank = int(rng.choice([3, 4]))
    block = tuple(int(b) for b in rng.integers(1, 4, rank - 2))
    if kind == "SPACE_TO_BATCH_ND":
        n, c = int(rng.integers(1, 3)), int(rng.integers(1, 5))
        spatial, pads = [], []
        for b in block:
            d = int(rng.integers(1, 7))
            before = int(rng.integers(0, 3))
            after = (-(d + before)) % b + b * int(rng.integers(0, 2))
            spatial.append(d)
            pads.append((before, after))
        return (n, *spatial, c), irops.SpaceBatchAttrs(block, tuple(pads))
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 5))
    spatial = [int(d) for d in rng.integers(1, 5, rank - 2)]
    crops = []
    for b, d in zip(block, spatial):
        total = int(rng.integers(0, b * d))  # leaves at least one row
        before = int(rng.integers(0, total + 1))
        crops.append((before, total - before))
    return (n * int(np.prod(block)), *spatial, c), irops.SpaceBatchAttrs(block, tuple(crops))


def graph(kind: str, rng, dtype: str = "int8") -> Graph:
    """One random single-op graph of `kind`; input and output share one random quantization (int8)."""
    shape, attrs = config(kind, rng)
    qp = QuantParams(np.array([np.float32(np.exp(rng.uniform(-6, 0)))], np.float32),
                     np.array([int(rng.integers(-128, 128))])) if dtype == "int8" else None
    g = Graph(name=kind.lower())
    g.add_tensor(Tensor("in0", shape, dtype, qp))
    g.add_tensor(Tensor("out0", tuple(index_maps(kind, attrs, shape, [None])[0].shape), dtype, qp))
    g.ops = [Op(kind, ["in0"], ["out0"], attrs, kind.lower())]
    g.inputs, g.outputs = ["in0"], ["out0"]
    return g
