"""Run the float graph over calibration samples and observe the range of every activation tensor."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from mcucompress.errors import DataError
from mcucompress.ir import Graph
from mcucompress.ir.constraints_recurrent import refuse_quantizing
from mcucompress.quantize import recurrent
from mcucompress.quantize.observers import make_observer
from mcucompress.reference import executor


def calibrate(graph: Graph, x: np.ndarray, method: str = "minmax", batch: int = 32, progress: bool = False) -> dict:
    """tensor name -> (lo, hi) float range, for every float activation (inputs included)."""
    refuse_quantizing(graph)  # recurrent ops: not calibrated (their state spans samples)
    if len(x) == 0:
        raise DataError("calibration data has no samples; give at least one in 'x'")
    if not np.all(np.isfinite(x)):
        raise DataError("calibration data contains NaN or infinite values")
    names = [n for n, t in graph.tensors.items() if not t.is_const and t.dtype == "float32"]
    observers = {n: make_observer(method) for n in names}
    starts = range(0, len(x), batch)
    cell_max: dict[str, float] = {}  # LSTM cell states: peak over every time step (quantize/recurrent.py)
    for start in tqdm(starts, desc="calibrating", unit="batch", disable=not progress):
        values = executor.run(graph, [x[start : start + batch]], keep_all=True)
        for n in names:
            observers[n].update(values[n])
        recurrent.track(graph, values, cell_max)
    found = {n: observers[n].range() for n in names}
    recurrent.ranges(graph, found, cell_max)
    return found
