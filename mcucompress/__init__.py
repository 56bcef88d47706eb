"""mcucompress: compile trained neural networks into bit-exact int8 C for Cortex-M microcontrollers.

Python API: ``graph = mcucompress.load("model.onnx")``, ``q = mcucompress.quantize(graph, x, method="kl")``,
then ``mcucompress.driver`` for compiling and running (the CLI's functions). With PyTorch installed,
``mcucompress.torch`` has ``prepare_qat``, ``Pruner`` and ``export`` for training-time compression.
"""

__version__ = "0.1.0"


def load(path):
    """Import a .tflite or .onnx model into a verified IR Graph."""
    from mcucompress.driver import load as _load

    return _load(path)


def __getattr__(name: str):
    if name in ("quantize", "prune", "torch"):  # subpackages imported on first use (torch: the optional extra)
        import importlib

        return importlib.import_module(f"mcucompress.{name}")
    raise AttributeError(f"module 'mcucompress' has no attribute {name!r}")
