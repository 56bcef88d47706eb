"""Channel pruning: channel groups found by propagation through the graph, ranked, and removed physically.

Every activation tensor's last axis is a run of segments, each a whole channel group; a flattened tensor
repeats its channels once per spatial position (index % C == c). The op registry's channel rule of each op
says how its output's segments follow from its inputs': a producer (CONV_2D, FULLY_CONNECTED) starts a new
group, a depthwise convolution, a pool, PAD or MEAN pass the input's segments on, the inputs of a residual
ADD/SUB/MUL are one group, a CONCATENATION on the channel axis joins its inputs' segments, a flattening
RESHAPE repeats them, and anything else blocks (its groups keep every channel, as do the model's inputs and
outputs). Removing a channel of a group then slices every producer's weight rows, bias and per-channel
quantization, every consumer's weight columns (at every kernel tap, at every flattened position),
depthwise weights, per-channel constants of tied ops, and the shape of every tensor that carries it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from mcucompress.analysis import op_cost
from mcucompress.ir import Graph, Op, QuantParams
from mcucompress.ir.ops import MeanAttrs
from mcucompress.ir.registry import (
    CHANNELS_BLOCK,
    CHANNELS_CONCAT,
    CHANNELS_DEPTHWISE,
    CHANNELS_PASSTHROUGH,
    CHANNELS_PRODUCER,
    CHANNELS_RESHAPE,
    CHANNELS_TIED,
    spec,
)
from mcucompress.prune import layers, sensitivity
from mcucompress.prune.recovery import LayerPlan
from mcucompress.prune.runner import activations

SELECT_SUBSET = 256  # calibration samples for the consumers' Hessians in reconstruction-aware selection
ROUND_TO = 4  # kept channels per group: a multiple of this. The conv kernels gather and multiply input channels four
# at a time (other depths take scalar paths): ResNet-8 with 50% of its MACs removed runs in 0.61x the dense
# instructions on mps2-an386 with multiples of 2 (0.464x MACs), 0.565x with multiples of 4 (0.461x MACs)


@dataclass
class Layout:
    groups: list[int]  # segment group ids along the channel axis
    repeat: int = 1  # > 1 for a flattened tensor: every channel once per spatial position


@dataclass
class Channels:
    """The channel structure of a graph: tensor layouts, group sizes, blocked and producing groups."""

    layouts: dict[str, Layout] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    produced: list[tuple[int, int]] = field(default_factory=list)  # (group, op index of a producer)
    why_blocked: dict[int, str] = field(default_factory=dict)

    def new(self, size: int) -> int:
        self.sizes.append(size)
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def root(self, g: int) -> int:
        while self.parent[g] != g:
            self.parent[g] = self.parent[self.parent[g]]
            g = self.parent[g]
        return g

    def union(self, a: int, b: int) -> None:
        a, b = self.root(a), self.root(b)
        if a != b:
            self.parent[b] = a

    def block(self, layout: Layout, why: str) -> None:
        for g in layout.groups:
            self.blocked.add(g)
            self.why_blocked.setdefault(g, why)

    def prunable(self) -> list[int]:
        blocked = {self.root(g) for g in self.blocked}
        roots = sorted({self.root(g) for g in range(len(self.parent))})
        return [r for r in roots if r not in blocked and self.producers(r)]

    def producers(self, root: int) -> list[int]:
        return sorted({index for g, index in self.produced if self.root(g) == root})

    def kept_indices(self, name: str, kept: dict[int, np.ndarray]) -> np.ndarray:
        """Channel (or flattened feature) indices of tensor `name` that survive `kept` (root -> indices)."""
        lay = self.layouts[name]
        parts, offset = [], 0
        for g in lay.groups:
            r = self.root(g)
            parts.append(offset + (kept[r] if r in kept else np.arange(self.sizes[g])))
            offset += self.sizes[g]
        idx = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        if lay.repeat == 1:
            return idx
        return (np.arange(lay.repeat)[:, None] * offset + idx[None, :]).ravel()


def analyse(graph: Graph) -> Channels:
    ch = Channels()
    for name in graph.inputs:
        lay = Layout([ch.new(graph.t(name).shape[-1])])
        ch.layouts[name] = lay
        ch.block(lay, f"model input '{name}'")
    for index, op in enumerate(graph.ops):
        _propagate(graph, ch, index, op)
    for name in graph.outputs:
        ch.block(ch.layouts[name], f"model output '{name}'")
    return ch


def _propagate(graph: Graph, ch: Channels, index: int, op: Op) -> None:
    out = graph.t(op.outputs[0])
    acts = [n for n in op.inputs if n and not graph.t(n).is_const]
    ins = [ch.layouts[n] for n in acts]
    rule = spec(op.kind).channels

    def fresh(blocked_why: str | None = None) -> Layout:
        lay = Layout([ch.new(out.shape[-1] if out.shape else 1)])
        if blocked_why:
            ch.block(lay, blocked_why)
        return lay

    def block_all(why: str) -> Layout:
        for lay in ins:
            ch.block(lay, why)
        return fresh(why)

    why = f"op {op.name} ({op.kind})"
    total = sum(ch.sizes[g] for g in ins[0].groups) * ins[0].repeat if ins else 0
    if rule == CHANNELS_PRODUCER:
        lay = fresh()
        ch.produced.append((lay.groups[0], index))
        if op.kind == "CONV_2D" and ins[0].repeat != 1:
            lay = block_all(why)
    elif rule == CHANNELS_DEPTHWISE:
        if getattr(op.attrs, "depth_multiplier", 1) != 1 or ins[0].repeat != 1:
            lay = block_all(f"{why}: depth multiplier > 1")
        else:
            lay = Layout(list(ins[0].groups))
            for g in ins[0].groups:
                ch.produced.append((g, index))
    elif rule == CHANNELS_PASSTHROUGH:
        lay = Layout(list(ins[0].groups), ins[0].repeat)
        same_channels = out.shape and out.shape[-1] == graph.t(acts[0]).shape[-1] and ins[0].repeat == 1
        if isinstance(op.attrs, MeanAttrs) and any(  # MEAN, SUM, REDUCE_MAX, REDUCE_MIN
a % len(out.shape or (1,)) == len(graph.t(acts[0]).shape) - 1
                                     for a in op.attrs.axes):
            same_channels = False
        if op.kind == "PAD" and tuple(op.attrs.paddings[-1]) != (0, 0):
            same_channels = False
        if not same_channels:
            lay = block_all(f"{why} changes the channel axis")
    elif rule == CHANNELS_TIED:
        if any(len(x.groups) != len(ins[0].groups) or x.repeat != 1 or
               [ch.sizes[g] for g in x.groups] != [ch.sizes[g] for g in ins[0].groups] for x in ins):
            lay = block_all(f"{why}: inputs with different channel structure")
        else:
            for x in ins[1:]:
                for a, b in zip(ins[0].groups, x.groups):
                    ch.union(a, b)
            lay = Layout(list(ins[0].groups))
            for n in op.inputs:
                if n and graph.t(n).is_const and graph.t(n).size > 1 and graph.t(n).shape[-1] != out.shape[-1]:
                    lay = block_all(f"{why}: a constant operand broadcast along channels")
    elif rule == CHANNELS_CONCAT and op.attrs.axis in (-1, len(out.shape) - 1) and all(x.repeat == 1 for x in ins) \
            and all(n in acts for n in op.inputs if n):
        lay = Layout([g for x in ins for g in x.groups])
    elif rule == CHANNELS_RESHAPE:
        positions = int(np.prod(graph.t(acts[0]).shape[1:-1], dtype=np.int64)) if graph.t(acts[0]).shape else 1
        if out.shape and out.shape[-1] == graph.t(acts[0]).shape[-1] and ins[0].repeat == 1:
            lay = Layout(list(ins[0].groups))
        elif len(out.shape) == 2 and out.shape[-1] == total * positions:
            lay = Layout(list(ins[0].groups), ins[0].repeat * positions)
        else:
            lay = block_all(f"{why}: a reshape that is not a flatten")
    else:
        lay = block_all(why if rule == CHANNELS_BLOCK else f"{why}: channels not on the last axis")
    ch.layouts[op.outputs[0]] = lay


def apply(graph: Graph, ch: Channels, kept: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Remove every channel not in `kept` (root -> sorted kept indices) from `graph` in place; returns
    op index -> the dense output rows each weighted op keeps (for recovery)."""
    rows: dict[int, np.ndarray] = {}
    for index, op in enumerate(graph.ops):
        out_idx = ch.kept_indices(op.outputs[0], kept)
        if op.kind in layers.WEIGHTED:
            w = graph.t(op.inputs[1])
            if op.kind == "DEPTHWISE_CONV_2D":
                _slice(w, 3, out_idx)
            else:
                _slice(w, 0, out_idx)
                _slice(w, w.data.ndim - 1, ch.kept_indices(op.inputs[0], kept))
            if len(op.inputs) > 2 and op.inputs[2]:
                _slice(graph.t(op.inputs[2]), 0, out_idx)
            if len(out_idx) < graph.t(op.outputs[0]).shape[-1]:
                rows[index] = out_idx
        elif spec(op.kind).channels == CHANNELS_TIED:
            for n in op.inputs:
                t = graph.t(n)
                if n and t.is_const and t.size > 1:
                    _slice(t, t.data.ndim - 1, out_idx)
    for name, lay in ch.layouts.items():
        t = graph.t(name)
        n = len(ch.kept_indices(name, kept))
        t.shape = t.shape[:-1] + (n,)
    return rows


