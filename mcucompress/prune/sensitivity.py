"""Per-layer sensitivity and the choice of per-layer ratios that meet a global target.

Each candidate (a layer, or a channel group) is pruned alone at each ratio of a grid on a calibration
subset, and the model's output error (mean squared error of the logits relative to their mean square) is
measured by rerunning only the ops after it. Ratios are then raised greedily where they cost the least
error per unit removed (looking past a flat or non-monotone stretch to any higher ratio), and the last
step is cut back to land on the target.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mcucompress.ir import Graph
from mcucompress.prune.runner import activations, logits_name, run_tail

GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SUBSET = 64  # samples for the sensitivity pass: the ranking needs far fewer than the recovery


def relative_error(ref: np.ndarray, got: np.ndarray) -> float:
    ref, got = ref.astype(np.float64), got.astype(np.float64)
    return float(np.mean((ref - got) ** 2) / (np.mean(ref**2) + 1e-30))


def error_curves(graph: Graph, x: np.ndarray, candidates: list, apply: Callable[[Graph, object, float, dict], Callable],
                 start: Callable[[object], int], grid=GRID) -> list[list[float]]:
    """err[c][j] for candidate c pruned alone at grid[j]. `apply(graph, c, ratio, activations)` prunes it in
    place (with the recovery that will be used, so that the ranking reflects it) and returns an undo
    function; `start(c)` is the first op index its pruning changes."""
    x = x[:SUBSET]
    name = logits_name(graph)
    cached = activations(graph, x)
    ref = cached[name]
    curves = []
    for c in candidates:
        curve = []
        for r in grid:
            if r == 0:
                curve.append(0.0)
                continue
            undo = apply(graph, c, r, cached)
            s = start(c)
            keep = {k: v for k, v in cached.items() if k in graph.inputs or _produced_before(graph, k, s)}
            vals = _tail_values(graph, s, keep)
            curve.append(relative_error(ref, vals[name]))
            undo()
        curves.append(curve)
    return curves


def _produced_before(graph: Graph, name: str, start: int) -> bool:
    return any(name in op.outputs for op in graph.ops[:start])


def _tail_values(graph: Graph, start: int, vals: dict) -> dict:
    from mcucompress.prune.runner import run_op
    from mcucompress.reference.executor import outputs_of

    vals = dict(vals)
    for op in graph.ops[start:]:
        vals.update(outputs_of(op, run_op(graph, op, vals)))
    return vals


def allocate(curves: list[list[float]], removed: Callable[[list[float]], float], target: float,
             grid=GRID) -> list[float]:
    """Ratios per candidate so that removed(ratios) reaches `target` (a fraction of the model) at a low summed
    error. `removed` is evaluated on the real model (channel groups interact: both sides of a conv)."""
    levels = [0] * len(curves)
    ratios = [0.0] * len(curves)
    while removed(ratios) < target:
        best = None
        base = removed(ratios)
        for c, curve in enumerate(curves):
            for j in range(levels[c] + 1, len(grid)):
                trial = list(ratios)
                trial[c] = grid[j]
                gain = removed(trial) - base
                if gain <= 0:
                    continue
                cost = (curve[j] - curve[levels[c]]) / gain
                if best is None or cost < best[0]:
                    best = (cost, c, j)
        if best is None:
            break  # every candidate is at its largest ratio: the caller reports the shortfall
        _, c, j = best
        lo = ratios[c]
        ratios[c], levels[c] = grid[j], j
        if removed(ratios) > target:  # land on the target: bisect this candidate's ratio
            hi = ratios[c]
            for _ in range(30):
                mid = (lo + hi) / 2
                ratios[c] = mid
                if removed(ratios) >= target:
                    hi = mid
                else:
                    lo = mid
            ratios[c] = hi
    return ratios


__all__ = ["GRID", "allocate", "error_curves", "relative_error", "run_tail"]
