"""The memory plan of a graph: where every activation tensor and every kernel scratch buffer lives."""

from __future__ import annotations

from dataclasses import dataclass

from mcucompress.ir import Graph
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

    def picture(self) -> str:
        return self.planner.picture()


def plan_memory(graph: Graph, scratch_sizes: dict[int, int], alignment: int = 16, in_place: bool = True,
                io_in_arena: bool = False) -> MemoryPlan:
    """The smaller of two plans: with every in-place op the registry allows, and with the element-wise ones
    only. Writing a convolution over its input merges two buffers into one that lives longer, which the
    greedy placement does not always turn into a smaller arena (vww: +288 B). io_in_arena: the model input
    and output are planned into the arena as well (liveness.analyse)."""
    plans = [_plan(graph, scratch_sizes, alignment,
                   analyse(graph, in_place=in_place, kernel_in_place=k, io_in_arena=io_in_arena))
             for k in ((True, False) if in_place else (False,))]
    return min(plans, key=lambda p: p.arena_bytes)


def _plan(graph: Graph, scratch_sizes: dict[int, int], alignment: int, live: Liveness) -> MemoryPlan:
    planner = GreedyPlanner(alignment)
    group_buffers = {}
    for gi, g in enumerate(live.groups):
        if g.home == "arena":
            group_buffers[gi] = planner.add_buffer(f"t:{g.tensors[0]}", g.size, g.first_use, g.last_use)
    scratch_buffers = {
        i: planner.add_buffer(f"scratch:{graph.ops[i].name}", size, i, i) for i, size in scratch_sizes.items() if size > 0
    }
    arena = planner.plan()
    planner.check()
    tensors = {}
    for name, gi in live.group_of.items():
        g = live.groups[gi]
        tensors[name] = Location(g.home, group_buffers[gi].offset if g.home == "arena" else 0)
    return MemoryPlan(
        arena_bytes=arena,
        scratch_bytes=max(scratch_sizes.values(), default=0),
        tensors=tensors,
        scratch={i: b.offset for i, b in scratch_buffers.items()},
        liveness=live,
        planner=planner,
    )
