"""Tensor lifetimes over the op order, with aliasing (RESHAPE costs nothing) and in-place ops (element-wise
ops, depthwise convolutions, 1x1 convolutions that do not widen: see codegen/lower.py; im2col convolutions
whose output starts a few rows before (or at) their input: codegen/conv_lag.py).

Which ops alias and which may write over their input is the op registry's `alias`, `in_place` and
`in_place_lag`; a tensor's place inside its group's buffer is Liveness.shift.

Tensors that must share memory are grouped (union-find); a group is one buffer. Groups holding a
model input or output live in the caller's buffers, not in the arena, so they cost no arena bytes (unless
they are planned into the arena: io_in_arena).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mcucompress.ir import Graph
from mcucompress.ir.registry import spec


@dataclass
class Group:
    tensors: list[str]
    size: int
    first_use: int
    last_use: int
    home: str = "arena"  # "arena", "input" (caller's input buffer) or "output" (caller's output buffer)


@dataclass
class Liveness:
    groups: list[Group]
    group_of: dict[str, int] = field(default_factory=dict)
    aliased_ops: set[int] = field(default_factory=set)  # op indices that need no code (pure aliases)
    # bytes from its group's start to a tensor's (0 when absent): a convolution writing over its dying input
    # starts its output that far before the input (OpSpec.in_place_lag, codegen/conv_lag.py)
    shift: dict[str, int] = field(default_factory=dict)
    lagged: set[int] = field(default_factory=set)  # op indices writing over their input at a lag (or at 0)


class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(b)] = self.find(a)


def analyse(graph: Graph, in_place: bool = True, kernel_in_place: bool = True, io_in_arena: bool = False,
            no_lag: frozenset = frozenset(), bands: tuple = ()) -> Liveness:
    """Groups and lifetimes. in_place: ops may write over their dead input as the registry allows;
    kernel_in_place: also the ops whose registry rule is a kernel fact (convolutions), not only element-wise;
    io_in_arena: the model input and output live in the arena too (as in TFLM), not in the caller's buffers;
    no_lag: op indices that write apart from their input even where their lag rule allows otherwise;
    bands: residual blocks run in row bands (codegen/bands.py): their convolutions' outputs live in the block's
    scratch, not here, and the block's output is written over its input."""
    # Variable (state) tensors live in static buffers outside the arena (codegen/lower_recurrent.py).
    in_bands = {n for b in bands for n in (b.y1, b.y2)}
    band_adds = {id(b.add): b for b in bands}
    activations = [n for n, t in graph.tensors.items() if not t.is_const and not t.variable and n not in in_bands]
    uf = _UnionFind()
    for n in activations:
        uf.find(n)
    inputs, outputs = set(graph.inputs), set(graph.outputs)

    def members(root: str) -> set[str]:
        return {n for n in activations if uf.find(n) == root}

    def homes(root: str) -> set[str]:
        if io_in_arena:
            return set()
        m = members(root)
        return ({"input"} if m & inputs else set()) | ({"output"} if m & outputs else set())

    last_consumer = {n: -1 for n in activations}
    for i, op in enumerate(graph.ops):
        for n in op.inputs:
            if n in last_consumer:
                last_consumer[n] = max(last_consumer[n], i)

    aliased, lagged = set(), set()
    shift: dict[str, int] = {}
    for i, op in enumerate(graph.ops):
        src, dst = op.inputs[0] if op.inputs else "", op.outputs[0]
        if id(op) in band_adds:
            src = band_adds[id(op)].x  # the block writes its output over x, its other ADD input is in the scratch
        if src not in last_consumer:
            continue
        lag_rule = spec(op.kind).in_place_lag
        if spec(op.kind).alias:
            if len(homes(uf.find(src)) | homes(uf.find(dst))) <= 1:
                uf.union(src, dst)
                shift[dst] = shift.get(src, 0)
                aliased.add(i)
        elif in_place and spec(op.kind).in_place and _can_write_over(graph, op, src, dst, kernel_in_place):
            src_root = uf.find(src)
            group_last = max(last_consumer[n] for n in members(src_root))
            if not homes(src_root) and not homes(uf.find(dst)) and group_last == i:
                uf.union(src, dst)
                shift[dst] = shift.get(src, 0)
        elif in_place and kernel_in_place and lag_rule is not None and i not in no_lag:
            # the output starts `lag` bytes before the input: the input's buffer (every tensor in it dead after
            # this op) moves up by `lag` in the joint buffer, the output (in no buffer yet) takes its start
            src_root, dst_root = uf.find(src), uf.find(dst)
            src_group = members(src_root)
            if (members(dst_root) == {dst} and not homes(src_root) and not homes(dst_root)
                    and max(last_consumer[n] for n in src_group) == i and not src_group & set(graph.outputs)):
                lag = lag_rule(graph, op)
                if lag is not None:
                    lagged.add(i)
                    uf.union(src, dst)
                    for n in src_group:
                        shift[n] = shift.get(n, 0) + lag
                    shift[dst] = 0

    groups: dict[str, Group] = {}
    for n in activations:
        root = uf.find(n)
        g = groups.setdefault(root, Group([], 0, 1 << 30, -1))
        g.tensors.append(n)
        g.size = max(g.size, shift.get(n, 0) + graph.t(n).nbytes)
    end = len(graph.ops) - 1
    for i, op in enumerate(graph.ops):
        for n in list(op.inputs) + list(op.outputs):
            if n in last_consumer:
                g = groups[uf.find(n)]
                g.first_use, g.last_use = min(g.first_use, i), max(g.last_use, i)
    for root, g in groups.items():
        h = homes(root)
        g.home = "output" if "output" in h else "input" if "input" in h else "arena"
        if set(g.tensors) & inputs:
            g.first_use = 0
        if set(g.tensors) & outputs:
            g.last_use = end
    ordered = sorted(groups.values(), key=lambda g: (g.first_use, g.tensors[0]))
    group_of = {n: i for i, g in enumerate(ordered) for n in g.tensors}
    return Liveness(ordered, group_of, aliased, {n: d for n, d in shift.items() if d}, lagged)


def _can_write_over(graph: Graph, op, src: str, dst: str, kernel_in_place: bool) -> bool:
    s, d = graph.t(src), graph.t(dst)
    if s.dtype != "int8" or d.dtype != "int8":
        return False
    rule = spec(op.kind).in_place
    if callable(rule):
        return kernel_in_place and rule(graph, op)
    return s.shape == d.shape
