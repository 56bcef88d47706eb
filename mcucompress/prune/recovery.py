"""Recovery without retraining, run layer by layer in order on the calibration data.

Every weighted layer of the pruned graph is compared with its dense twin on the same samples, each on its
own inputs (the pruned layer sees the pruned model's activations, so errors from earlier layers are made
good too):

- bias: the layer's pre-activation output mean is restored: b += W_d mean(x_d) + b_d - W_p mean(x_p) - b_p
  (for removed channels this folds their mean activation into the next layer's bias);
- reconstruct: the layer is refit to the dense outputs by least squares on its input Hessian
  H = X_p^T X_p (W* = W_d X_d^T X_p H^-1, a bias column included), then pruned OBS-style
  (SparseGPT: columns in order, each removed or rounded weight's error spread over the remaining
  columns through the Cholesky factor of H^-1, masks chosen by w^2 / [H^-1]_jj^2, N:M per group),
  rounding kept weights onto the int8 grid as it goes when the model is int8 (GPTQ).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcucompress.ir import Graph, Op, Tensor
from mcucompress.prune import layers
from mcucompress.prune.nm import block_score
from mcucompress.prune.runner import lockstep

RECOVERY = ("none", "bias", "reconstruct", "distill")  # distill: distill.py, after reconstruct
DAMP = 0.01  # of each Hessian diagonal entry: keeps H^-1 well conditioned (SparseGPT uses 1% of the mean)
REFIT_DAMP = 1e-6
BLOCK = 128


@dataclass
class LayerPlan:
    """What pruning does to one weighted op: a weight ratio (adaptive mask), an N:M pattern, or nothing
    (its inputs or output channels may still have changed); rows = the dense output rows it keeps."""

    ratio: float = 0.0
    nm: tuple[int, int] | None = None
    nm_rows: int = 1  # consecutive rows sharing each N:M mask (2: row pairs; prune/nm.py)
    rows: np.ndarray | None = None
    grid: np.ndarray | None = None  # per-row int8 scale of an int8 model's weights


def weights_and_bias(graph: Graph, op: Op) -> tuple[np.ndarray, np.ndarray]:
    """[rows, columns + 1]: the weight matrix with the bias as last column."""
    w = graph.t(op.inputs[1]).data.astype(np.float64)
    m = layers.matrix(op, w)
    b = graph.t(op.inputs[2]).data.astype(np.float64) if len(op.inputs) > 2 and op.inputs[2] else np.zeros(len(m))
    return np.hstack([m, b[:, None]])


def set_weights_and_bias(graph: Graph, op: Op, a: np.ndarray) -> None:
    w = graph.t(op.inputs[1])
    w.data = layers.unmatrix(op, a[:, :-1].astype(np.float32), w.shape)
    ensure_bias(graph, op).data = a[:, -1].astype(np.float32)


def ensure_bias(graph: Graph, op: Op) -> Tensor:
    if len(op.inputs) > 2 and op.inputs[2]:
        return graph.t(op.inputs[2])
    n = graph.t(op.outputs[0]).shape[-1]
    t = graph.add_tensor(Tensor(f"{op.outputs[0]}_pruning_bias", (n,), "float32", None, np.zeros(n, np.float32)))
    op.inputs = op.inputs[:2] + [t.name]
    return t


def recover(dense: Graph, pruned: Graph, x: np.ndarray, method: str, plans: dict[int, LayerPlan]) -> None:
    """Apply `method` ('bias' or 'reconstruct') to `pruned` in place; `plans` maps op index -> LayerPlan
    (for 'reconstruct' the masks are chosen here, for 'bias' they are already applied)."""

    def before(index: int, op_d: Op, op_p: Op, vals_d: dict, vals_p: dict) -> None:
        if op_p.kind not in layers.WEIGHTED:
            return
        plan = plans.get(index, LayerPlan())
        xd, xp = vals_d[op_d.inputs[0]], vals_p[op_p.inputs[0]]
        untouched = plan.ratio == 0 and plan.nm is None and plan.rows is None and (xp is xd or np.array_equal(xp, xd))
        if untouched and plan.grid is None:
            return
        a_d = weights_and_bias(dense, op_d)
        if plan.rows is not None:
            a_d = a_d[plan.rows]
        if method == "bias":
            set_weights_and_bias(pruned, op_p, bias_corrected(dense, op_d, xd, pruned, op_p, xp, a_d, plan.rows))
        elif not untouched:
            set_weights_and_bias(pruned, op_p, reconstructed(dense, op_d, xd, pruned, op_p, xp, a_d, plan))

    lockstep(dense, pruned, x, before)


def prune_one(graph: Graph, op: Op, x: np.ndarray, plan: LayerPlan, method: str):
    """Prune one layer in place as `method` would, on its dense inputs x (the sensitivity pass); returns undo."""
    from mcucompress.prune.masks import magnitude_mask
    from mcucompress.prune.nm import nm_mask

    a_d = weights_and_bias(graph, op)
    w = graph.t(op.inputs[1])
    old_w = w.data
    had_bias = len(op.inputs) > 2 and op.inputs[2]
    old_b = graph.t(op.inputs[2]).data if had_bias else None
    if method == "reconstruct":
        a = reconstructed(graph, op, x, graph, op, x, a_d, plan)
    else:
        m = a_d[:, :-1]
        keep = nm_mask(m, *plan.nm, rows=plan.nm_rows) if plan.nm else magnitude_mask(m, plan.ratio)
        a = np.hstack([np.where(keep, m, 0), a_d[:, -1:]])
        if method == "bias":
            set_weights_and_bias(graph, op, a)
            a = bias_corrected(graph, op, x, graph, op, x, a_d)
    set_weights_and_bias(graph, op, a)

    def undo() -> None:
        w.data = old_w
        if had_bias:
            graph.t(op.inputs[2]).data = old_b
        else:
            graph.tensors.pop(op.inputs[2], None)
            op.inputs = op.inputs[:2]

    return undo


def bias_corrected(dense: Graph, op_d: Op, xd, pruned: Graph, op_p: Op, xp, a_d: np.ndarray,
                   rows: np.ndarray | None = None) -> np.ndarray:
    a_p = weights_and_bias(pruned, op_p)
    md, mp = layers.patch_mean(dense, op_d, xd), layers.patch_mean(pruned, op_p, xp)
    if op_p.kind == "DEPTHWISE_CONV_2D":
        if rows is not None:  # a depthwise row reads its own channel: the dense twin's kept channels
            md = md[:, rows]
        target = np.einsum("ct,tc->c", a_d[:, :-1], md) + a_d[:, -1]
        got = np.einsum("ct,tc->c", a_p[:, :-1], mp) + a_p[:, -1]
    else:
        target, got = a_d[:, :-1] @ md + a_d[:, -1], a_p[:, :-1] @ mp + a_p[:, -1]
    a_p[:, -1] += target - got
    return a_p


def reconstructed(dense: Graph, op_d: Op, xd, pruned: Graph, op_p: Op, xp, a_d: np.ndarray,
                  plan: LayerPlan) -> np.ndarray:
    if op_p.kind == "DEPTHWISE_CONV_2D":
        hpp, hpd = _depthwise_hessians(dense, op_d, xd, pruned, op_p, xp, plan.rows)
        rows = []
        for c in range(len(a_d)):
            star = refit(a_d[c:c + 1], hpp[c], hpd[c])
            grid = None if plan.grid is None else plan.grid[c:c + 1]
            rows.append(sparsegpt(star, hpp[c], plan.ratio, None, grid))
        return np.vstack(rows)
    hpp, hpd = layers.hessians(pruned, op_p, xp, dense, op_d, xd)
    return sparsegpt(refit(a_d, hpp, hpd), hpp, plan.ratio, plan.nm, plan.grid, plan.nm_rows)


def _depthwise_hessians(dense, op_d, xd, pruned, op_p, xp, keep=None, chunk: int = 32):
    hpp = hpd = 0.0
    rows = 0
    for s in range(0, len(xp), chunk):
        p = layers.patches(pruned, op_p, xp[s:s + chunk]).astype(np.float64)
        d = layers.patches(dense, op_d, xd[s:s + chunk]).astype(np.float64)
        if keep is not None:
            d = d[:, :, keep]
        p = np.concatenate([p, np.ones((len(p), 1, p.shape[2]))], axis=1)
        d = np.concatenate([d, np.ones((len(d), 1, d.shape[2]))], axis=1)
        hpp = hpp + np.einsum("rtc,rsc->cts", p, p)
        hpd = hpd + np.einsum("rtc,rsc->cts", p, d)
        rows += len(p)
    return hpp / rows, hpd / rows


def _damped(h: np.ndarray, damp: float = DAMP) -> np.ndarray:
    h = h.copy()
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0  # an input that is always 0 carries no information: any weight fits it
    # Relative to each column's own energy: inputs differ in scale by orders of magnitude (raw pixels
    # beside the constant bias column), and a damping from the mean diagonal would pin the small ones.
    h[np.diag_indices_from(h)] *= 1 + damp
    return h


def refit(a_d: np.ndarray, hpp: np.ndarray, hpd: np.ndarray) -> np.ndarray:
    """Least-squares weights (bias last) of the pruned layer's inputs that best give the dense outputs."""
    # Barely damped: a damping here would shrink the weights even where nothing was pruned.
    return np.linalg.solve(_damped(hpp, REFIT_DAMP), hpd @ a_d.T).T


