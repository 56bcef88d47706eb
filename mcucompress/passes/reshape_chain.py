"""Reshape chains: RESHAPE -> RESHAPE (the middle tensor read by nothing else) becomes one RESHAPE.

Importers produce these when a Flatten/Reshape meets a layout change (e.g. [1, C] -> [1, C, 1, 1] ->
NHWC [1, 1, 1, C]); a reshape only relabels the shape, so two in a row are one.
"""

from __future__ import annotations

from mcucompress.ir import Graph, Op
from mcucompress.passes.util import remove_op, sole_consumer


def rewrite(graph: Graph, op: Op) -> bool:
    if op.kind != "RESHAPE":
        return False
    nxt = sole_consumer(graph, op.outputs[0])
    if nxt is None or nxt.kind != "RESHAPE":
        return False
    src, mid, dst = graph.t(op.inputs[0]), graph.t(op.outputs[0]), graph.t(nxt.outputs[0])
    if not (src.dtype == mid.dtype == dst.dtype) or not (src.quant == mid.quant == dst.quant):
        return False
    nxt.inputs = [src.name]
    remove_op(graph, op)
    return True
