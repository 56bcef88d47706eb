"""The pipeline as short linear functions that the CLI and the Python API call."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mcucompress.dataset import Samples, load_samples
from mcucompress.errors import McuError
from mcucompress.frontend import load_model
from mcucompress.ir import Graph
from mcucompress.ir.verify import verify
from mcucompress.reference import executor


def load(path: str | Path) -> Graph:
    graph = load_model(path)
    verify(graph)
    return graph


def reference_outputs(graph: Graph, samples: Samples) -> np.ndarray:
    """Run the reference executor sample by sample (batching would change nothing but memory)."""
    outs = [executor.run(graph, [x[None]])[0][0] for x in samples.x]
    return np.stack(outs)


def top1(outputs: np.ndarray, labels: np.ndarray | None) -> float | None:
    if labels is None:
        return None
    pred = outputs.reshape(len(outputs), -1).argmax(axis=1)
    return float(np.mean(pred == labels))


def run(model: str | Path, board: str, data: str | Path) -> tuple[dict, np.ndarray]:
    """Run `model` on every sample of `data` on `board`; returns (report, raw outputs)."""
    graph = load(model)
    samples = load_samples(data, graph.t(graph.inputs[0]))
    start = time.perf_counter()
    if board == "reference":
        outputs = reference_outputs(graph, samples)
        report = {"board": "reference", "engine": "numpy reference executor"}
    else:
        raise McuError(f"unknown board '{board}'; known boards: reference (run 'mcucompress boards' for more)")
    report.update(
        samples=int(len(samples.x)),
        wall_seconds=round(time.perf_counter() - start, 3),
        accuracy={"top1": top1(outputs, samples.y)},
        output_dtype=str(outputs.dtype),
    )
    return report, outputs
