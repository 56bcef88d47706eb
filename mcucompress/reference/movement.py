"""Reference kernels of the data-movement ops: exact copies of input values, int8 or float32.

Every op but PACK reads its index maps (mcucompress.ir.index_maps), the same ones the C tables come from.
Multi-output ops (SPLIT, UNPACK) return a list with one array per output.
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op
from mcucompress.ir.index_maps import MULTI_OUTPUT, PADDED, index_maps


def maps_of(graph: Graph, op: Op) -> list[np.ndarray]:
    return index_maps(op.kind, op.attrs, graph.t(op.inputs[0]).shape, [graph.t(n).shape for n in op.outputs])


def move(graph: Graph, op: Op, xs: list):
    shape = graph.t(op.inputs[0]).shape
    maps = maps_of(graph, op)
    x = np.asarray(xs[0])
    n = max(x.size // max(int(np.prod(shape)), 1), 1)
    # A batch of n samples through a graph of batch 1: one sample at a time (every map reads one sample).
    samples = x.reshape((n, -1)) if n > 1 and shape and shape[0] == 1 else x.reshape((1, -1))
    if op.kind in PADDED:  # -1 marks padding: the zero point (int8) or 0.0, as an appended element
        t = graph.t(op.outputs[0])
        fill = t.quant.zp if t.dtype == "int8" and t.quant is not None else 0
        samples = np.concatenate([samples, np.full((len(samples), 1), fill, samples.dtype)], axis=1)
    ys = [np.stack([s[m] for s in samples]) for m in maps]
    ys = [y.reshape((-1,) + m.shape[1:]) if m.ndim and n > 1 else y.reshape(m.shape) for y, m in zip(ys, maps)]
    return ys if op.kind in MULTI_OUTPUT else ys[0]


def pack(graph: Graph, op: Op, xs: list) -> np.ndarray:
    return np.stack([np.asarray(x) for x in xs], axis=op.attrs.axis)
