"""The float model an int8 run is validated against, and that validation (the metrics: validation.py).

The twin is the float model itself when `run` quantizes it (--calibration), or the file given with
--float-model for an int8 model. It runs in float32 on the reference executor on the same samples:
float data as they are, int8 data dequantized with the int8 model's input scale and zero point. Our int8
outputs are dequantized with the int8 model's output scale and zero point before comparing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcucompress.dataset import prune_inputs
from mcucompress.errors import McuError
from mcucompress.ir import Graph
from mcucompress.reference import executor
from mcucompress.validation import compare, dequantize


def check_twin(twin: Graph, twin_path: str | Path, graph: Graph, model: str | Path) -> None:
    """One clear line when `twin` cannot be the float version of the int8 `graph`."""
    if twin.is_quantized or any(twin.t(n).dtype != "float32" for n in twin.inputs + twin.outputs):
        raise McuError(f"{twin_path}: not a float32 model; --float-model needs the float model {model} was "
                       "quantized from")
    for what, a, b in (("input", twin.inputs, graph.inputs), ("output", twin.outputs, graph.outputs)):
        if len(a) != len(b):
            raise McuError(f"{twin_path}: {len(a)} {what}s but {model} has {len(b)}; --float-model needs the float "
                           f"model {model} was quantized from")
        for na, nb in zip(a, b):
            sa, sb = tuple(twin.t(na).shape[1:]), tuple(graph.t(nb).shape[1:])
            if sa != sb:
                raise McuError(f"{twin_path}: {what} '{na}' has shape {list(twin.t(na).shape)} but {model}'s "
                               f"{what} '{nb}' has {list(graph.t(nb).shape)}; --float-model needs the float model "
                               f"{model} was quantized from")


def twin_inputs(data: str | Path | None, twin: Graph, graph: Graph, inputs: np.ndarray,
                normalize=None) -> np.ndarray:
    """The run's samples as the float twin's input: the float values the int8 run quantized (read again from
    `data`, in the IR layout and normalized), or int8 values dequantized with the int8 model's input
    quantization (int8 data, or random inputs without `data`); as many as the run's `inputs`."""
    q = graph.t(graph.inputs[0]).quant
    x = inputs if data is None else prune_inputs(data, graph, normalize)[:len(inputs)]
    if x.dtype.kind in "iu" and q is not None:
        x = dequantize(x, q.s, q.zp)
    return np.asarray(x, np.float32).reshape((len(inputs),) + tuple(twin.t(twin.inputs[0]).shape[1:]))


def float_outputs(twin: Graph, x: np.ndarray, batch: int = 64) -> np.ndarray:
    return np.concatenate([executor.run(twin, [x[i:i + batch]])[0] for i in range(0, len(x), batch)])


def validate(twin: Graph, twin_name: str, graph: Graph, x: np.ndarray, outputs: np.ndarray) -> dict:
    """The run report's `validation`: per output, our int8 `outputs` against the twin's on float inputs `x`."""
    ref = float_outputs(twin, x)
    name = graph.outputs[0]
    q = graph.t(name).quant
    if graph.t(name).dtype != "int8" or q is None:  # int32 indices (ARG_MAX) or bool: the values themselves
        ours = np.asarray(outputs).astype(np.float64).reshape(ref.shape)
        row = compare(ours, ref.astype(np.float64))
        flat, twin_flat = ours.reshape(len(ours), -1), ref.reshape(len(ref), -1)
        row["top1_agreement"] = float(np.mean(np.all(flat == twin_flat, axis=1)))  # samples equal to the twin's
        return {"float_model": twin_name, "engine": "float32 on the numpy reference executor", "samples": len(x),
                "outputs": [{"name": name, "scale": None, "zero_point": None, **row}]}
    ours = dequantize(outputs, q.s, q.zp).reshape(ref.shape)
    return {"float_model": twin_name, "engine": "float32 on the numpy reference executor", "samples": len(x),
            "outputs": [{"name": name, "scale": float(q.s), "zero_point": int(q.zp), **compare(ours, ref)}]}