def _slice(t, axis: int, idx: np.ndarray) -> None:
    if t.shape[axis] == len(idx):
        return
    t.data = np.take(t.data, idx, axis=axis)
    t.shape = t.data.shape
    q = t.quant
    if q is not None and q.per_axis and q.axis % t.data.ndim == axis % t.data.ndim:
        t.quant = QuantParams(q.scale[idx], q.zero_point[idx], q.axis)


def scores(graph: Graph, ch: Channels, root: int, criterion: str, acts: dict | None, centred: bool) -> np.ndarray:
    """Importance of each channel of group `root`: filter norms of its producers ('l1', 'l2'), or the output
    energy its removal takes from every consumer ('data': activation variance x consumer weight energy)."""
    size = ch.sizes[root]
    total = np.zeros(size)
    if criterion in ("l1", "l2"):
        for index in ch.producers(root):
            op = graph.ops[index]
            m = layers.matrix(op, graph.t(op.inputs[1]).data.astype(np.float64))
            segs = _segments(ch, op.outputs[0], root)
            norms = np.abs(m).sum(1) if criterion == "l1" else np.sqrt((m**2).sum(1))
            norms = norms / (norms.mean() + 1e-30)
            for off in segs:
                total += norms[off:off + size]
        return total
    for op in graph.ops:
        if spec(op.kind).channels != CHANNELS_PRODUCER:
            continue
        name = op.inputs[0]
        x = acts[name].astype(np.float64)
        lay = ch.layouts[name]
        c_all = sum(ch.sizes[g] for g in lay.groups)
        feats = x.reshape(-1, lay.repeat, c_all) if lay.repeat > 1 else x.reshape(-1, 1, c_all)
        energy = feats.var(axis=0) if centred else (feats**2).mean(axis=0)  # [repeat, C]
        w = graph.t(op.inputs[1]).data.astype(np.float64)
        w2 = (w**2).reshape(w.shape[0], -1, c_all).sum(axis=0)  # [taps or repeat, C]
        contrib = (w2.reshape(-1, c_all) * (energy if lay.repeat > 1 else energy.mean(0, keepdims=True))).sum(0)
        for off in _segments(ch, name, root):
            total += contrib[off:off + size]
    return total


