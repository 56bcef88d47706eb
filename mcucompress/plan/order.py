"""Operator order chosen for peak memory: an op whose inputs are ready earlier may run earlier.

A tensor read by two branches stays alive until its last reader; which branch runs last decides what can
write over it. ResNet-8's downsampling blocks read x with a 3x3 stride-2 convolution and a 1x1 shortcut:
in file order the shortcut runs last, so x, the 3x3 branch's output and the shortcut's output are alive at
once (ic: 33,888 B at that layer). Running the shortcut first lets the 3x3 convolution write over x
(codegen/conv_lag.py). Here each op, in order, is tried at every earlier position its inputs allow, and the
move is kept when the planned arena gets smaller; results do not change (the same ops on the same values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from mcucompress.ir import Graph


def order_for_memory(graph: Graph, arena_bytes: Callable[[Graph], int]) -> Graph:
    """`graph` with its ops reordered where that makes `arena_bytes` (the planner's arena) smaller; the graph
    itself when no move pays. Ops touching state (variable) tensors keep their place."""
    best, best_bytes = graph, arena_bytes(graph)
    j = 0
    while j < len(best.ops):
        op = best.ops[j]
        producers = {out: i for i, o in enumerate(best.ops[:j]) for out in o.outputs}
        earliest = max((producers[n] + 1 for n in op.inputs if n in producers), default=0)
        if any(best.t(n).variable for n in op.inputs + op.outputs if n in best.tensors):
            earliest = j
        for pos in range(earliest, j):
            ops = best.ops[:pos] + [op] + best.ops[pos:j] + best.ops[j + 1:]
            trial = replace(best, ops=ops)
            size = arena_bytes(trial)
            if size < best_bytes:
                best, best_bytes = trial, size
                break
        j += 1
    return best
