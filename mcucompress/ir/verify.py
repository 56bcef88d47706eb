"""Structural checks of a Graph: every violation is a GraphError naming the op or tensor.

mcucompress.ir.consistency proves each tensor and op consistent (shapes, dtypes, attributes, sizes).

After them, mcucompress.ir.constraints rejects int8 ops TFLM cannot run (UnsupportedOpError).
"""

from __future__ import annotations

from mcucompress.errors import GraphError
from mcucompress.ir import registry
from mcucompress.ir.consistency import SHAPE_RULES, check_op, check_tensor
from mcucompress.ir.constraints import check_graph
from mcucompress.ir.graph import Graph
from mcucompress.ir.tensor import DTYPES


def verify(graph: Graph, allow_unsupported: bool = False) -> None:
    """Raise GraphError on dangling tensors, wrong attrs, bad dtypes or inconsistent quantization.

    allow_unsupported: ops of unknown kinds (kept by an analysis-only import) and ops breaking TFLM's
    constraints pass; `inspect` flags them itself (constraints.problem)."""
    available = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.is_const or t.variable}
    for name in graph.inputs + graph.outputs:
        if name not in graph.tensors:
            raise GraphError(f"graph input/output '{name}' is not a tensor of the graph")
    for t in graph.tensors.values():
        if t.dtype not in DTYPES:
            raise GraphError(f"tensor '{t.name}' has unsupported dtype {t.dtype}")
        if t.data is not None and tuple(t.data.shape) != t.shape:
            raise GraphError(f"tensor '{t.name}' data shape {t.data.shape} differs from its shape {t.shape}")
        check_tensor(t)  # size, finite constants, quantization
        if t.dtype == "int8" and not t.is_const and t.quant is None:
            raise GraphError(f"int8 activation '{t.name}' has no quantization parameters")
    for op in graph.ops:
        where = f"op '{op.name}' ({op.kind})"
        if not registry.is_kind(op.kind):
            if not allow_unsupported:
                raise GraphError(f"{where}: unknown op kind")
        elif not isinstance(op.attrs, expected := registry.spec(op.kind).attrs):
            raise GraphError(f"{where}: attrs are {type(op.attrs).__name__}, expected {expected.__name__}")
        for name in op.inputs:
            if name and name not in available:
                raise GraphError(f"{where}: input '{name}' is not produced before this op (dangling or out of order)")
        for name in op.outputs:
            if name not in graph.tensors:
                raise GraphError(f"{where}: output '{name}' is not a tensor of the graph")
            if name in available:
                raise GraphError(f"{where}: output '{name}' is written twice")
            available.add(name)
        if op.kind in SHAPE_RULES:
            check_op(graph, op)  # arity, dtypes, attributes, output shape recomputed from the inputs
    for name in graph.outputs:
        if name not in available:
            raise GraphError(f"graph output '{name}' is never produced")
    if not allow_unsupported:
        check_graph(graph)

