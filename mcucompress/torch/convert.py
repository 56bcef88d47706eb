"""PyTorch models in and .tflite files out: `from_torch`, `as_graph_module` and `export`.

A plain torch.nn.Module enters through ONNX (torch's TorchScript exporter, then our ONNX importer, which
folds BatchNorm, fuses activations and moves to NHWC), so a PyTorch model and an imported file take one
path. `export` writes the module's graph: int8 when it carries QAT fake quantization (exactly the model it
simulated), int8 by post-training quantization when `calibration` is given, float32 otherwise. The file is
written to a temporary name and renamed.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from mcucompress.errors import DataError, McuError
from mcucompress.ir import Graph
from mcucompress.torch.bridge import GraphModule


def _first(example_inputs):
    return example_inputs[0] if isinstance(example_inputs, (tuple, list)) else example_inputs


def from_torch(model: torch.nn.Module, example_inputs, opset: int = 13) -> GraphModule:
    """A GraphModule with the numbers of `model` (eval mode: BatchNorm folded with its running statistics);
    it takes inputs in the same layout as `model` (NCHW for 4D inputs)."""
    from mcucompress.driver import load

    x = torch.as_tensor(_first(example_inputs)).float()
    was_training = model.training
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notes are not the user's business
            try:
                torch.onnx.export(model, (x[:1],), str(path), opset_version=opset, dynamo=False,
                                  input_names=["input"], output_names=["output"])
            except Exception as exc:  # noqa: BLE001 -- torch raises many kinds here; the user needs its message
                raise McuError(f"PyTorch model {type(model).__name__} could not be exported to ONNX: "
                               f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
            finally:
                model.train(was_training)
        graph = load(path)
    return GraphModule(graph, input_layout="NCHW" if x.dim() == 4 else "NHWC")


def as_graph_module(model, example_inputs=None) -> GraphModule:
    if isinstance(model, GraphModule):
        return model
    if isinstance(model, Graph):
        return GraphModule(model)
    if isinstance(model, torch.nn.Module):
        if example_inputs is None:
            raise McuError("a PyTorch model needs example_inputs (one batch in its input layout)")
        return from_torch(model, example_inputs)
    raise McuError(f"cannot take a {type(model).__name__}; give a torch.nn.Module, a GraphModule or a float Graph")


def to_nhwc(module: GraphModule, x) -> np.ndarray:
    """Samples in the module's input layout -> the graph's NHWC float32 array."""
    a = np.asarray(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x, dtype=np.float32)
    if module.input_layout == "NCHW" and a.ndim == 4:
        a = a.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(a)


def export_graph(model, example_inputs=None, calibration=None) -> Graph:
    """The IR graph `export` writes (see there)."""
    module = as_graph_module(model, example_inputs)
    if module.fake_quant is not None:
        return module.fake_quant.export_graph()
    graph = module.to_graph()
    if calibration is None:
        return graph
    from mcucompress.quantize.api import quantize

    x = to_nhwc(module, calibration)
    if len(x) == 0:
        raise DataError("calibration data has no samples")
    return quantize(graph, x)


def export(model, path, example_inputs=None, calibration=None) -> Graph:
    """Write `model` to a .tflite at `path` and return the written graph.

    model: a GraphModule (from `prepare_qat`, a `Pruner`, or `from_torch`) or a torch.nn.Module. After QAT
    the file is int8 (the model the fake quantization simulated); otherwise float32, or int8 by
    post-training quantization when `calibration` (float samples in the model's input layout) is given.
    The .tflite takes NHWC inputs whatever the PyTorch layout was; `mcucompress compile` and `run` take it."""
    from mcucompress.frontend import tflite_writer

    graph = export_graph(model, example_inputs, calibration)
    tflite_writer.write(graph, path)  # through a temporary file, renamed
    return graph
