"""Identity removal: a RESHAPE that keeps the shape (Identity, Dropout at inference) copies nothing, so drop it.

Readers of the output read the input instead. When the output is a graph output, the input's producer
writes the output directly (keeping the model's output name); failing that the copy stays.
"""

from __future__ import annotations

from mcucompress.ir import Graph, Op
from mcucompress.passes.util import remove_op, replace_uses, sole_consumer


def rewrite(graph: Graph, op: Op) -> bool:
    if op.kind != "RESHAPE":
        return False
    src, dst = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if src.shape != dst.shape or src.dtype != dst.dtype or src.quant != dst.quant:
        return False
    if dst.name not in graph.outputs:
        replace_uses(graph, dst.name, src.name)
        remove_op(graph, op)
        return True
    producer = graph.producer(src.name)
    if producer is None or src.name in graph.inputs or sole_consumer(graph, src.name) is not op:
        return False
    producer.outputs = [dst.name if n == src.name else n for n in producer.outputs]
    remove_op(graph, op)
    return True
