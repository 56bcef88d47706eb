"""Float islands: int8 -> DEQUANTIZE -> element-wise float32 ops -> QUANTIZE -> int8 becomes one int8 LOOKUP.

The TF converter leaves ops it does not quantize (ELU in TF 2.21) in float32 between a DEQUANTIZE and a
QUANTIZE; TFLM runs them in float, our C kernels take int8 only. When every op of the island is element-wise
and unary (an output element depends on the same input element alone), the int8 output is a function of the
int8 input value, so the island is a 256-entry table computed by the reference executor (DEQUANTIZE, TFLM's
float32 op arithmetic, QUANTIZE: bit-exact with TFLM). LOOKUP is an internal kind: it exists only in graphs
handed to code generation (codegen/project.compile_graph applies `fold`), the TFLite writer refuses it.
"""

from __future__ import annotations

import copy

from mcucompress.ir import Graph, Op
from mcucompress.ir import ops as irops
from mcucompress.passes.util import remove_op, sole_consumer

# float32 ops whose output element i depends only on input element i (one input, same shape)
ELEMENTWISE_UNARY = frozenset({"ELU", "LOGISTIC", "TANH", "EXP", "LOG", "SQRT", "RSQRT", "NEG", "ABS", "HARD_SWISH",
                               "RELU", "RELU6", "LEAKY_RELU"})


def _per_tensor_int8(graph: Graph, name: str) -> bool:
    t = graph.t(name)
    return t.dtype == "int8" and t.quant is not None and t.quant.scale.size == 1


def _island(graph: Graph, dequantize: Op) -> list[Op] | None:
    """[DEQUANTIZE, float ops..., QUANTIZE] starting at `dequantize`, or None if it is not a foldable island."""
    if dequantize.kind != "DEQUANTIZE" or not _per_tensor_int8(graph, dequantize.inputs[0]):
        return None
    shape = graph.t(dequantize.inputs[0]).shape
    chain, name = [dequantize], dequantize.outputs[0]
    while True:
        t = graph.t(name)
        if t.dtype != "float32" or t.shape != shape:
            return None
        nxt = sole_consumer(graph, name)  # intermediate float tensors must not be read anywhere else
        if nxt is None or len(nxt.inputs) != 1 or len(nxt.outputs) != 1:
            return None
        chain.append(nxt)
        if nxt.kind == "QUANTIZE":
            out = nxt.outputs[0]
            ok = len(chain) > 2 and _per_tensor_int8(graph, out) and graph.t(out).shape == shape
            return chain if ok else None
        if nxt.kind not in ELEMENTWISE_UNARY:
            return None
        name = nxt.outputs[0]


def rewrite(graph: Graph, op: Op) -> bool:
    chain = _island(graph, op)
    if chain is None:
        return False
    from mcucompress.reference.lookup import island_table  # the reference executor imports the registry

    table = island_table(graph, chain)
    quantize = chain[-1]
    quantize.kind, quantize.inputs = "LOOKUP", [op.inputs[0]]
    quantize.attrs = irops.LookupAttrs(tuple(int(v) for v in table), tuple(o.kind for o in chain[1:-1]))
    for o in chain[:-1]:
        remove_op(graph, o)
    return True


def fold(graph: Graph) -> Graph:
    """`graph` itself when it has no float island, else a copy with each island folded into a LOOKUP."""
    if not any(_island(graph, op) for op in graph.ops):
        return graph
    from mcucompress.passes.engine import apply

    folded = copy.deepcopy(graph)
    apply(folded, [rewrite])
    return folded
