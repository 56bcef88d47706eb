"""The pipeline as short linear functions that the CLI and the Python API call."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from mcucompress import float_twin
from mcucompress.codegen.project import CompiledModel, compile_graph, write_project
from mcucompress.dataset import check_labels, input_samples, random_samples
from mcucompress.errors import SUPPORTED_OPS_HINT, GraphError, McuError, UnsupportedOpError
from mcucompress.frontend import load_model
from mcucompress.harness.state_policy import check_state
from mcucompress.ir import Graph
from mcucompress.ir.consistency import check_runtime_inputs
from mcucompress.ir.constraints import check_graph
from mcucompress.ir.verify import verify
from mcucompress.names import c_identifier
from mcucompress.normalize import parse as parse_normalize
from mcucompress.passes.float_io import int8_core
from mcucompress.reference import executor
from mcucompress.report.toolchain import tools_used

RANDOM_SAMPLES = 10  # run without --data


def load(path: str | Path, allow_unsupported: bool = False, dequantize_hybrid: bool = False) -> Graph:
    """Import and verify a model. allow_unsupported (analysis only): ops of unsupported kinds or breaking
    TFLM's int8 constraints stay in the graph (mcucompress.ir.constraints.problem says what is wrong)."""
    graph = load_model(path, keep_unsupported=True, dequantize_hybrid=dequantize_hybrid)
    try:
        verify(graph, allow_unsupported=True)
        check_runtime_inputs(graph)
        if not allow_unsupported:
            check_graph(graph)  # every unsupported op at once, not just the first
    except (GraphError, UnsupportedOpError) as exc:
        hint = f"; {SUPPORTED_OPS_HINT}" if isinstance(exc, UnsupportedOpError) else ""
        raise type(exc)(f"{path}: {exc}{hint}") from None  # say which file the rejected graph came from
    return graph


def prepare(model: str | Path, calibration: str | Path | None = None, method: str = "minmax",
            per_tensor: bool = False, progress: bool = False, bias_correction: bool = False,
            normalize: str | None = None, activations: str = "int8", int16_layers: str | None = None) -> Graph:
    """Load a model; a float model is quantized with `calibration` data (never with invented ranges), read
    in the model file's declared layout and mapped by `normalize` (normalize.py) like every data file.

    An int8 model with float32 I/O gives its int8 core (passes.float_io), whatever `calibration` says."""
    normalize = parse_normalize(normalize)  # a bad --normalize fails before any work
    # A hybrid model (int8 weights, float activations) is quantized fully when there is calibration data.
    return prepare_graph(load(model, dequantize_hybrid=calibration is not None), model, calibration, method, per_tensor,
                         progress, bias_correction, normalize, activations, int16_layers)


def prepare_graph(graph: Graph, source: str | Path, calibration: str | Path | np.ndarray | None = None,
                  method: str = "minmax", per_tensor: bool = False, progress: bool = False,
                  bias_correction: bool = False, normalize=None, activations: str = "int8",
                  int16_layers: str | None = None) -> Graph:
    """prepare() for a graph already loaded (and perhaps pruned) from `source` (named in errors); `calibration`
    is a data file, or the float samples themselves (the Python API, the pytest plugin)."""
    from mcucompress.quantize.api import quantize, quantize_calibrated
    from mcucompress.quantize.calibrate import calibrate

    if graph.is_quantized:
        return graph
    core = int8_core(graph)
    if core is not None:
        return core  # an int8 model with float32 I/O (QUANTIZE/DEQUANTIZE edges): already quantized
    if calibration is None:
        raise McuError(f"{source}: float32 model; give --calibration DATA.npz (representative inputs 'x') to quantize it")
    if isinstance(calibration, np.ndarray):
        return quantize(graph, calibration, method, per_channel=not per_tensor, progress=progress,
                        bias_correction=bias_correction, activations=activations, int16_layers=int16_layers)
    samples = input_samples(calibration, graph, parse_normalize(normalize))
    ranges = calibrate(graph, samples.x, method, progress=progress)
    return quantize_calibrated(graph, ranges, samples.x, not per_tensor, bias_correction, activations, int16_layers)


def default_prefix(graph: Graph) -> str:
    return c_identifier(graph.name)


