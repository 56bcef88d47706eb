"""Label-free distillation recovery (`--recover distill`, needs torch): after layer-wise reconstruction, the
pruned float model is trained to reproduce the dense model on the calibration samples only.

The dense and pruned graphs become PyTorch modules through mcucompress.torch.bridge. Zeroed weights stay
zero (each weighted op's zeros are its fixed mask); removed channels are already gone from the graph. The
loss is the mean squared error of the logits plus that of every activation both models still share in
shape (the residual stream when channels were not removed there), each relative to the dense activation's
mean square; inputs are flipped and shifted at random, each on its own (the dense model is rerun on the
same batch, so no labels are used). Adam with a cosine learning rate relative to each tensor's scale; the
weights are written back into the pruned graph.
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph
from mcucompress.prune import layers

STEPS = 300
BATCH = 64
LR = 3e-3  # relative: each tensor's Adam step size is LR x its RMS (a first conv on raw 0..255 pixels has
# weights ~100x smaller than the others, and Adam moves every weight by about its step size)
SEED = 0


def available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def distill(dense: Graph, pruned: Graph, x: np.ndarray, steps: int = STEPS, batch: int = BATCH, lr: float = LR,
            augment: bool = True) -> None:
    """Train `pruned`'s weights and biases in place toward `dense`'s outputs on samples x (float inputs)."""
    import torch

    from mcucompress.prune.recovery import ensure_bias
    from mcucompress.torch.augment import flip_shift
    from mcucompress.torch.bridge import GraphModule

    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    for op in layers.weighted_ops(pruned):
        ensure_bias(pruned, op)
    teacher, student = GraphModule(dense), GraphModule(pruned)
    teacher.eval()
    for op in layers.weighted_ops(pruned):
        w = pruned.t(op.inputs[1]).data
        if np.any(w == 0):
            student.set_mask(op.inputs[1], w != 0)
    shared = [n for n, t in pruned.tensors.items()
              if not t.is_const and n in dense.tensors and dense.t(n).shape == t.shape
              and n not in pruned.inputs and pruned.producer(n) is not None
              and pruned.producer(n).kind in ("ADD", "CONV_2D", "DEPTHWISE_CONV_2D")]
    xs = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    image = xs.dim() == 4 and augment
    groups = []
    for op in layers.weighted_ops(pruned):
        w, b = student.param(op.inputs[1]), student.param(op.inputs[2])
        rms_w = float(w.detach().pow(2).mean().sqrt()) + 1e-12
        rms_b = max(float(b.detach().pow(2).mean().sqrt()), rms_w)
        groups += [{"params": [w], "lr": lr * rms_w}, {"params": [b], "lr": lr * rms_b}]
    opt = torch.optim.Adam(groups)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        idx = torch.randint(0, len(xs), (min(batch, len(xs)),), generator=gen)
        xb = flip_shift(xs[idx], gen) if image else xs[idx]
        teacher.capture, student.capture = {}, {}
        with torch.no_grad():
            t_out = teacher(xb, logits=True)
        s_out = student(xb, logits=True)
        loss = ((s_out - t_out) ** 2).mean() / ((t_out**2).mean() + 1e-12)
        for n in shared:
            if n in student.capture and n in teacher.capture:
                t = teacher.capture[n]
                loss = loss + ((student.capture[n] - t) ** 2).mean() / ((t**2).mean() + 1e-12) / max(len(shared), 1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    teacher.capture = student.capture = None
    trained = student.to_graph()
    for op in layers.weighted_ops(pruned):
        for name in op.inputs[1:3]:
            if name:
                pruned.t(name).data = trained.t(name).data.astype(np.float32)
