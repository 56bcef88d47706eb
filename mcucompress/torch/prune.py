"""Pruning during training: masks with schedules (unstructured, N:M) and physical channel removal.

The masks come from the post-training pruner's functions (mcucompress.prune: `masks.magnitude_mask`,
`masks.global_ratios`, `nm.nm_mask` over `layers.matrix` views, so N:M groups run along input channels
exactly as the sparse C kernels read them). Channel pruning is the post-training pruner's graph-level
removal (`mcucompress.prune.prune(method='channels')`: channel groups propagated through residual ADDs,
depthwise layers and flattening, weights refitted), applied to the IR; the module is then rebuilt
smaller (`pruner.model`) and fine-tuned, so removed channels cannot come back. Channels take the oneshot
schedule, or iterative: `rounds` removals at equal steps of the MACs (s_f k / rounds of the original model's
MACs at round k), at equal intervals before end_step, each choosing and refitting channels of the model as
trained so far (Li et al. 2017's prune-retrain loop); each round is a new, smaller `pruner.model`.

Schedules (`step()` once per training step, after the optimizer's step):
- oneshot: the final sparsity at step 0, then fine-tuning with the mask fixed;
- gradual (Zhu & Gupta 2017): s_t = s_f (1 - (1 - (t - t0) / (t1 - t0))^3), masks recomputed every
  `frequency` steps between begin_step t0 and end_step t1 (default 3/4 of total_steps);
- iterative (lottery ticket with rewinding): `rounds` prunes at equal intervals to 1 - (1 - s_f)^(k/rounds);
  after each prune after the first, the surviving weights are rewound to their values at `rewind_step`.
Masked weights are zero in the forward pass, get zero gradients, and are zeroed again at every step, so
zeros stay zero through training and export.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mcucompress.analysis import total_cost
from mcucompress.errors import McuError
from mcucompress.prune import layers, masks, nm
from mcucompress.torch.bridge import GraphModule

METHODS = ("unstructured", "2:4", "1:4", "channels")
SCHEDULES = ("oneshot", "gradual", "iterative")
END_FRACTION = 0.75  # gradual: where the schedule reaches the final sparsity, as a fraction of total_steps
ALLOCATIONS = ("global", "uniform", "erk", "capacity")  # unstructured: one RMS-normalized threshold, equal ratios,
# or ERK; channels: uniform, capacity (the most weights kept for the MACs removed), or (global) per-group ratios from
# the post-training pruner's sensitivity pass


class TrainPruneError(McuError):
    """A pruning-during-training request that cannot be met."""


def polynomial_sparsity(step: int, final: float, begin: int, end: int, initial: float = 0.0) -> float:
    """Zhu & Gupta's cubic schedule: `initial` at `begin`, `final` from `end` on."""
    if step <= begin:
        return initial
    if step >= end:
        return final
    return final + (initial - final) * (1 - (step - begin) / (end - begin)) ** 3