def compile_model(model: str | Path, outdir: str | Path, prefix: str | None = None, force: bool = False,
                  board: str | None = None, checks: bool = False, arena: str = "static",
                  arena_section: str | None = None, io: str = "arena", packed_ram: int = 0,
                  **quant_options) -> CompiledModel:
    """Import, plan and generate the C project in `outdir` (atomically); `arena`, `arena_section`, `io`,
    `packed_ram`: see codegen/arena.py and codegen/project.compile_graph (checked before any work)."""
    if prefix is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,30}", prefix):
        raise McuError(f"--name '{prefix}' is not a C identifier; use letters, digits and underscores")
    from mcucompress.boards import check_fits, load_board
    from mcucompress.codegen.arena import check_options

    check_options(arena, arena_section, io)
    target = load_board(board) if board else None
    graph = prepare(model, **quant_options)
    # The kernel variants (sparse formats) are chosen for the board's core; without one, for a DSP core.
    compiled = compile_graph(graph, prefix or default_prefix(graph), dsp=target.dsp if target else True, checks=checks,
                             arena=arena, arena_section=arena_section, io=io, mve=bool(target and target.mve),
                             packed_ram=packed_ram)
    if target:
        check_fits(target, compiled)
    write_project(compiled, outdir, force=force)
    return compiled


def reference_outputs(graph: Graph, x: np.ndarray, state: str = "carry") -> np.ndarray:
    """Run the reference executor sample by sample on `x` [N, ...] (batching would change nothing but memory).
    `state`, the per-sample state policy (harness/state_policy.py): "carry", a recurrent model's state carries
    from one sample to the next, as on the target (one invoke per sample); "reset", every sample starts from
    the reset state."""
    reset = check_state(state) == "reset"
    carried = executor.initial_state(graph)
    outs = [executor.run(graph, [xi[None]], state=executor.initial_state(graph) if reset else carried)[0][0]
            for xi in x]
    return np.stack(outs)


def run_graph_on_board(graph: Graph, x: np.ndarray, board: str, workdir: str | Path | None = None,
                       details: dict | None = None, state: str = "carry", **target_options) -> tuple[dict, np.ndarray]:
    """Compile an int8 `graph`, run the samples `x` on `board` ('host': the host gcc; else QEMU or a board
    behind a port) and check them against the reference executor; returns (board part of the run report, raw
    outputs). `details` receives the CompiledModel (for the HTML report's memory plan). `state`: the per-sample
    state policy of a recurrent model, "carry" (TFLM's: state persists across samples) or "reset" (before each)."""
    check_state(state)
    from mcucompress.boards import load_board
    from mcucompress.harness.target import run_on_board, target_report

    target = None if board == "host" else load_board(board)
    compiled = compile_graph(graph, default_prefix(graph), dsp=target.dsp if target else True,
                             mve=bool(target and target.mve))
    if details is not None:
        details["compiled"] = compiled
    if board == "host":
        from mcucompress.harness.host import run_on_host

        outputs = run_on_host(compiled, x, graph.t(graph.outputs[0]).shape, workdir=workdir, state=state)
        mismatches = count_mismatches(outputs, reference_outputs(graph, x, state))
        return {"board": "host", "engine": "generated C compiled with the host gcc", "bit_exact": mismatches == 0,
                "mismatches": mismatches,
                "memory": {"weights_bytes": compiled.weights_bytes, "arena_bytes": compiled.plan.arena_bytes,
                           "scratch_bytes": compiled.plan.scratch_bytes}}, outputs
    target = run_on_board(compiled, x, graph.t(graph.outputs[0]).shape, board, workdir=workdir, state=state,
                          **target_options)
    mismatches = count_mismatches(target.outputs, reference_outputs(graph, x, state))
    engine = "firmware on " + ("QEMU" if target.unit == "instructions" else "the board")
    report = {"board": target.board, "engine": engine, "bit_exact": mismatches == 0, "mismatches": mismatches,
              **target_report(target, compiled)}
    return report, target.outputs


def top1(outputs: np.ndarray, labels: np.ndarray | None) -> float | None:
    """Top-1 accuracy: the argmax of each sample's scores, or, for a model ending in ARG_MAX (one int32/int64
    value per sample), that class index itself."""
    if labels is None:
        return None
    flat = outputs.reshape(len(outputs), -1)
    indices = flat.dtype.kind in "iu" and flat.dtype.itemsize >= 4 and flat.shape[1] == 1
    pred = flat[:, 0] if indices else flat.argmax(axis=1)
    return float(np.mean(pred == labels))


def output_classes(graph: Graph) -> int:
    """How many classes the labels may index: the last output axis, or the axis an ARG_MAX/ARG_MIN reduced."""
    name = graph.outputs[0]
    op = graph.producer(name)
    if op is not None and op.kind in ("ARG_MAX", "ARG_MIN"):
        return graph.t(op.inputs[0]).shape[op.attrs.axis]
    shape = graph.t(name).shape
    return shape[-1] if shape else 1


def count_mismatches(outputs: np.ndarray, expected: np.ndarray) -> int:
    """Samples whose output differs from the reference executor's in at least one value."""
    flat, ref = outputs.reshape(len(outputs), -1), expected.reshape(len(expected), -1)
    return int(np.sum(np.any(flat != ref, axis=1)))


