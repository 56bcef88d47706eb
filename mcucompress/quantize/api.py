"""Python API: `mcucompress.quantize(graph, data, method=...)` -> int8 Graph."""

from __future__ import annotations

import numpy as np

from mcucompress.dataset import fit_samples
from mcucompress.errors import DataError
from mcucompress.ir import Graph
from mcucompress.quantize.calibrate import calibrate
from mcucompress.quantize.quantizer import quantize_graph


def quantize(graph: Graph, data: np.ndarray, method: str = "minmax", per_channel: bool = True,
             progress: bool = False, bias_correction: bool = False, activations: str = "int8",
             int16_layers=None) -> Graph:
    """Calibrate `graph` (float32) on `data` (N float samples) and return the int8 graph.

    bias_correction: also fold the mean per-channel output error of every conv/FC, measured on `data`,
    into its int32 bias (empirical bias correction).
    activations "int16": 16x8 wherever an op has an int16 variant; int16_layers: op names (a list or
    "NAME,NAME"), or "auto" / "auto:K" for the layers whose int16 raises the output SQNR most."""
    if graph.is_quantized:
        raise DataError(f"model '{graph.name}' is already quantized")
    x = np.asarray(data)
    if x.dtype.kind != "f":
        raise DataError(f"calibration data must be float (got {x.dtype}); give the raw float inputs")
    samples = fit_samples("calibration data", x, None, graph.t(graph.inputs[0]), graph.input_perm())
    ranges = calibrate(graph, samples.x, method, progress=progress)
    return quantize_calibrated(graph, ranges, samples.x, per_channel, bias_correction, activations, int16_layers)


def quantize_calibrated(graph: Graph, ranges: dict, x: np.ndarray, per_channel: bool = True,
                        bias_correction: bool = False, activations: str = "int8", int16_layers=None) -> Graph:
    """quantize() once the ranges are known; `x` (float samples) serves bias correction and --int16-layers auto."""
    from mcucompress.quantize.int16 import resolve_layers

    bias_x = x if bias_correction else None
    if isinstance(int16_layers, str) and int16_layers.startswith("auto") and activations != "int16":
        q8 = quantize_graph(graph, ranges, per_channel=per_channel, bias_correction_data=bias_x)
        int16_layers, _ = resolve_layers(int16_layers, graph, ranges, x[:256], q8)
    elif isinstance(int16_layers, str):
        int16_layers, _ = resolve_layers(int16_layers, graph, ranges, x, None)
    return quantize_graph(graph, ranges, per_channel=per_channel, bias_correction_data=bias_x,
                          activations=activations, int16_layers=set(int16_layers) if int16_layers else None)