def sparsegpt(a: np.ndarray, h: np.ndarray, ratio: float = 0.0, nm: tuple[int, int] | None = None,
              grid: np.ndarray | None = None, nm_rows: int = 1) -> np.ndarray:
    """Prune (ratio of the weight columns' entries, or N:M per run of M columns, the same positions for each
    block of `nm_rows` rows) and round (onto `grid` scales per row) the weights of `a` [rows, columns + bias],
    compensating through H^-1."""
    w = a.copy()
    k = w.shape[1] - 1  # the bias column is neither pruned nor rounded: it absorbs errors
    hinv = np.linalg.cholesky(np.linalg.inv(_damped(h))).T  # upper factor of H^-1
    for i1 in range(0, k, BLOCK):
        i2 = min(i1 + BLOCK, k)
        w1, hinv1 = w[:, i1:i2].copy(), hinv[i1:i2, i1:i2]
        err1 = np.zeros_like(w1)
        d = np.diag(hinv1)
        prune1 = np.zeros_like(w1, bool)
        if ratio > 0 and nm is None:
            score = w1**2 / d[None, :] ** 2
            n_prune = int(round(ratio * score.size))
            if n_prune:
                prune1.ravel()[np.argsort(score.ravel(), kind="stable")[:n_prune]] = True
        for i in range(i2 - i1):
            if nm is not None and i % nm[1] == 0:
                n, m = nm
                score = block_score(w1[:, i:i + m] ** 2 / d[None, i:i + m] ** 2, nm_rows)
                order = np.argsort(score, axis=1, kind="stable")
                np.put_along_axis(prune1[:, i:i + m], order[:, :m - n], True, axis=1)
            col = w1[:, i]
            q = np.where(prune1[:, i], 0.0, col)
            if grid is not None:
                q = np.clip(np.round(q / grid), -127, 127) * grid
            e = (col - q) / d[i]
            w1[:, i:] -= e[:, None] * hinv1[i, i:][None, :]
            w1[:, i] = q
            err1[:, i] = e
        w[:, i1:i2] = w1
        w[:, i2:] -= err1 @ hinv[i1:i2, i2:]
    return w
