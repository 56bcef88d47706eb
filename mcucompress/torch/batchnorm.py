"""BatchNorm put back for training and folded away again on export (`finetune --batchnorm`).

Imported models arrive with BatchNorm folded into their convolutions, and training such a network is
training a ResNet without normalization: when pruning shrinks a layer's output, every later layer sees its
input scale drift. `insert_batchnorm(module, samples)` adds a BatchNorm after every CONV_2D and
DEPTHWISE_CONV_2D that has a bias (before its fused activation), set to the identity on the module as it is:
running statistics measured on `samples`, gamma = the running standard deviation, beta = the running mean.
In eval mode the module computes what it computed before; in train mode each layer's output is normalized
by its batch statistics, as in the network's original training.

`module.to_graph()` folds each BatchNorm back with its running statistics (Jacob et al. 2018, eq. 2):
w' = w * s per output channel, b' = (b - mean) * s + beta with s = gamma / sqrt(var + eps). Masked weights
stay exact zeros and removed channels stay removed, so the exported graph has the structure and sparsity the
training produced and no BatchNorm op.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mcucompress.errors import McuError
from mcucompress.ir import Op

NORMALIZED = ("CONV_2D", "DEPTHWISE_CONV_2D")


def normalizable_ops(module) -> list[Op]:
    """The convolutions that take a BatchNorm: those with a trainable bias to fold the shift into."""
    return [op for op in module.graph.ops if op.kind in NORMALIZED and len(op.inputs) > 2 and op.inputs[2]
            and op.inputs[2] in module.key and module.key[op.inputs[2]] in module.params]


def insert_batchnorm(module, samples: np.ndarray, batch: int = 256, momentum: float = 0.1) -> int:
    """Add an identity-initialized BatchNorm2d to every normalizable convolution of GraphModule `module`,
    with statistics from `samples` (inputs in the module's layout); returns how many were added."""
    if module.fake_quant is not None:
        raise McuError("BatchNorm cannot be inserted into a fake-quantized module: the fake quantization "
                       "needs the folded weights (train with BatchNorm first, then QAT)")
    if module.norms:
        raise McuError("this module already has its BatchNorm layers")
    ops = normalizable_ops(module)
    if not ops or len(samples) == 0:
        return 0
    sums: dict[str, list] = {}
    module.preact = {}
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(samples), batch):
                module.preact.clear()
                module(torch.as_tensor(samples[i:i + batch]))
                for name, y in module.preact.items():  # y: NCHW before the activation
                    y = y.double()
                    acc = sums.setdefault(name, [0, 0.0, 0.0])
                    acc[0] += y.numel() // y.shape[1]
                    acc[1] = acc[1] + y.sum(dim=(0, 2, 3))
                    acc[2] = acc[2] + (y * y).sum(dim=(0, 2, 3))
    finally:
        module.preact = None
        module.train(was_training)
    for op in ops:
        n, s1, s2 = sums[op.outputs[0]]
        mean = s1 / n
        var = torch.clamp(s2 / n - mean * mean, min=0.0)
        bn = nn.BatchNorm2d(len(mean), momentum=momentum)
        with torch.no_grad():
            bn.running_mean.copy_(mean.float())
            bn.running_var.copy_(var.float())
            bn.weight.copy_(torch.sqrt(var + bn.eps).float())
            bn.bias.copy_(mean.float())
        module.norms[module.norm_key(op)] = bn
    return len(ops)


def fold_scale(bn: nn.BatchNorm2d, op: Op) -> torch.Tensor:
    """gamma / sqrt(var + eps) of BatchNorm `bn`, shaped to scale `op`'s weight per output channel in the IR
    layout (OHWI for CONV_2D, 1HWC for DEPTHWISE_CONV_2D)."""
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return s.reshape((-1, 1, 1, 1) if op.kind == "CONV_2D" else (1, 1, 1, -1))


def folded(bn: nn.BatchNorm2d, op: Op, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of `op` with BatchNorm `bn` (its running statistics) folded in."""
    s = fold_scale(bn, op)
    return w * s, (b - bn.running_mean) * s.reshape(-1) + bn.bias
