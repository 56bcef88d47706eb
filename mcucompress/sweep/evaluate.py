"""Run one sweep configuration: prune (if asked), quantize, compile and run on its board; return its metrics.

This is what a worker process or a Ray task executes. It builds in its own temporary folder under `work_root`
(or the system's), and QEMU picks a free TCP port per run, so parallel workers never share files or ports.
A user error (McuError: a layer pruning would empty, a model too big for the board) becomes the row's `error`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from mcucompress import __version__
from mcucompress.errors import McuError
from mcucompress.sweep.grid import Config

# Metrics of a result, besides `error`; None where the board does not measure one (blank in results.csv).
METRICS = ("samples", "top1", "instructions", "flash_bytes", "ram_bytes", "weights_bytes", "arena_bytes",
           "bit_exact", "mismatches")


def evaluate(config: Config, model: str | Path, calibration: str | Path, data: str | Path,
             work_root: str | Path | None = None) -> dict:
    """The metrics of `config` (keys of METRICS, `error`, and the `version` that computed them)."""
    result = dict.fromkeys(METRICS)
    try:
        with tempfile.TemporaryDirectory(prefix="config-", dir=work_root) as workdir:
            result.update(_measure(config, Path(model), Path(calibration), Path(data), Path(workdir)))
        result["error"] = None
    except McuError as exc:
        result["error"] = " ".join(str(exc).split())  # one line in the CSV
    result["version"] = __version__
    return result


def _measure(config: Config, model: Path, calibration: Path, data: Path, workdir: Path) -> dict:
    from mcucompress import driver
    from mcucompress.dataset import check_labels, input_samples, prune_inputs

    graph = driver.load(model)
    request = config.prune_request()
    if request is not None:
        from mcucompress.prune.api import prune

        x = prune_inputs(calibration, graph)  # in the model file's declared layout, as `prune` reads it
        graph = prune(graph, x, request[0], request[1], data_name=str(calibration)).graph  # prune's defaults
    graph = driver.prepare_graph(graph, model, calibration, method=config.calibration_method,
                                 per_tensor=config.per_tensor, activations=config.activations)
    samples = input_samples(data, graph)
    check_labels(data, samples.y, driver.output_classes(graph))
    metrics = {"samples": len(samples.x)}
    if config.board == "reference":
        from mcucompress.codegen.project import compile_graph

        compiled = compile_graph(graph, driver.default_prefix(graph))  # only for its weight and arena bytes
        outputs = driver.reference_outputs(graph, samples.x)
        metrics.update(weights_bytes=compiled.weights_bytes, arena_bytes=compiled.plan.arena_bytes)
    elif config.board == "host":  # built in this worker's own folder
        report, outputs = driver.run_graph_on_board(graph, samples.x, "host", workdir=workdir)
        memory = report["memory"]
        metrics.update(weights_bytes=memory["weights_bytes"], arena_bytes=memory["arena_bytes"],
                       bit_exact=report["bit_exact"], mismatches=report["mismatches"])
    else:
        report, outputs = driver.run_graph_on_board(graph, samples.x, config.board, workdir=workdir)
        memory = report["memory"]
        metrics.update(instructions=report["latency"]["median"], flash_bytes=memory["flash_bytes"],
                       ram_bytes=memory["ram_bytes"], weights_bytes=memory["weights_bytes"],
                       arena_bytes=memory["arena_bytes"], bit_exact=report["bit_exact"],
                       mismatches=report["mismatches"])
    metrics["top1"] = driver.top1(outputs, samples.y)
    return metrics