def _segments(ch: Channels, name: str, root: int) -> list[int]:
    offs, off = [], 0
    for g in ch.layouts[name].groups:
        if ch.root(g) == root:
            offs.append(off)
        off += ch.sizes[g]
    return offs


def kept_count(size: int, ratio: float, round_to: int) -> int:
    keep = size - int(np.floor(ratio * size + 1e-9))
    keep = int(np.ceil(keep / round_to) * round_to) if size >= round_to else keep
    return max(min(keep, size), min(round_to, size))


def macs_after(graph: Graph, ch: Channels, counts: dict[int, int]) -> int:
    """MACs of the conv/FC layers with `counts` channels kept per group root (the others whole)."""
    return _kept_cost(graph, ch, counts, lambda op: op_cost(graph, op).macs)


def weights_after(graph: Graph, ch: Channels, counts: dict[int, int]) -> int:
    """Weights of the conv/FC layers with `counts` channels kept per group root."""
    return _kept_cost(graph, ch, counts, lambda op: graph.t(op.inputs[1]).data.size)


def capacity_counts(graph: Graph, ch: Channels, roots: list[int], sparsity: float, round_to: int) -> dict[int, int]:
    """Kept channels per group that remove `sparsity` of the MACs while keeping the most weights: groups lose
    round_to channels at a time where that costs the fewest weights per MAC removed (wide, early layers, whose
    weights each serve many positions), and no group keeps fewer than 1 - sparsity of its channels (rounded down to
    a multiple of round_to). Not the default: on ResNet-8 at 0.3 post-training (reconstructed, int8, 2,000 CIFAR-10
    test images) it scored 66.0% against the sensitivity pass's 68.15%, and fine-tuned at 0.5 79.40% against 79.55%
    for the pass at 0.52 (bench/finetune.py)."""
    dense_macs = macs_after(graph, ch, {})
    counts = {r: ch.sizes[r] for r in roots}
    step = {r: round_to if ch.sizes[r] >= round_to else 1 for r in roots}
    # 1 - sparsity of the group, rounded down to the step: rounding up would stop small groups at the start
    floor = {r: max(step[r], int(np.floor((1 - sparsity) * ch.sizes[r] / step[r] + 1e-9)) * step[r]) for r in roots}
    while 1 - macs_after(graph, ch, counts) / dense_macs < sparsity - 1e-9:
        macs, weights = macs_after(graph, ch, counts), weights_after(graph, ch, counts)
        best = None
        for r in roots:
            if counts[r] - step[r] < floor[r]:
                continue
            trial = {**counts, r: counts[r] - step[r]}
            gain = macs - macs_after(graph, ch, trial)
            if gain > 0:
                cost = (weights - weights_after(graph, ch, trial)) / gain
                if best is None or cost < best[0]:
                    best = (cost, r)
        if best is None:
            break  # every group at its floor: the caller reports the shortfall
        counts[best[1]] -= step[best[1]]
    return counts


