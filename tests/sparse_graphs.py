"""Test and bench helpers for sparse execution: zero the weights of an int8 graph in a given pattern.

Magnitude-based, per layer, on CONV_2D and FULLY_CONNECTED filters (depthwise filters too for
unstructured): `unstructured` zeroes the smallest fraction of each filter, `nm` keeps the n largest of each
group of m consecutive weights along the input-channel (innermost, flattened K) axis. The graph is copied;
the bias and quantization are unchanged, so the reference executor runs the pruned graph as is.
"""

from __future__ import annotations

import copy

import numpy as np

from mcucompress.ir import Graph

WEIGHTED = ("CONV_2D", "FULLY_CONNECTED")


def _filters(graph: Graph, kinds=WEIGHTED):
    for op in graph.ops:
        if op.kind in kinds and len(op.inputs) > 1 and graph.t(op.inputs[1]).is_const:
            yield graph.t(op.inputs[1])


def unstructured(graph: Graph, fraction: float, kinds=WEIGHTED, select=None) -> Graph:
    """Zero the `fraction` smallest-magnitude weights of each filter (ties broken by position); `select`
    (a predicate on the filter tensor) limits it to some filters."""
    g = copy.deepcopy(graph)
    for t in _filters(g, kinds):
        if select is not None and not select(t):
            continue
        flat = t.data.reshape(-1).copy()
        n = round(fraction * flat.size)
        order = np.argsort(np.abs(flat.astype(np.int64)), kind="stable")
        flat[order[:n]] = 0
        t.data = flat.reshape(t.shape)
    return g


def nm(graph: Graph, n: int, m: int, kinds=WEIGHTED) -> Graph:
    """Keep the n largest-magnitude weights of every group of m along each output channel's K axis
    (the last group zero-padded when K % m != 0)."""
    g = copy.deepcopy(graph)
    for t in _filters(g, kinds):
        rows = t.data.reshape(t.shape[0], -1)
        cout, k = rows.shape
        padded = np.pad(rows, ((0, 0), (0, (-k) % m))).reshape(cout, -1, m)
        order = np.argsort(-np.abs(padded.astype(np.int64)), axis=2, kind="stable")
        keep = np.zeros_like(padded, dtype=bool)
        np.put_along_axis(keep, order[:, :, :n], True, axis=2)
        t.data = np.where(keep, padded, 0).reshape(cout, -1)[:, :k].reshape(t.shape).astype(t.data.dtype)
    return g
