"""Python API: `mcucompress.prune(graph, data, method=..., sparsity=...)` -> PruneResult (graph + report).

Float in, float out; int8 in, int8 out: an int8 model is pruned through its float view (floatview.py) and
written back onto its int8 grid with its activation quantization unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mcucompress.dataset import fit_samples
from mcucompress.errors import DataError, McuError, UnsupportedOpError
from mcucompress.ir import Graph
from mcucompress.ir.verify import verify
from mcucompress.prune import layers, masks, nm, sensitivity
from mcucompress.prune.floatview import float_view, write_back
from mcucompress.prune.recovery import RECOVERY, LayerPlan, prune_one, recover

METHODS = ("channels", "unstructured", "2:4", "1:4")
ALLOCATIONS = ("sensitivity", "uniform", "global", "capacity")
CRITERIA = ("obs", "data", "l2", "l1")


class PruneError(McuError):
    """A pruning request the model cannot take (method, sparsity, a layer that would be emptied)."""


@dataclass
class PruneResult:
    graph: Graph  # same kind as the input (float or int8)
    dense: Graph  # the input graph as pruned (its int8 core for an int8 model with float I/O)
    method: str
    sparsity: float
    recover: str
    notes: list[str] = field(default_factory=list)  # layers left dense and why


def prune(graph: Graph, data: np.ndarray, method: str = "unstructured", sparsity: float | None = None,
          recover_with: str | None = None, allocation: str = "sensitivity", criterion: str | None = None,
          round_to: int | None = None, data_name: str = "calibration data", nm_rows: int = 1,
          nm_everywhere: bool = False, keep: Sequence[str] = ()) -> PruneResult:
    """Prune `graph` (float32, or int8) with calibration samples `data` (raw float inputs).

    method: 'channels' (sparsity = fraction of MACs removed, channels removed physically), 'unstructured'
    (fraction of conv/FC weights zeroed), '2:4' or '1:4' (along input channels; sparsity fixed).
    recover_with: 'none', 'bias', 'reconstruct' (default; layer-wise least squares, numpy only) or 'distill'
    (reconstruct, then label-free distillation toward the dense model on the calibration samples; torch).
    nm_rows (N:M only): consecutive output channels sharing each mask, ranked by their combined score (2: row
    pairs 2i, 2i + 1; every row stays N:M). N:M prunes only the layers the compiler would then run sparse (on the DSP
    target: elsewhere the zeros save nothing and cost accuracy), or every layer that takes the pattern when
    nm_everywhere or when none would.
    keep: conv/FC layers (op or output tensor names) left whole: no weight zeroed, and for channels neither their
    input nor their output channels removed (recovery may still refit their values to the pruned layers before
    them); the sparsity is still that of the whole model, taken from the rest."""
    recover_with = recover_with or "reconstruct"
    criterion = criterion or ("obs" if recover_with in ("reconstruct", "distill") else "data")
    _check_request(method, sparsity, recover_with, allocation, criterion)
    if nm_rows != 1 and (method not in nm.PATTERNS or not isinstance(nm_rows, int) or nm_rows < 1):
        raise PruneError(f"--nm-rows {nm_rows}: a positive number of rows per N:M mask, with --method 2:4 or 1:4 only")
    layerwise = "reconstruct" if recover_with == "distill" else recover_with  # distill starts from reconstruct
    if method in nm.PATTERNS:
        n, m = nm.PATTERNS[method]
        sparsity = 1 - n / m
    q = _int8_graph(graph)
    dense = float_view(q) if q is not None else graph
    x = _calibration(dense, q, data, data_name)
    work = copy.deepcopy(dense)
    kept_whole = kept_layers(dense, keep)
    notes: list[str] = []
    if method == "channels":
        from mcucompress.prune.channels import prune_channels

        plans, q_out = prune_channels(dense, work, x, sparsity, layerwise, allocation, criterion, round_to, q,
                                      kept_whole)
    else:
        plans = _weight_plans(dense, work, x, method, sparsity, allocation, notes, layerwise, nm_rows, nm_everywhere,
                              kept_whole)
        q_out = copy.deepcopy(q) if q is not None else None
    if q_out is not None:
        for index, plan in plans.items():
            plan.grid = _row_scales(q_out, q_out.ops[index])
    if method != "channels":
        _apply_masks(dense, work, plans, reconstruct=layerwise == "reconstruct")
    if layerwise != "none":
        recover(dense, work, x, layerwise, plans)
    if recover_with == "distill":
        from mcucompress.prune.distill import distill, schedule

        moving = {work.ops[i].inputs[1]: plan.nm for i, plan in plans.items()  # N:M kept positions may move
                  if plan.nm is not None and plan.nm_rows == 1 and work.ops[i].kind in ("CONV_2D", "FULLY_CONNECTED")}
        distill(dense, work, x, nm=moving, **schedule(method)._asdict())
    if q_out is not None:
        write_back(q_out, work)
        work = q_out
    verify(work)
    return PruneResult(work, q if q is not None else graph, method, float(sparsity), recover_with, notes)


def _check_request(method, sparsity, recover_with, allocation, criterion) -> None:
    if method not in METHODS:
        raise PruneError(f"unknown pruning method '{method}'; use one of {', '.join(METHODS)}")
    if method in nm.PATTERNS:
        n, m = nm.PATTERNS[method]
        if sparsity is not None and abs(sparsity - (1 - n / m)) > 1e-9:
            raise PruneError(f"--method {method} fixes the sparsity at {1 - n / m:g}; leave --sparsity out")
    elif sparsity is None:
        raise PruneError(f"--method {method} needs --sparsity S in [0, 1)")
    elif not (0.0 <= sparsity < 1.0) or not np.isfinite(sparsity):
        raise PruneError(f"--sparsity {sparsity:g} is outside [0, 1); give the fraction to remove, e.g. 0.5")
    if recover_with not in RECOVERY:
        raise PruneError(f"unknown recovery '{recover_with}'; use one of {', '.join(RECOVERY)}")
    if recover_with == "distill":
        from mcucompress.prune.distill import available

        if not available():
            raise PruneError("--recover distill trains with PyTorch, which is not installed: "
                             "pip install 'mcucompress[torch]', or use --recover reconstruct")
    if allocation not in ALLOCATIONS:
        raise PruneError(f"unknown allocation '{allocation}'; use one of {', '.join(ALLOCATIONS)}")
    if method == "channels" and allocation == "global":  # a global magnitude threshold ranks weights, not channels
        raise PruneError("--allocation global ranks weights and applies to --method unstructured; channel pruning "
                         "takes --allocation sensitivity (default), uniform or capacity")
    if method != "channels" and allocation == "capacity":  # it trades MACs for weights, which only channels shift
        raise PruneError("--allocation capacity chooses kept channels per group and applies to --method channels; "
                         f"--method {method} takes --allocation sensitivity (default), uniform or global")
    if criterion not in CRITERIA:
        raise PruneError(f"unknown channel criterion '{criterion}'; use one of {', '.join(CRITERIA)}")


def kept_layers(graph: Graph, names: Sequence[str]) -> set[int]:
    """Indices of the conv/FC ops named (by op or output tensor name) to stay whole."""
    by_name = {}
    for i, op in enumerate(graph.ops):
        by_name.setdefault(op.name, i)
        by_name.setdefault(op.outputs[0], i)
    layer_names = ", ".join(op.name for op in layers.weighted_ops(graph))
    found = set()
    for name in names:
        if name not in by_name:
            raise PruneError(f"--keep-layers: model '{graph.name}' has no layer '{name}'; its conv/FC layers are: "
                             f"{layer_names}")
        op = graph.ops[by_name[name]]
        if op.kind not in layers.WEIGHTED:
            raise PruneError(f"--keep-layers: layer '{name}' ({op.kind}) has no weights to keep; name one of: "
                             f"{layer_names}")
        found.add(by_name[name])
    return found


def _int8_graph(graph: Graph) -> Graph | None:
    """The int8 graph to prune (an int8 model with float I/O gives its int8 core), or None for a float one."""
    from mcucompress.passes.float_io import int8_core

    if graph.is_quantized:
        return graph
    core = int8_core(graph)
    if core is not None:
        return core
    if any(t.dtype == "int8" for t in graph.tensors.values() if not t.is_const):
        raise UnsupportedOpError(f"model '{graph.name}' mixes float and int8 activations; prune its float model")
    return None


def _calibration(dense: Graph, q: Graph | None, data: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(data)
    t = dense.t(dense.inputs[0])
    if q is not None and x.dtype == np.int8:  # int8 samples of an int8 model: their real values
        qin = q.t(q.inputs[0]).quant
        x = ((x.astype(np.float32) - qin.zp) * qin.s).astype(np.float32)
    if x.dtype.kind != "f":
        raise DataError(f"{name}: 'x' has dtype {x.dtype}; pruning needs the raw float inputs (or int8 for an int8 model)")
    return fit_samples(name, x, None, t, dense.input_perm()).x.astype(np.float32)


def _row_scales(q: Graph, op) -> np.ndarray:
    w = q.t(op.inputs[1])
    rows = layers.matrix(op, w.data).shape[0]
    return np.broadcast_to(w.quant.scale.astype(np.float64), (rows,)).copy()


def _weight_plans(dense: Graph, work: Graph, x: np.ndarray, method: str, sparsity: float, allocation: str,
                  notes: list[str], recover_with: str = "reconstruct", nm_rows: int = 1,
                  nm_everywhere: bool = False, kept_whole: set[int] = frozenset()) -> dict[int, LayerPlan]:
    """Per weighted op: the weight ratio (unstructured) or the N:M pattern, for the layers that take it (not the
    ones in kept_whole)."""
    index_of = {id(op): i for i, op in enumerate(work.ops)}
    every = layers.weighted_ops(work)
    ops = [op for op in every if index_of[id(op)] not in kept_whole]
    if not ops:
        raise PruneError(f"--keep-layers keeps every conv/FC layer of '{dense.name}': nothing is left to prune")
    notes.extend(f"left whole: op {op.name} (--keep-layers)" for op in every if index_of[id(op)] in kept_whole)
    if method in nm.PATTERNS:
        n, m = nm.PATTERNS[method]
        takers, reasons = [], []
        for op in ops:
            why = nm.why_not(op, work.t(op.inputs[1]).shape, m)
            if why is None:
                takers.append(op)
            else:
                reasons.append(f"op {op.name} ({op.kind}): {why}")
        if not takers:
            raise PruneError(f"--method {method}: no layer can take it; {reasons[0]}")
        faster = takers if nm_everywhere else [op for op in takers if nm.runs_sparse(work, op, n, m)]
        if faster:
            reasons += [f"op {op.name} ({op.kind}): its {method} kernel would not beat dense here (compile's cost "
                        "model), so zeros would only cost accuracy" for op in takers if op not in faster]
        else:  # nothing speeds up (small layers): the pattern is still what was asked for
            faster = takers
            notes.append(f"no layer runs faster with {method} here (compile's cost model): every layer that takes "
                         "the pattern is pruned, for accuracy studies; its zeros save neither flash nor instructions")
        notes.extend(f"left dense: {r}" for r in reasons)
        return {index_of[id(op)]: LayerPlan(ratio=1 - n / m, nm=(n, m), nm_rows=nm_rows) for op in faster}
    mats = [layers.matrix(op, work.t(op.inputs[1]).data) for op in ops]
    sizes = np.array([m.size for m in mats], np.float64)
    total = sum(work.t(op.inputs[1]).data.size for op in every)
    rest = sparsity * total / sizes.sum()  # the model's fraction, taken from the layers not kept whole
    if rest >= 1:
        raise PruneError(f"--sparsity {sparsity:g}: the layers outside --keep-layers hold {sizes.sum() / total:.0%} "
                         f"of the weights of '{dense.name}'; keep fewer layers or ask for less")
    if allocation == "uniform":
        ratios = [rest] * len(ops)
    elif allocation == "global":
        ratios = masks.global_ratios(mats, rest)
    else:

        def apply(graph: Graph, i: int, r: float, acts: dict):
            return prune_one(graph, ops[i], acts[ops[i].inputs[0]], LayerPlan(ratio=r), recover_with)

        curves = sensitivity.error_curves(work, x, list(range(len(ops))), apply, lambda i: index_of[id(ops[i])])
        ratios = sensitivity.allocate(curves, lambda rs: float(np.dot(rs, sizes) / total), sparsity)
    return {index_of[id(op)]: LayerPlan(ratio=float(r)) for op, r in zip(ops, ratios) if r > 0}


def _apply_masks(dense: Graph, work: Graph, plans: dict[int, LayerPlan], reconstruct: bool) -> None:
    """Magnitude masks for recovery 'none' and 'bias' (reconstruct chooses its own masks as it refits)."""
    if reconstruct:
        return
    for index, plan in plans.items():
        op = work.ops[index]
        w = work.t(op.inputs[1])
        m = layers.matrix(op, w.data)
        keep = nm.nm_mask(m, *plan.nm, rows=plan.nm_rows) if plan.nm else masks.magnitude_mask(m, plan.ratio)
        w.data = layers.unmatrix(op, np.where(keep, m, 0).astype(np.float32), w.shape)