def _kept_cost(graph: Graph, ch: Channels, counts: dict[int, int], dense_cost) -> int:
    """Sum over conv/FC layers of dense_cost(op) scaled by the fractions of its output and input channels kept."""
    total = 0
    for op in graph.ops:
        if op.kind not in layers.WEIGHTED:
            continue
        cost = dense_cost(op)

        def frac(name: str) -> float:
            lay = ch.layouts[name]
            sizes = [ch.sizes[g] for g in lay.groups]
            return sum(counts.get(ch.root(g), ch.sizes[g]) for g in lay.groups) / sum(sizes)

        f = frac(op.outputs[0]) * (1.0 if op.kind == "DEPTHWISE_CONV_2D" else frac(op.inputs[0]))
        total += cost * f
    return int(round(total))


def prune_channels(dense: Graph, work: Graph, x: np.ndarray, sparsity: float, recover_with: str, allocation: str,
                   criterion: str, round_to: int | None, q: Graph | None, kept_whole: set[int] = frozenset()):
    """Choose and remove channels of `work` (a copy of `dense`); returns (plans for recovery, int8 graph
    reshaped alike or None). The ops in kept_whole keep their input and output channels."""
    from mcucompress.prune.api import PruneError

    round_to = round_to or ROUND_TO
    ch = analyse(work)
    roots = ch.prunable()
    if not roots:
        raise PruneError(f"--method channels: no channel of '{dense.name}' can be removed "
                         f"({next(iter(ch.why_blocked.values()), 'no conv or FC layer')})")
    for op in (work.ops[i] for i in kept_whole):
        for name in (op.inputs[0], op.outputs[0]):
            if name in ch.layouts:
                ch.block(ch.layouts[name], f"layer {op.name} kept whole (--keep-layers)")
    roots = ch.prunable()
    if not roots:
        raise PruneError(f"--keep-layers ties every channel group of '{dense.name}' to a layer kept whole: no channel "
                         "is left to remove; keep fewer layers")
    if criterion == "obs":
        acts = activations(work, x[:SELECT_SUBSET])
        consumers = {r: _obs_consumers(work, ch, r, acts, round_to) for r in roots}
        order = {r: consumers[r][0] for r in roots}
    else:
        acts = activations(work, x[:sensitivity.SUBSET])
        order = {r: np.argsort(scores(work, ch, r, criterion, acts, recover_with != "none"), kind="stable")
                 for r in roots}
    dense_macs = macs_after(work, ch, {})

    def counts_for(ratios) -> dict[int, int]:
        return {r: kept_count(ch.sizes[r], f, round_to) for r, f in zip(roots, ratios)}

    def removed(ratios) -> float:
        return 1 - macs_after(work, ch, counts_for(ratios)) / dense_macs

    if allocation == "capacity":
        counts = capacity_counts(work, ch, roots, sparsity, round_to)
        reached = 1 - macs_after(work, ch, counts) / dense_macs
        if reached < sparsity - 1e-9:
            raise PruneError(f"--method channels --sparsity {sparsity:g} --allocation capacity: keeping about "
                             f"{1 - sparsity:.2f} of every channel group removes at most {reached:.2f} of the MACs "
                             f"of '{dense.name}'; use --allocation sensitivity")
    else:
        if allocation == "uniform":
            lo, hi = 0.0, 1.0
            for _ in range(30):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if removed([mid] * len(roots)) < sparsity else (lo, mid)
            ratios = [hi] * len(roots)
        else:
            if criterion == "obs":
                curves = _obs_curves(work, ch, roots, consumers, acts, round_to)
            else:
                curves = _curves(work, ch, roots, order, acts, recover_with != "none", round_to)
            ratios = sensitivity.allocate(curves, removed, sparsity)
        if removed(ratios) < sparsity - 1e-9:
            raise PruneError(f"--method channels --sparsity {sparsity:g}: at most {removed([0.9] * len(roots)):.2f} "
                             f"of the MACs can be removed from '{dense.name}' (every layer keeps at least one channel)")
        counts = counts_for(ratios)
    kept = {r: np.sort(order[r][ch.sizes[r] - counts[r]:]) for r in roots}
    rows = apply(work, ch, kept)
    q_out = None
    if q is not None:
        q_out = copy.deepcopy(q)
        apply(q_out, analyse(q_out), kept)
    return {i: LayerPlan(rows=r) for i, r in rows.items()}, q_out


