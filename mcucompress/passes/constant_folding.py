"""Constant folding: an op whose inputs are all constant is evaluated now and becomes a constant tensor.

The values come from the reference executor's own kernels, so folding computes exactly what running
the op would. Ops writing a graph output stay (an output must be produced by an op).
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op
from mcucompress.passes.util import remove_op


def rewrite(graph: Graph, op: Op) -> bool:
    from mcucompress.reference import executor

    kernel = executor.KERNELS.get(op.kind)
    names = [n for n in op.inputs if n]
    if kernel is None or not names or any(not graph.t(n).is_const for n in names):
        return False
    if any(n in graph.outputs for n in op.outputs):
        return False
    xs = [graph.t(n).data for n in op.inputs] if op.kind == "CONV_2D" else [graph.t(n).data for n in names]
    out = graph.t(op.outputs[0])
    out.data = np.asarray(kernel(graph, op, xs)).astype(out.dtype).reshape(out.shape)
    remove_op(graph, op)
    return True