def run(model: str | Path, board: str, data: str | Path | None, port: str | None = None, probe: str | None = None,
        gdb_server: str | None = None, flash: bool = True, samples: int | None = None, seed: int = 0,
        float_model: str | Path | None = None, details: dict | None = None, state: str = "carry",
        **quant_options) -> tuple[dict, np.ndarray]:
    """Run `model` on every sample of `data` on `board`; returns (report, raw outputs).

    data: .npz, .npy or a folder of images (datafiles.py), in the model file's declared layout, mapped by
    quant_options['normalize']; `samples` keeps the first N. Without `data`: `samples` (default
    RANDOM_SAMPLES) seeded random inputs (dataset.random_samples), for latency and memory (accuracy n/a).

    board: 'reference' (numpy executor), 'host' (generated C, host gcc) or a board of boards/ (QEMU, or
    the real board behind `port`, flashed with `probe` unless `flash` is False). An int8 run is validated
    against its float twin (float_twin.py): the float model it quantizes, or `float_model`. `details`, when
    given, receives what the HTML report needs beyond the report: graphs, float inputs, labels, the
    CompiledModel.

    state: the per-sample state policy of a recurrent model (harness/state_policy.py): "carry" (TFLM's default,
    for streaming models) or "reset" (before every sample, for independent sequences); no effect without state."""
    check_state(state)
    target_options = {"port": port, "probe": probe, "gdb_server": gdb_server, "flash_first": flash}
    quant_options["normalize"] = parse_normalize(quant_options.get("normalize"))  # a bad spec fails first
    if samples is not None and samples < 1:
        raise McuError(f"--samples {samples}: give at least 1")
    if board in ("reference", "host") and port is not None:
        raise McuError(f"--port needs a board of boards/ (see 'mcucompress boards'), not '{board}'")
    if board not in ("reference", "host"):
        from mcucompress.boards import load_board

        load_board(board)  # an unknown board fails before any work, with the list of known ones
    if board == "reference" and quant_options.get("calibration") is None:
        graph = load(model)  # a float model runs in float32 on the reference executor
    else:
        graph = prepare(model, **quant_options)
    twin, twin_name = _float_twin(model, graph, float_model)
    inputs = _inputs(graph, data, samples, seed, quant_options.get("normalize"))
    check_labels(data, inputs.y, output_classes(graph))
    twin_x = float_twin.twin_inputs(data, twin, graph, inputs.x, quant_options.get("normalize")) \
        if twin is not None else None
    details = {} if details is None else details
    details.update(graph=graph, float_graph=twin, float_x=twin_x, labels=inputs.y)
    start = time.perf_counter()
    if board == "reference":
        outputs = reference_outputs(graph, inputs.x, state)
        report = {"board": "reference", "engine": "numpy reference executor"}
    else:
        report, outputs = run_graph_on_board(graph, inputs.x, board, details=details, state=state, **target_options)
    report.update(
        samples=len(inputs.x),
        wall_seconds=round(time.perf_counter() - start, 3),
        accuracy={"top1": top1(outputs, inputs.y)},
        output_dtype=str(outputs.dtype),
        data=inputs.info,
        toolchain=tools_used(board, port),
    )
    if any(t.variable for t in graph.tensors.values()):  # a recurrent model: say how its state was handled
        report["state"] = state
    if twin is not None:
        report["validation"] = float_twin.validate(twin, twin_name, graph, twin_x, outputs)
    return report, outputs


def _inputs(graph: Graph, data, count: int | None, seed: int, normalize):
    """The run's inputs: the first `count` samples of `data`, or `count` random ones without data."""
    if data is None:
        return random_samples(graph.t(graph.inputs[0]), count or RANDOM_SAMPLES, seed)
    samples = input_samples(data, graph, normalize)
    if count is not None:
        samples.x = samples.x[:count]
        samples.y = None if samples.y is None else samples.y[:count]
    return samples


def _float_twin(model: str | Path, graph: Graph, float_model: str | Path | None) -> tuple[Graph | None, str]:
    """The float model an int8 run is compared with: `float_model`, or `model` itself when it is float and
    was quantized for this run; (None, "") for a float run or an int8 model without a twin."""
    if not graph.is_quantized:
        if float_model is not None:
            why = ("with its float32 inputs and outputs on the reference board; run it on host or a board"
                   if int8_core(graph) is not None else "in float32 here")
            raise McuError(f"--float-model {float_model}: {model} runs {why}; the float twin is for an int8 run "
                           "(an int8 model, or a float one with --calibration)")
        return None, ""
    if float_model is None:
        loaded = load(model, dequantize_hybrid=True)  # a hybrid model: its dequantized weights
        if loaded.is_quantized or int8_core(loaded) is not None:
            return None, ""
        return loaded, str(model)
    twin = load(float_model)
    float_twin.check_twin(twin, float_model, graph, model)
    return twin, str(float_model)