def _curves(graph: Graph, ch: Channels, roots: list[int], order: dict, acts: dict, fold: bool, round_to: int):
    """Sensitivity of each group: its consumers stop reading the removed channels (weights zeroed at those
    columns, their mean folded into the consumer's bias when recovery is on), the rest of the model reruns."""
    consumers = [(i, op) for i, op in enumerate(graph.ops) if spec(op.kind).channels == CHANNELS_PRODUCER]

    def zero(g: Graph, root: int, ratio: float, cached: dict):
        n_remove = ch.sizes[root] - kept_count(ch.sizes[root], ratio, round_to)
        gone = order[root][:n_remove]
        undo = []
        for _, op in consumers:
            offs = _segments(ch, op.inputs[0], root)
            if not offs:
                continue
            w = g.t(op.inputs[1])
            lay = ch.layouts[op.inputs[0]]
            c_all = sum(ch.sizes[k] for k in lay.groups)
            cols = np.concatenate([off + gone for off in offs])
            old_w = w.data
            m = w.data.reshape(w.shape[0], -1, c_all).copy()
            if fold:
                xin = cached[op.inputs[0]].astype(np.float64)
                mean = xin.reshape(-1, lay.repeat, c_all).mean(0) if lay.repeat > 1 else \
                    xin.reshape(-1, c_all).mean(0)[None, :]
                shift = (m[:, :, cols] * (mean[:, cols] if lay.repeat > 1 else mean[:, cols])).sum(axis=(1, 2))
                from mcucompress.prune.recovery import ensure_bias

                b = ensure_bias(g, op)
                old_b = b.data
                b.data = (b.data + shift).astype(np.float32)
                undo.append(lambda b=b, old=old_b: setattr(b, "data", old))
            m[:, :, cols] = 0
            w.data = m.reshape(w.shape).astype(np.float32)
            undo.append(lambda w=w, old=old_w: setattr(w, "data", old))
        return lambda: [u() for u in reversed(undo)]

    def first_consumer(root: int) -> int:
        return min(i for i, op in consumers if _segments(ch, op.inputs[0], root))

    return sensitivity.error_curves(graph, acts[graph.inputs[0]], roots, zero, first_consumer)


