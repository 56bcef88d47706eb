"""Training-time compression with PyTorch (optional extra: ``pip install mcucompress[torch]``).

bridge: a float IR graph as a trainable ``nn.Module`` and back. qat: fake quantization that simulates our
int8 kernels (``prepare_qat``). prune: masks and schedules during training (``Pruner``). convert: a trained
module to .tflite (``export``). train: the fine-tuning loop behind ``mcucompress finetune``.
Only this subpackage imports torch.
"""

from __future__ import annotations

_LAZY = {
    "GraphModule": "bridge", "from_graph": "bridge", "to_graph": "bridge",
    "prepare_qat": "qat", "Pruner": "prune", "export": "convert", "from_torch": "convert",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"mcucompress.torch.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'mcucompress.torch' has no attribute {name!r}")
