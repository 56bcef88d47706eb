"""Run float graphs op by op on all calibration samples: two graphs in lockstep (dense and pruned, so that a
layer can be refit between them), or a graph's tail from cached activations (the sensitivity pass)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mcucompress.ir import Graph, Op
from mcucompress.reference import executor


def run_op(graph: Graph, op: Op, vals: dict, chunk: int = 100) -> np.ndarray:
    """The executor's kernel for one op over all samples, in chunks to bound im2col memory."""
    n = len(vals[op.inputs[0]])
    outs = []
    for start in range(0, n, chunk):
        xs = [(graph.t(i).data if graph.t(i).is_const else vals[i][start:start + chunk]) if i else None
              for i in op.inputs]
        outs.append(executor.run_op(graph, op, xs))
    return executor.concat_chunks(op, outs)


def last_uses(graph: Graph) -> dict[int, list[str]]:
    """op index -> activations no later op reads (freed then); model outputs are kept."""
    last: dict[str, int] = {}
    for index, op in enumerate(graph.ops):
        for n in op.inputs:
            if n and not graph.t(n).is_const:
                last[n] = index
    out: dict[int, list[str]] = {}
    for n, index in last.items():
        if n not in graph.outputs:
            out.setdefault(index, []).append(n)
    return out


def lockstep(dense: Graph, pruned: Graph, x: np.ndarray,
             before: Callable[[int, Op, Op, dict, dict], None] | None = None) -> tuple[dict, dict]:
    """Run `dense` and `pruned` (same op order) side by side on x; `before(index, op_d, op_p, vals_d, vals_p)`
    is called before each op runs and may change the pruned op's constants. Returns the final values."""
    vals_d = {dense.inputs[0]: x}
    vals_p = {pruned.inputs[0]: x}
    free_d, free_p = last_uses(dense), last_uses(pruned)
    for index, (op_d, op_p) in enumerate(zip(dense.ops, pruned.ops)):
        if before is not None:
            before(index, op_d, op_p, vals_d, vals_p)
        vals_d.update(executor.outputs_of(op_d, run_op(dense, op_d, vals_d)))
        vals_p.update(executor.outputs_of(op_p, run_op(pruned, op_p, vals_p)))
        for n in free_d.get(index, []):
            vals_d.pop(n, None)
        for n in free_p.get(index, []):
            vals_p.pop(n, None)
    return vals_d, vals_p


def activations(graph: Graph, x: np.ndarray) -> dict:
    """Every activation of `graph` on x (for small calibration subsets)."""
    vals = {graph.inputs[0]: x}
    for op in graph.ops:
        vals.update(executor.outputs_of(op, run_op(graph, op, vals)))
    return vals


def run_tail(graph: Graph, start: int, cached: dict) -> np.ndarray:
    """The model output when ops from `start` on are run on `cached` activations (earlier ones reused)."""
    vals = dict(cached)
    for op in graph.ops[start:]:
        vals.update(executor.outputs_of(op, run_op(graph, op, vals)))
    return vals[graph.outputs[0]]


def logits_name(graph: Graph) -> str:
    """The tensor the output error is measured on: the input of a final SOFTMAX, else the model output."""
    last = graph.ops[-1]
    return last.inputs[0] if last.kind == "SOFTMAX" else graph.outputs[0]