def _obs_consumers(graph: Graph, ch: Channels, root: int, acts: dict, round_to: int):
    """(removal order, consumer states) of group `root` by greedy least-squares selection (select.py)."""
    from mcucompress.prune import select

    states = []
    size = ch.sizes[root]
    for index, op in enumerate(graph.ops):
        if spec(op.kind).channels != CHANNELS_PRODUCER:
            continue
        offs = _segments(ch, op.inputs[0], root)
        if not offs:
            continue
        lay = ch.layouts[op.inputs[0]]
        c_all = sum(ch.sizes[g] for g in lay.groups)
        cols = select.channel_columns(graph, op, offs, size, c_all, lay.repeat)
        states.append(select.consumer_state(graph, op, index, acts[op.inputs[0]], cols))
    order, _ = select.greedy_order(states, size, keep_min=min(round_to, size))
    return order, states


def _obs_curves(graph: Graph, ch: Channels, roots: list[int], consumers: dict, acts: dict, round_to: int):
    """Sensitivity of each group after reconstruction: its consumers take the least-squares refitted weights
    of the greedy step that removes that many channels, the rest of the model reruns."""
    from mcucompress.prune.recovery import ensure_bias, set_weights_and_bias

    def refit(g: Graph, root: int, ratio: float, cached: dict):
        n_remove = ch.sizes[root] - kept_count(ch.sizes[root], ratio, round_to)
        undo = []
        for c in consumers[root][1]:
            op = g.ops[c.index]
            w, b = g.t(op.inputs[1]), ensure_bias(g, op)
            undo.append((w, w.data, b, b.data))
            set_weights_and_bias(g, op, c.steps[min(n_remove, len(c.steps) - 1)])
        return lambda: [(setattr(w, "data", wd), setattr(b, "data", bd)) for w, wd, b, bd in undo]

    def first_consumer(root: int) -> int:
        return min(c.index for c in consumers[root][1])

    x = acts[graph.inputs[0]][:sensitivity.SUBSET]
    return sensitivity.error_curves(graph, x, roots, refit, first_consumer)
