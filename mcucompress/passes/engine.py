"""The one traversal engine: apply an ordered list of rewrites to every op until nothing changes.

A rewrite is `rewrite(graph, op) -> bool`: it looks at the pattern rooted at `op`, edits the graph in
place and returns True when it changed something. Each round walks a snapshot of the ops, skipping
ops a rewrite already removed; rounds repeat until a whole round changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mcucompress.ir import Graph, Op
from mcucompress.passes import (
    activation_fusion,
    batchnorm_folding,
    constant_folding,
    dilated_conv,
    hard_swish,
    identity_removal,
    reshape_chain,
)

Rewrite = Callable[[Graph, Op], bool]

DEFAULT_PASSES: list[Rewrite] = [
    constant_folding.rewrite,
    identity_removal.rewrite,
    reshape_chain.rewrite,
    batchnorm_folding.rewrite,
    dilated_conv.rewrite,
    hard_swish.rewrite,
    activation_fusion.rewrite,
]


def apply(graph: Graph, rewrites: Sequence[Rewrite]) -> int:
    """Run `rewrites` in order over all ops until none applies; returns the number of rewrites done."""
    done = 0
    changed = True
    while changed:
        changed = False
        for rewrite in rewrites:
            for op in list(graph.ops):
                if any(op is o for o in graph.ops) and rewrite(graph, op):
                    done += 1
                    changed = True
    graph.remove_unused_tensors()
    return done


def run_default_passes(graph: Graph) -> int:
    return apply(graph, DEFAULT_PASSES)