class Pruner:
    """Prune `model` during training; train `pruner.model` (the same module, except after channel removal).

    model: a GraphModule, or any torch.nn.Module (unstructured: masks on its own Conv2d/Linear weights; N:M
    and channels convert it to a GraphModule through ONNX first, so train `pruner.model`). example_inputs:
    one batch in the model's layout (needed for those conversions; channels also take `calibration`
    samples for choosing and refitting channels)."""

    def __init__(self, model: nn.Module, example_inputs=None, method: str = "unstructured", sparsity: float = 0.5,
                 schedule: str = "oneshot", total_steps: int | None = None, begin_step: int = 0,
                 end_step: int | None = None, frequency: int = 50, rounds: int = 3, rewind_step: int = 0,
                 allocation: str = "global", calibration=None, keep=()):
        if method not in METHODS:
            raise TrainPruneError(f"unknown pruning method '{method}'; use one of {', '.join(METHODS)}")
        if schedule not in SCHEDULES:
            raise TrainPruneError(f"unknown schedule '{schedule}'; use one of {', '.join(SCHEDULES)}")
        if method in nm.PATTERNS:
            n, m = nm.PATTERNS[method]
            sparsity = 1 - n / m
            if schedule != "oneshot":
                raise TrainPruneError(f"--prune {method} fixes its pattern; use --schedule oneshot")
        if not (0.0 <= float(sparsity) < 1.0):
            raise TrainPruneError(f"--sparsity {sparsity:g} is outside [0, 1); give the fraction to remove, e.g. 0.8")
        if method == "channels" and schedule == "gradual":
            raise TrainPruneError("--prune channels removes channels in whole steps; use --schedule oneshot, or "
                                  "iterative with --rounds")
        if schedule in ("gradual", "iterative") and not total_steps:
            raise TrainPruneError(f"--schedule {schedule} needs total_steps (the training length in steps)")
        if allocation not in ALLOCATIONS:
            raise TrainPruneError(f"unknown allocation '{allocation}'; use one of {', '.join(ALLOCATIONS)}")
        if method == "channels" and allocation == "erk":
            raise TrainPruneError("--prune channels takes --allocation uniform (every channel group the same ratio), "
                                  "capacity (the most weights kept for the MACs removed) or the default (per-group "
                                  "ratios from a sensitivity pass)")
        if method != "channels" and allocation == "capacity":
            raise TrainPruneError(f"--allocation capacity chooses kept channels and applies to --prune channels; "
                                  f"--prune {method} takes global, uniform or erk")
        self.method, self.sparsity, self.schedule = method, float(sparsity), schedule
        self.total_steps = int(total_steps or 0)
        self.begin = int(begin_step)
        self.end = int(end_step) if end_step is not None else max(self.begin + 1, int(END_FRACTION * self.total_steps))
        self.frequency, self.rounds, self.rewind_step = max(1, int(frequency)), max(1, int(rounds)), int(rewind_step)
        self.allocation = allocation
        self.keep = tuple(keep)  # layers left whole (op or output tensor names; torch module names)
        self.t = 0
        self.current = 0.0  # sparsity the masks were last computed for
        self.notes: list[str] = []
        self.rewind: dict[str, torch.Tensor] | None = None
        self.masks: dict[str, torch.Tensor] = {}  # none for channels: removed channels are gone from the module
        if method == "channels":
            from mcucompress.torch.convert import as_graph_module

            self.model = as_graph_module(model, example_inputs)
            self._calibration = calibration if calibration is not None else example_inputs
            graph = self.model.to_graph()
            self._macs0 = total_cost(graph).macs
            self.targets = {}
            if schedule == "iterative":
                self._check_reachable(graph)
            self._remove_channels(self.target(0))
            return
        if method in nm.PATTERNS and not isinstance(model, GraphModule):
            # N:M groups must run along the IR's input channels (a torch flatten orders FC columns differently)
            from mcucompress.torch.convert import as_graph_module

            model = as_graph_module(model, example_inputs)
        self.model = model
        self.targets = self._targets(model)
        self._hooks = [p.register_hook(self._grad_hook(name)) for name, (p, _) in self.targets.items()]
        if schedule == "iterative" and self.rewind_step == 0:
            self.rewind = self._snapshot()
        if schedule != "gradual" or self.begin == 0:
            self._update(self.target(0) if schedule != "gradual" else 0.0)

    # -- which weights ----------------------------------------------------------------------------------
    def _targets(self, model: nn.Module) -> dict[str, tuple[nn.Parameter, object]]:
        """name -> (parameter, matrix view): to_matrix(w) [rows, columns] and back, as layers.matrix does."""
        out = {}
        unmatched = set(self.keep)
        if isinstance(model, GraphModule):
            for op in model.weight_ops():
                shape = model.graph.t(op.inputs[1]).shape
                named = unmatched & {op.name, op.outputs[0]}
                if named:
                    unmatched -= named
                    self.notes.append(f"left whole: {op.name} ({op.kind}): --keep-layers")
                    continue
                if self.method == "unstructured" and op.inputs[0] in model.graph.inputs and len(model.weight_ops()) > 1:
                    # The first layer sees raw inputs (ResNet-8: 0..255, no normalization): its weights cancel
                    # the input's large mean, and zeroing small ones shifts every activation after it (one-shot
                    # 50% took ResNet-8 to chance). It holds well under 1% of the weights; keep it dense.
                    self.notes.append(f"left dense: {op.name} ({op.kind}): the first layer (raw inputs)")
                    continue
                if self.method in nm.PATTERNS:
                    why = nm.why_not(op, shape, nm.PATTERNS[self.method][1])
                    if why:
                        self.notes.append(f"left dense: {op.name} ({op.kind}): {why}")
                        continue
                out[op.inputs[1]] = (model.param(op.inputs[1]), _IrView(op, shape))
        else:
            for name, mod in model.named_modules():
                if isinstance(mod, (nn.Conv2d, nn.Linear)) and name in unmatched:
                    unmatched.discard(name)
                    self.notes.append(f"left whole: {name}: --keep-layers")
                elif isinstance(mod, (nn.Conv2d, nn.Linear)):
                    view = _TorchView(mod)
                    if self.method in nm.PATTERNS and view.why_not(nm.PATTERNS[self.method][1]):
                        self.notes.append(f"left dense: {name}: {view.why_not(nm.PATTERNS[self.method][1])}")
                        continue
                    out[name + ".weight"] = (mod.weight, view)
        if unmatched:
            names = [op.name for op in model.weight_ops()] if isinstance(model, GraphModule) else [
                n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
            raise TrainPruneError(f"--keep-layers: no conv/FC layer '{sorted(unmatched)[0]}' in the model; its conv/FC "
                                  f"layers are: {', '.join(names)}")
        if not out:
            raise TrainPruneError(f"--prune {self.method}: no layer of the model can take it"
                                  + (f" ({self.notes[0]})" if self.notes else ""))
        return out

    def _grad_hook(self, name: str):
        def hook(grad):
            m = self.masks.get(name)
            return grad * m if m is not None else grad
        return hook

    # -- schedule ------------------------------------------------------------------------------------------
    def target(self, t: int) -> float:
        """The sparsity the schedule asks for at step t (channels: the fraction of the MACs removed)."""
        s = self.sparsity
        if self.schedule == "oneshot":
            return s
        if self.schedule == "gradual":
            return polynomial_sparsity(t, s, self.begin, self.end)
        if self.method == "channels":  # rounds at equal steps of MACs, all within [0, end_step)
            k = min(self.rounds, 1 + t * self.rounds // max(self.end, 1))
            return s * k / self.rounds
        k = min(self.rounds, 1 + t * self.rounds // max(self.total_steps, 1))
        return 1 - (1 - s) ** (k / self.rounds)

    def _due(self, t: int) -> bool:
        if self.schedule == "oneshot":
            return False
        if self.schedule == "gradual":
            return self.begin <= t <= self.end and (t - self.begin) % self.frequency == 0
        return abs(self.target(t) - self.current) > 1e-12

    def step(self) -> None:
        """Advance one training step: recompute masks when the schedule says so, and re-zero pruned weights."""
        self.t += 1
        if self.method == "channels":
            if self.schedule == "iterative" and self.target(self.t) > self.current + 1e-12:
                self._remove_channels(self.target(self.t))
            return
        if self.schedule == "iterative" and self.rewind is None and self.t >= self.rewind_step:
            self.rewind = self._snapshot()
        if self._due(self.t):
            target = self.target(self.t)
            self._update(target)
            if self.schedule == "iterative" and self.rewind is not None:
                self._rewind()
        self._apply()

    @property
    def done(self) -> bool:
        """True once the final sparsity is in place (the model's epochs from here on are candidates)."""
        return abs(self.current - self.sparsity) < 1e-9

    # -- masks ------------------------------------------------------------------------------------------------
    def _update(self, sparsity: float) -> None:
        names = list(self.targets)
        mats = [self.targets[n][1].matrix(self._ranked(n)) for n in names]
        if self.method in nm.PATTERNS:
            n_, m_ = nm.PATTERNS[self.method]
            keeps = [nm.nm_mask(m, n_, m_) for m in mats]
        else:
            if self.allocation == "global":
                ratios = masks.global_ratios(mats, sparsity)
            elif self.allocation == "erk":
                ratios = masks.erk_ratios([tuple(self.targets[n][0].shape) for n in names], sparsity)
            else:
                ratios = [sparsity] * len(mats)
            keeps = [masks.magnitude_mask(m, r) for m, r in zip(mats, ratios)]
        for name, keep in zip(names, keeps):
            p, view = self.targets[name]
            mask = torch.from_numpy(view.unmatrix(keep.astype(np.float32))).to(p.device, p.dtype)
            self.masks[name] = mask
            if isinstance(self.model, GraphModule):
                self.model.set_mask(name, mask)
        self.current = sparsity
        self._apply()

    def _ranked(self, name: str) -> np.ndarray:
        """The weight whose magnitudes choose the mask: as exported (BatchNorm folded) for a GraphModule."""
        w = self.model.folded_weight(name) if isinstance(self.model, GraphModule) else self.targets[name][0]
        return w.detach().cpu().numpy()

    def _apply(self) -> None:
        with torch.no_grad():
            for name, mask in self.masks.items():
                self.targets[name][0].mul_(mask)

    def _snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _rewind(self) -> None:
        """Lottery-ticket rewinding: every weight back to its value at rewind_step, the new masks kept."""
        self.model.load_state_dict(self.rewind, strict=False)
        self._apply()

    def sparsity_now(self) -> float:
        """Fraction of zero weights over the pruned layers."""
        total = sum(p.numel() for p, _ in self.targets.values())
        zeros = sum(int((p.detach() == 0).sum()) for p, _ in self.targets.values())
        return zeros / max(total, 1)

    # -- resume -----------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Masks and schedule position; after an iterative channel round, also the structure (the graph)."""
        graph = self.model.to_graph() if self.method == "channels" and self.schedule == "iterative" else None
        return {"t": self.t, "current": self.current, "masks": {k: v.cpu() for k, v in self.masks.items()},
                "rewind": self.rewind, "graph": graph}

    def load_state_dict(self, state: dict) -> None:
        """Restore a checkpoint; a channel run's `model` may be a new, smaller module (train that one)."""
        self.t, self.current, self.rewind = state["t"], state["current"], state["rewind"]
        if state.get("graph") is not None:
            self.model = GraphModule(state["graph"], self.model.input_layout)
        for name, mask in state["masks"].items():
            p = self.targets[name][0]
            self.masks[name] = mask.to(p.device, p.dtype)
            if isinstance(self.model, GraphModule):
                self.model.set_mask(name, self.masks[name])
        self._apply()

    # -- channels ---------------------------------------------------------------------------------------
    def _samples(self) -> np.ndarray:
        """The calibration samples as the graph's NHWC float32 array."""
        from mcucompress.torch.convert import to_nhwc

        data = self._calibration
        if data is None:
            raise TrainPruneError("--prune channels needs calibration samples to choose and refit channels")
        return to_nhwc(self.model, data[0] if isinstance(data, (tuple, list)) else data)

    def _check_reachable(self, graph) -> None:
        """Fail before training, not at a late round, when the final sparsity asks for more MACs than the model
        can lose (a quick uniform removal on the calibration samples, without recovery, raises the pruner's error)."""
        from mcucompress.prune.api import prune

        prune(graph, self._samples(), method="channels", sparsity=self.sparsity, recover_with="none",
              allocation="uniform", keep=self.keep)

    def _remove_channels(self, target: float) -> None:
        """Rebuild `self.model` with `target` of the original MACs removed (the current model's channels chosen
        and refitted on the calibration samples); a round the previous one already reached changes nothing."""
        from mcucompress.prune.api import prune

        graph = self.model.to_graph()
        fraction = 1 - (1 - target) * self._macs0 / max(total_cost(graph).macs, 1)  # of the current model's MACs
        self.current = target
        if fraction <= 0:
            return
        result = prune(graph, self._samples(), method="channels", sparsity=fraction,
                       allocation=self.allocation if self.allocation in ("uniform", "capacity") else "sensitivity",
                       keep=self.keep)
        self.notes.extend(result.notes)
        self.model = GraphModule(result.graph, self.model.input_layout)


class _IrView:
    """A GraphModule weight in the IR layout, seen as the post-training pruner's matrix."""

    def __init__(self, op, shape):
        self.op, self.shape = op, shape

    def matrix(self, w: np.ndarray) -> np.ndarray:
        return layers.matrix(self.op, w)

    def unmatrix(self, m: np.ndarray) -> np.ndarray:
        return layers.unmatrix(self.op, m, self.shape)


class _TorchView:
    """A torch Conv2d/Linear weight as the same matrix: rows = output channels, columns (kh, kw, c_in) with the
    input channel fastest, so N:M groups are runs of input channels, as in the IR and the C kernels."""

    def __init__(self, mod: nn.Module):
        self.shape = tuple(mod.weight.shape)
        self.conv = isinstance(mod, nn.Conv2d)
        self.depthwise = self.conv and mod.groups > 1 and self.shape[1] == 1

    def why_not(self, m: int) -> str | None:
        if self.depthwise:
            return "a depthwise convolution has one input channel per output (no input-channel groups)"
        c = self.shape[1]
        return f"its {c} input channels are not a multiple of {m}" if c % m else None

    def matrix(self, w: np.ndarray) -> np.ndarray:
        return w.transpose(0, 2, 3, 1).reshape(self.shape[0], -1) if self.conv else w

    def unmatrix(self, m: np.ndarray) -> np.ndarray:
        if not self.conv:
            return np.ascontiguousarray(m)
        o, c, kh, kw = self.shape
        return np.ascontiguousarray(m.reshape(o, kh, kw, c).transpose(0, 3, 1, 2))
