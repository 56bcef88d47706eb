"""Constant folding: an op whose inputs are all constant is evaluated now and becomes a constant tensor.

The values come from the reference executor's own kernels, so folding computes exactly what running
the op would. Ops writing a graph output stay (an output must be produced by an op).
"""

from __future__ import annotations

from mcucompress.ir import Graph, Op, registry
from mcucompress.passes.util import remove_op


def rewrite(graph: Graph, op: Op) -> bool:
    from mcucompress.reference import executor

    names = [n for n in op.inputs if n]
    if not registry.is_kind(op.kind) or not names or any(not graph.t(n).is_const for n in names):
        return False  # an intermediate kind of the ONNX importer (rewritten or rejected later) is left alone
    if any(n in graph.outputs for n in op.outputs):
        return False
    values = executor.outputs_of(op, executor.run_op(graph, op, [graph.t(n).data for n in names]))
    for name, y in values.items():
        graph.t(name).data = y.reshape(graph.t(name).shape)
    remove_op(graph, op)
    return True
