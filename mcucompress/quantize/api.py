"""Python API: `mcucompress.quantize(graph, data, method=...)` -> int8 Graph."""

from __future__ import annotations

import numpy as np

from mcucompress.dataset import fit_samples
from mcucompress.errors import DataError
from mcucompress.ir import Graph
from mcucompress.quantize.calibrate import calibrate
from mcucompress.quantize.quantizer import quantize_graph


def quantize(graph: Graph, data: np.ndarray, method: str = "minmax", per_channel: bool = True,
             progress: bool = False, bias_correction: bool = False) -> Graph:
    """Calibrate `graph` (float32) on `data` (N float samples) and return the int8 graph.

    bias_correction: also fold the mean per-channel output error of every conv/FC, measured on `data`,
    into its int32 bias (empirical bias correction)."""
    if graph.is_quantized:
        raise DataError(f"model '{graph.name}' is already quantized")
    x = np.asarray(data)
    if x.dtype.kind != "f":
        raise DataError(f"calibration data must be float (got {x.dtype}); give the raw float inputs")
    samples = fit_samples("calibration data", x, None, graph.t(graph.inputs[0]), graph.input_perm())
    ranges = calibrate(graph, samples.x, method, progress=progress)
    return quantize_graph(graph, ranges, per_channel=per_channel,
                          bias_correction_data=samples.x if bias_correction else None)
