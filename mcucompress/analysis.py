"""Per-op cost figures: multiply-accumulates, parameter counts and weight bytes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcucompress.ir import Graph, Op


@dataclass
class OpCost:
    macs: int
    params: int
    weight_bytes: int


def op_cost(graph: Graph, op: Op) -> OpCost:
    out = graph.t(op.outputs[0])
    consts = [graph.t(n) for n in op.inputs if n and graph.t(n).is_const]
    # Shape operands (RESHAPE targets, MEAN axes, PAD paddings) are not parameters.
    weights = [t for t in consts if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") or t.dtype != "int32"]
    params = sum(t.size for t in weights)
    nbytes = sum(t.nbytes for t in weights)
    macs = 0
    if op.kind == "CONV_2D":
        w = graph.t(op.inputs[1])
        macs = out.size * w.shape[1] * w.shape[2] * w.shape[3]
    elif op.kind == "DEPTHWISE_CONV_2D":
        w = graph.t(op.inputs[1])
        macs = out.size * w.shape[1] * w.shape[2]
    elif op.kind == "FULLY_CONNECTED":
        w = graph.t(op.inputs[1])
        macs = out.size * w.shape[1]
    elif op.kind == "UNIDIRECTIONAL_SEQUENCE_LSTM":  # 4 gates x (input + recurrent) products per output value
        macs = 4 * out.size * (graph.t(op.inputs[1]).shape[1] + out.shape[-1])
    elif op.kind == "SVDF":  # feature product + time product per filter and batch row
        wf, wt = graph.t(op.inputs[1]), graph.t(op.inputs[2])
        macs = graph.t(op.inputs[0]).shape[0] * wf.shape[0] * (wf.shape[1] + wt.shape[1])
    elif op.kind == "BATCH_MATMUL":
        lhs = graph.t(op.inputs[0])
        macs = out.size * lhs.shape[-2 if op.attrs.adj_x else -1]
    return OpCost(int(macs), int(params), int(nbytes))


def total_cost(graph: Graph) -> OpCost:
    costs = [op_cost(graph, op) for op in graph.ops]
    return OpCost(sum(c.macs for c in costs), sum(c.params for c in costs), sum(c.weight_bytes for c in costs))


def describe_quant(t) -> str:
    if t.quant is None:
        return "-"
    q = t.quant
    if q.per_axis:
        return f"per-axis[{q.axis}] x{q.scale.size} s~{float(np.median(q.scale)):.3g}"
    return f"s={q.s:.4g} zp={q.zp}"
