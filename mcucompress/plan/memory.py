"""The memory plan of a graph: where every activation tensor and every kernel scratch buffer lives."""

from __future__ import annotations

from dataclasses import dataclass, field

from mcucompress.ir import Graph
from mcucompress.ir.registry import spec
from mcucompress.plan.greedy import GreedyPlanner
from mcucompress.plan.liveness import Liveness, analyse


@dataclass
class Location:
    home: str  # "arena", "input" or "output"
    offset: int  # bytes from the start of the arena (0 for the caller's buffers)


@dataclass
class MemoryPlan:
    arena_bytes: int
    scratch_bytes: int  # the largest scratch buffer of any single op (part of arena_bytes)
    tensors: dict[str, Location]
    scratch: dict[int, int]  # op index -> arena offset of its scratch buffer
    liveness: Liveness
    planner: GreedyPlanner
    io_in_arena: bool = False  # the model input and output are planned into the arena too
    shared: dict[int, bool] = field(default_factory=dict)  # op index -> its scratch widened its input's buffer
    kernel_in_place: bool = True  # the liveness let convolutions write over their input
    no_lag: frozenset = frozenset()  # op indices kept from writing over their input (_fewer_lags)
    scratch_shares: dict[int, int] = field(default_factory=dict)  # op index -> group its scratch shares
    bands: tuple = ()  # residual blocks run in row bands (codegen/bands.py)

    def picture(self) -> str:
        return self.planner.picture()


def plan_memory(graph: Graph, scratch_sizes: dict[int, int], alignment: int = 16, in_place: bool = True,
                io_in_arena: bool = False, bands: tuple = ()) -> MemoryPlan:
    """The smaller of two plans: with every in-place op the registry allows, and with the element-wise ones
    only. Writing a convolution over its input merges two buffers into one that lives longer, which the
    greedy placement does not always turn into a smaller arena (vww: +288 B); the same holds for scratch
    buffers sharing their op's dead input (OpSpec.scratch_over_input), so both are tried on and off.
    io_in_arena: the model input and output are planned into the arena as well (liveness.analyse); bands: the
    residual blocks run in row bands (codegen/bands.py; scratch_sizes must be bands.scratch_sizes)."""
    def plan(k: bool, share: bool, keep_apart: frozenset = frozenset(), no_lag: frozenset = frozenset()) -> MemoryPlan:
        live = analyse(graph, in_place=in_place, kernel_in_place=k, io_in_arena=io_in_arena, no_lag=no_lag,
                       bands=bands)
        result = _plan(graph, scratch_sizes, alignment, live, share, keep_apart)
        result.kernel_in_place, result.no_lag = k, no_lag
        return result

    plans = [plan(k, share) for k in ((True, False) if in_place else (False,)) for share in (True, False)]
    best = min(plans, key=lambda p: p.arena_bytes)  # the first of equals: the most sharing
    if best.kernel_in_place:
        best = _fewer_lags(best, lambda no_lag: plan(True, bool(best.scratch_shares), no_lag=no_lag))
    if best.shared:
        k, no_lag = best.kernel_in_place, best.no_lag
        best = _fewer_shares(best, lambda apart: plan(k, True, apart, no_lag))
    best.io_in_arena, best.bands = io_in_arena, bands
    return best


def _fewer_lags(best: MemoryPlan, replan) -> MemoryPlan:
    """A convolution written over its input makes one buffer of both, alive as long as either: where the output
    is much larger than the input (ResNet-8's first layer, 3 -> 16 channels over the model input), that buffer
    can cost more at the model's peak than the two apart. One pass, in op order: each op writing over its input
    writes apart when that alone makes the arena smaller."""
    no_lag: frozenset = frozenset()
    for i in sorted(best.liveness.lagged):
        trial = replan(no_lag | {i})
        if trial.arena_bytes < best.arena_bytes:
            best, no_lag = trial, no_lag | {i}
    return best


def _fewer_shares(best: MemoryPlan, replan) -> MemoryPlan:
    """Sharing is decided per op, not only for all or none: a scratch larger than its input widens the input's
    buffer over the input's whole life, which costs more than a separate scratch where the input is made
    beside another large buffer (ad01: the 256 B scratch of the second layer widened the first layer's output
    next to the 1,280 B widened model input: 1,536 -> 1,408 B). One pass, in op order: each share that grows
    its input's buffer is kept apart when that alone makes the arena smaller."""
    apart: frozenset = frozenset()
    first = best
    for i in sorted(first.shared):
        if not first.shared[i]:
            continue  # the scratch fits in its input's buffer: sharing costs nothing
        trial = replan(apart | {i})
        if trial.arena_bytes < best.arena_bytes:
            best, apart = trial, apart | {i}
    return best


def _scratch_over_input(graph: Graph, scratch_sizes: dict[int, int], live: Liveness,
                        keep_apart: frozenset = frozenset()) -> tuple[dict[int, int], dict[int, bool]]:
    """op index -> group index of its input 0, for the ops whose scratch shares that dead input's buffer (all
    that may but those in `keep_apart`); and op index -> whether sharing made that buffer larger."""
    shared, grew = {}, {}
    for i, size in scratch_sizes.items():
        op = graph.ops[i]
        rule = spec(op.kind).scratch_over_input
        gi = live.group_of.get(op.inputs[0]) if op.inputs else None
        if size <= 0 or rule is None or gi is None or gi in shared.values() or i in keep_apart:
            continue
        if any(live.shift.get(t) for t in live.groups[gi].tensors):
            continue  # the scratch would start at the group's, not the input's, address
        g = live.groups[gi]
        if g.home == "arena" and g.last_use == i and not set(op.outputs) & set(g.tensors) and rule(graph, op):
            grew[i] = size > g.size
            g.size = max(g.size, size)
            shared[i] = gi
    return shared, grew


def _plan(graph: Graph, scratch_sizes: dict[int, int], alignment: int, live: Liveness, share: bool,
          keep_apart: frozenset = frozenset()) -> MemoryPlan:
    planner = GreedyPlanner(alignment)
    shared, grew = _scratch_over_input(graph, scratch_sizes, live, keep_apart) if share else ({}, {})
    group_buffers = {}
    for gi, g in enumerate(live.groups):
        if g.home == "arena":
            group_buffers[gi] = planner.add_buffer(f"t:{g.tensors[0]}", g.size, g.first_use, g.last_use)
    scratch_buffers = {
        i: planner.add_buffer(f"scratch:{graph.ops[i].name}", size, i, i)
        for i, size in scratch_sizes.items() if size > 0 and i not in shared
    }
    arena = planner.plan()
    if planner.plan(by_area=True) < arena:  # ResNet-8 with its convolutions over their inputs: 41,488 -> 35,344 B
        arena = planner.arena_size()
    else:
        planner.plan()
    planner.check()
    tensors = {}
    for name, gi in live.group_of.items():
        g = live.groups[gi]
        tensors[name] = Location(g.home, group_buffers[gi].offset + live.shift.get(name, 0) if g.home == "arena" else 0)
    return MemoryPlan(
        arena_bytes=arena,
        scratch_bytes=max(scratch_sizes.values(), default=0),
        tensors=tensors,
        scratch={**{i: b.offset for i, b in scratch_buffers.items()},
                 **{i: group_buffers[gi].offset for i, gi in shared.items()}},
        liveness=live,
        planner=planner,
        shared=grew,
        scratch_shares=shared,
    )
