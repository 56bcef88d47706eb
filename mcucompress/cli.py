"""Command line: argument parsing only; the work happens in mcucompress.driver and friends."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from mcucompress import __version__
from mcucompress.errors import McuError
from mcucompress.fileio import reserve as _reserve
from mcucompress.fileio import write_atomic as _write_atomic
from mcucompress.fileio import write_json as _write_json

RANDOM_SAMPLES_DEFAULT = 10  # as driver.RANDOM_SAMPLES (not imported here: parsing stays light)


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like KeyboardInterrupt, so every temporary file and build folder is removed."""


def _reserve_all(*destinations: tuple[str, str | None]) -> dict[str, Path]:
    """A temporary sibling of each given destination, reserved before the work (an unwritable one fails
    first); none is left behind when one fails."""
    reserved: dict[str, Path] = {}
    try:
        for key, dest in destinations:
            if dest:
                reserved[key] = _reserve(dest)
    except BaseException:
        for tmp in reserved.values():
            tmp.unlink(missing_ok=True)
        raise
    return reserved


def _save_npy(path: Path, array) -> None:
    import numpy as np

    with open(path, "wb") as f:  # a file object: np.save would append .npy to the temporary name
        np.save(f, array, allow_pickle=False)


def cmd_inspect(args) -> int:
    from mcucompress import driver
    from mcucompress.inspect_report import inspect_json, inspect_table

    graph = driver.load(args.model, allow_unsupported=True)  # an analysis: unsupported ops are flagged, not fatal
    if args.json:
        print(json.dumps(inspect_json(graph), indent=2))
    else:
        print(inspect_table(graph))
    return 0


def cmd_ops(args) -> int:
    from mcucompress.supported_ops import supported_ops_text

    print(supported_ops_text())
    return 0


def cmd_run(args) -> int:

    from mcucompress import driver

    # Both destinations are reserved first: an unwritable one fails before the run, and leaves nothing written.
    reserved: dict[str, Path] = {}
    try:
        for key, dest in (("out", args.save_outputs), ("json", args.json), ("report", args.report)):
            if dest:
                reserved[key] = _reserve(dest)
        details: dict = {}
        report, outputs = driver.run(args.model, args.board, args.data, port=args.port, probe=args.probe,
                                     gdb_server=args.gdb_server, flash=not args.no_flash, samples=args.samples,
                                     float_model=args.float_model, details=details, state=args.state,
                                     **_quant_options(args))
        if args.save_outputs:
            _write_atomic(args.save_outputs, lambda p: _save_npy(p, outputs), reserved["out"])
        if args.json:
            _write_json(args.json, report, reserved["json"])
        if args.report:
            from mcucompress.report.run_page import run_page

            run_page(args.model, report, outputs, details).write(args.report, reserved["report"])
    finally:
        for tmp in reserved.values():
            tmp.unlink(missing_ok=True)
    from mcucompress.inspect_report import run_summary

    print(run_summary(report, all_layers=args.per_layer))
    return 0


def cmd_flash(args) -> int:
    from mcucompress.boards import load_board
    from mcucompress.harness.firmware import build_firmware, project_prefix
    from mcucompress.harness.flash import DEFAULT_GDB_SERVER, flash, flash_command

    board = load_board(args.board)
    project = Path(args.outdir)
    prefix = project_prefix(project)
    firmware = build_firmware(project, board, prefix)
    command = flash_command(firmware.elf, board, args.probe, args.gdb_server or DEFAULT_GDB_SERVER,
                            resolve=not args.dry_run)
    if args.dry_run:
        print(" ".join(f"'{c}'" if " " in c else c for c in command))
        return 0
    flash(firmware.elf, board, args.probe, args.gdb_server or DEFAULT_GDB_SERVER)
    print(f"flashed and verified {firmware.elf} on {board.name} with {Path(command[0]).name}: "
          f"flash {firmware.flash_bytes:,} B, RAM {firmware.ram_bytes:,} B")
    return 0


def _add_probe_arguments(p) -> None:
    from mcucompress.boards import FLASH_METHODS

    p.add_argument("--probe", choices=FLASH_METHODS, default=None,
                   help="how to flash: gdb (any gdbserver), openocd, pyocd; default: the board's flash method")
    p.add_argument("--gdb-server", metavar="HOST:PORT", default=None,
                   help="gdbserver address for --probe gdb (default localhost:3333; QEMU: its -gdb port)")


def cmd_compile(args) -> int:
    from mcucompress import driver

    # An unwritable --json or --report fails before the project is written.
    reserved = _reserve_all(("json", args.json), ("report", args.report))
    try:
        compiled = driver.compile_model(args.model, args.output, prefix=args.name, force=args.force,
                                        board=args.board, checks=args.checks, arena=args.arena,
                                        arena_section=args.arena_section, io=args.io, packed_ram=args.packed_ram,
                                        **_quant_options(args))
        summary = compiled.summary()
        if args.board and reserved:  # the firmware's flash/RAM breakdown: a link of the harness, seconds
            from mcucompress.harness.breakdown import firmware_memory

            summary["memory"] = firmware_memory(args.output, args.board, compiled.prefix)
        if args.json:
            _write_json(args.json, summary, reserved["json"])
        if args.report:
            from mcucompress.report.model_pages import compile_page

            compile_page(args.model, compiled, summary, args.board).write(args.report, reserved["report"])
    finally:
        for tmp in reserved.values():
            tmp.unlink(missing_ok=True)
    if args.plan:
        print(compiled.plan.picture())
    print(
        f"wrote {args.output}: {summary['layers']} layers, weights {summary['weights_bytes']:,} B (flash), "
        f"arena {summary['arena_bytes']:,} B (RAM, of which scratch {summary['scratch_bytes']:,} B)"
    )
    return 0


def _quant_options(args) -> dict:
    return {"calibration": args.calibration, "method": args.calibration_method, "per_tensor": args.per_tensor,
            "bias_correction": args.bias_correction, "normalize": args.normalize,
            "activations": args.activations, "int16_layers": args.int16_layers, "progress": sys.stderr.isatty()}


def _add_quant_arguments(p) -> None:
    from mcucompress.quantize.observers import OBSERVERS

    g = p.add_argument_group("quantization (float models)")
    g.add_argument("--calibration", metavar="DATA", help="representative inputs for calibration: .npz ('x'), .npy, or "
                   "a folder of images in class subfolders, in the model file's layout")
    g.add_argument("--calibration-method", default="minmax", choices=sorted(OBSERVERS))
    g.add_argument("--per-tensor", action="store_true", help="per-tensor instead of per-channel conv and FC weights")
    g.add_argument("--bias-correction", action="store_true",
                   help="fold each conv/FC layer's mean output error, measured on the calibration data, into its bias")
    g.add_argument("--activations", default="int8", choices=["int8", "int16"],
                   help="int16: 16x8 (int16 activations, int8 weights) wherever an op has an int16 kernel; the "
                        "model input and output stay int8")
    g.add_argument("--int16-layers", metavar="NAMES", default=None,
                   help="run only these ops (comma-separated names) and their consumers in int16, or 'auto' / "
                        "'auto:K': the K layers (default a quarter) whose int16 raises the output SQNR most")
    _add_normalize_argument(p)


def _add_normalize_argument(p) -> None:
    p.add_argument("--normalize", metavar="SPEC", default=None,
                   help="map raw sample values (uint8 pixels) to the model's inputs: SCALE[,OFFSET] (x*SCALE+OFFSET, "
                        "e.g. 1/255) or mean=M,..:std=S,.. (torchvision: of x/255, per channel); see README")


def cmd_quantize(args) -> int:
    from mcucompress import driver
    from mcucompress.frontend import tflite_writer
    from mcucompress.quantize.report import format_report, layer_report

    if args.calibration is None:
        raise McuError("quantize needs --calibration DATA.npz (representative float inputs 'x')")
    report_tmp = _reserve(args.report) if args.report else None  # an unwritable --report fails before the work
    try:
        float_graph = driver.load(args.model)
        graph = driver.prepare(args.model, **_quant_options(args))
        tflite_writer.write(graph, args.output)
        kind = "16x8" if args.activations == "int16" else ("int8 + int16 layers" if args.int16_layers else "int8")
        print(f"wrote {args.output} ({kind}, calibration: {args.calibration_method})")
        if args.int16_layers and args.activations != "int16":
            print(_int16_gain_report(args, float_graph))
        if args.layers or args.report:
            from mcucompress.dataset import input_samples

            x = input_samples(args.calibration, float_graph, args.normalize).x[:256]
            rows = layer_report(float_graph, graph, x)
            if args.layers:
                print(format_report(rows))
            if args.report:
                from mcucompress.report.model_pages import quantize_page

                quantize_page(args.model, args.output, rows, _quant_options(args), len(x)).write(args.report,
                                                                                                 report_tmp)
    finally:
        if report_tmp is not None:
            report_tmp.unlink(missing_ok=True)
    return 0


def _int16_gain_report(args, float_graph) -> str:
    """Per candidate layer, the model output SQNR gained by running it (and its consumers) in int16."""
    from mcucompress.dataset import input_samples
    from mcucompress.quantize.calibrate import calibrate
    from mcucompress.quantize.int16 import format_gains, layer_gains, resolve_layers
    from mcucompress.quantize.quantizer import quantize_graph

    x = input_samples(args.calibration, float_graph, args.normalize).x
    ranges = calibrate(float_graph, x, args.calibration_method)
    q8 = quantize_graph(float_graph, ranges, per_channel=not args.per_tensor)
    chosen, rows = resolve_layers(args.int16_layers, float_graph, ranges, x[:256], q8)
    if rows is None:
        rows = layer_gains(float_graph, ranges, x[:256], q8)
        for r in rows:
            r["chosen"] = r["op"] in chosen
    return "int16 gain per layer (model output SQNR vs float, on the calibration data):\n" + format_gains(rows)


def cmd_finetune(args) -> int:
    try:
        from mcucompress.torch.train import FinetuneConfig, finetune
    except ImportError as exc:
        if "torch" not in str(exc):
            raise
        raise McuError("finetune needs PyTorch: pip install 'mcucompress[torch]'") from None

    cfg = FinetuneConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, loss=args.loss,
                         qat=args.qat, prune=args.prune, sparsity=args.sparsity, schedule=args.schedule,
                         allocation=args.allocation, keep_layers=_names(args.keep_layers),
                         prune_end=args.prune_end, rounds=args.rounds, val_split=args.val_split, augment=args.augment,
                         cutmix=args.cutmix, max_train=args.max_train, batchnorm=args.batchnorm,
                         distill=args.distill, temperature=args.temperature, normalize=args.normalize)
    report = finetune(args.model, args.data, args.output, cfg, val_path=args.val, checkpoint_dir=args.checkpoint_dir)
    kind = "int8 (QAT)" if args.qat else "float32"
    top1 = f", validation top-1 {report['val_top1']:.4f}" if report.get("val_top1") is not None else ""
    print(f"wrote {args.output} ({kind}, epoch {report['best_epoch']} of {report['epochs_run']}{top1})")
    if args.json:
        _write_json(args.json, report)
    return 0


def cmd_demo(args) -> int:
    from mcucompress import driver
    from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT, DIGITS_TEST
    from mcucompress.inspect_report import run_summary

    print(f"demo: {DIGITS_FLOAT.name} (digits CNN, float32) quantized to int8 with {DIGITS_CALIBRATION.name}, "
          f"run on {args.board}; test split of scikit-learn's digits")
    float_report, _ = driver.run(DIGITS_FLOAT, "reference", DIGITS_TEST)
    report, _ = driver.run(DIGITS_FLOAT, args.board, DIGITS_TEST, calibration=DIGITS_CALIBRATION)
    print(run_summary(report))
    drop = 100 * (float_report["accuracy"]["top1"] - report["accuracy"]["top1"])
    print(f"float32 top-1 (reference executor): {float_report['accuracy']['top1']:.4f}; int8 on {args.board} loses "
          f"{drop:.2f} points")
    return 0


def cmd_boards(args) -> int:
    from mcucompress.boards import DEFAULT_BOARD, board_names, load_board

    print(f"  {'board':<16} {'cpu':<11} {'fpu':<12} {'dsp':<4} {'flash':>9} {'ram':>9} {'clock':>8}  qemu / flash")
    for name in board_names():
        b = load_board(name)
        mark = "*" if name == DEFAULT_BOARD else " "
        print(f"{mark} {b.name:<16} {b.cpu:<11} {b.fpu:<12} {'yes' if b.dsp else 'no':<4} {b.flash_size // 1024:>7}KB "
              f"{b.ram_size // 1024:>7}KB {b.clock_hz / 1e6:>6.0f}MHz  {b.qemu_machine or '-'} / {b.flash['method']}")
    print("* default board of 'run' and 'demo'\n"
          "also: reference (numpy executor), host (generated C built with the host gcc)")
    return 0


def cmd_prune(args) -> int:
    reserved = _reserve_all(("json", args.json), ("report", args.report))
    try:
        _prune(args, reserved)
    finally:
        for tmp in reserved.values():
            tmp.unlink(missing_ok=True)
    return 0


def _names(listed: str | None) -> tuple[str, ...]:
    """A comma-separated option's names (none when the option is absent)."""
    return tuple(n for n in (listed or "").split(",") if n)


def _prune(args, reserved: dict) -> None:
    from mcucompress import driver
    from mcucompress.dataset import prune_inputs
    from mcucompress.frontend import tflite_writer
    from mcucompress.prune.api import prune
    from mcucompress.prune.report import format_report, prune_report

    graph = driver.load(args.model)
    x = prune_inputs(args.calibration, graph, args.normalize)  # NHWC, normalized, not quantized
    result = prune(graph, x, args.method, args.sparsity, args.recover, allocation=args.allocation,
                   criterion=args.criterion, round_to=args.round_to, data_name=args.calibration,
                   nm_rows=args.nm_rows, nm_everywhere=args.nm_all_layers,
                   keep=_names(args.keep_layers))
    tflite_writer.write(result.graph, args.output)
    kind = "int8" if result.graph.is_quantized else "float32"
    print(f"wrote {args.output} ({kind}, {args.method}, sparsity {result.sparsity:g}, recovery {result.recover})")
    for note in result.notes:
        print(note)
    if args.layers or args.report or args.json:
        from mcucompress.dataset import fit_samples

        t = result.dense.t(result.dense.inputs[0])
        xs = x if t.dtype != "int8" or x.dtype == t.dtype else None
        xs = fit_samples(args.calibration, x, None, result.dense.t(result.dense.inputs[0])).x[:256] \
            if xs is not None else x[:256]
        rep = prune_report(result.dense, result.graph, xs)
        if args.layers:
            print(format_report(rep))
        if args.json:
            _write_json(args.json, rep, reserved["json"])
        if args.report:
            from mcucompress.report.model_pages import prune_page

            options = {"method": args.method, "sparsity": result.sparsity, "recover": result.recover,
                       "allocation": args.allocation}
            prune_page(args.model, args.output, rep, options, result.notes).write(args.report, reserved["report"])


def cmd_sweep(args) -> int:
    from mcucompress.sweep.runner import run_sweep

    summary = run_sweep(args.model, args.calibration, args.data, args.board, args.grid, args.output,
                        jobs=args.jobs, ray=args.ray)
    print(f"wrote {summary.results_csv} and {summary.report_html}: {summary.total} configurations "
          f"({summary.reused} reused, {summary.computed} computed, {len(summary.failed)} failed)")
    for config, error in summary.failed:
        print(f"mcucompress: error: {config.label()}: {error}", file=sys.stderr)
    return 1 if summary.failed else 0


def build_parser() -> argparse.ArgumentParser:
    from mcucompress.boards import DEFAULT_BOARD

    parser = argparse.ArgumentParser(prog="mcucompress", description="Compile neural networks to int8 C for Cortex-M.")
    parser.add_argument("--version", action="version", version=f"mcucompress {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="per-op table of a model: shapes, quantization, MACs, weights")
    p.add_argument("model")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("demo", help="compile the bundled digits CNN, run it and print latency, accuracy, memory")
    p.add_argument("--board", default=DEFAULT_BOARD, help="default: %(default)s (Cortex-M4 in QEMU)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("boards", help="list the known boards")
    p.set_defaults(func=cmd_boards)

    p = sub.add_parser("flash", help="build the harness for a compiled project and flash it through a probe")
    p.add_argument("outdir", metavar="OUTDIR", help="a project written by 'mcucompress compile'")
    p.add_argument("--board", required=True)
    _add_probe_arguments(p)
    p.add_argument("--dry-run", action="store_true", help="print the flash command instead of running it")
    p.set_defaults(func=cmd_flash)

    p = sub.add_parser("ops", help="list supported ops and their constraints")
    p.set_defaults(func=cmd_ops)

    p = sub.add_parser("compile", help="generate a self-contained C project for an int8 model")
    p.add_argument("model")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    p.add_argument("--board", default=None, help="check that the model fits this board's flash and RAM")
    p.add_argument("--name", default=None, metavar="PREFIX", help="prefix of every generated C symbol")
    p.add_argument("--force", action="store_true", help="replace a non-empty OUTDIR")
    p.add_argument("--checks", action="store_true",
                   help="debug build: assert every tensor extent inside its buffer before each kernel (invoke then "
                        "returns MCC_BOUNDS_ERROR instead of corrupting memory)")
    p.add_argument("--arena", choices=["static", "caller"], default="static",
                   help="static: the model owns its activation arena; caller: <prefix>_invoke takes it as a 3rd argument")
    p.add_argument("--arena-section", metavar="NAME", default=None,
                   help="put the static arena in this linker section (e.g. .sram2)")
    p.add_argument("--io", choices=["arena", "separate"], default="arena",
                   help="arena (default, as TFLM): the input and output tensors are planned into the arena and "
                        "<prefix>_input_buffer()/_output_buffer() point at them; separate: they live only in the "
                        "caller's buffers")
    p.add_argument("--packed-ram", type=int, default=0, metavar="BYTES",
                   help="let the arena grow by up to BYTES to unpack more pruned filters kept packed in flash "
                        "(default 0: only where they fit beside the tensors live then)")
    p.add_argument("--plan", action="store_true", help="print an ASCII picture of the memory plan")
    p.add_argument("--json", metavar="FILE", help="write weights_bytes, arena_bytes, scratch_bytes as JSON (with "
                   "--board also the firmware's flash/RAM breakdown)")
    p.add_argument("--report", metavar="REPORT.html", help="write a self-contained HTML report")
    _add_quant_arguments(p)
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("quantize", help="quantize a float model to an int8 .tflite with calibration data")
    p.add_argument("model")
    p.add_argument("-o", "--output", required=True, metavar="MODEL_INT8.tflite")
    p.add_argument("--layers", action="store_true", help="print per-layer scale, saturation and SQNR vs float")
    p.add_argument("--report", metavar="REPORT.html", help="write a self-contained HTML report (SQNR per layer)")
    _add_quant_arguments(p)
    p.set_defaults(func=cmd_quantize)

    p = sub.add_parser("finetune", help="fine-tune a float model on labelled data; optionally prune and/or QAT (needs torch)")
    p.add_argument("model")
    p.add_argument("--data", required=True, metavar="TRAIN", help="'x' (N inputs) and 'y' (N class labels): an .npz, "
                   "or a folder of images in class subfolders")
    p.add_argument("-o", "--output", required=True, metavar="OUT.tflite")
    p.add_argument("--val", metavar="VAL.npz", default=None, help="validation data (default: --val-split of TRAIN)")
    p.add_argument("--val-split", type=float, default=0.1, help="fraction of TRAIN held back to pick the best epoch")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3,
                   help="Adam step relative to each weight tensor's RMS (cosine decay to 0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--loss", choices=["ce", "mse"], default="ce", help="ce: labels y; mse: reconstruct the input")
    p.add_argument("--qat", action="store_true", help="quantization-aware training; writes an int8 model")
    p.add_argument("--prune", choices=["unstructured", "2:4", "1:4", "channels"], default=None)
    p.add_argument("--sparsity", type=float, default=None,
                   help="fraction of weights (unstructured) or of MACs (channels) to remove")
    p.add_argument("--schedule", choices=["oneshot", "gradual", "iterative"], default="oneshot")
    p.add_argument("--prune-end", type=float, default=0.75, metavar="FRACTION",
                   help="gradual: the fraction of the training by which the final sparsity is reached; the rest "
                        "fine-tunes with the masks fixed (channels, iterative: the rounds fall before it; "
                        "default: %(default)s)")
    p.add_argument("--rounds", type=int, default=3,
                   help="iterative: the number of prunes (channels: equal steps of MACs removed; default: %(default)s)")
    p.add_argument("--allocation", choices=["global", "uniform", "erk", "capacity"], default="global",
                   help="unstructured sparsity per layer: one threshold on RMS-normalized weights (global), the "
                        "same ratio everywhere (uniform), or Erdos-Renyi-Kernel (erk: small layers stay denser); "
                        "channels: per-group ratios from a sensitivity pass (default), the same ratio (uniform), or "
                        "the most weights kept for the MACs removed (capacity)")
    p.add_argument("--keep-layers", metavar="NAMES",
                   help="comma-separated conv/FC layers (op or output tensor names) the pruning leaves whole; "
                        "unstructured/N:M: --sparsity then counts the other layers' weights (as for the first layer, "
                        "always dense); channels: their input and output channels stay, --sparsity is of all MACs")
    p.add_argument("--augment", action="store_true", help="random flips and shifts of image inputs")
    p.add_argument("--cutmix", action="store_true",
                   help="CutMix image inputs: a box of another image pasted in, the labels weighted by area (with "
                        "--distill the teacher labels the mixed image)")
    p.add_argument("--batchnorm", action="store_true",
                   help="train with a BatchNorm after every convolution (identity at the start, batch statistics "
                        "while training), folded back into the weights on export; not with --qat")
    p.add_argument("--distill", type=float, default=0.0, metavar="ALPHA",
                   help="weight in [0, 1] of a distillation loss toward MODEL's own predictions (its soft targets "
                        "at --temperature); helps pruned and QAT runs keep the dense model's accuracy")
    p.add_argument("--temperature", type=float, default=4.0, help="distillation temperature (default: %(default)s)")
    p.add_argument("--max-train", type=int, default=None, metavar="N", help="use only the first N training samples")
    p.add_argument("--checkpoint-dir", default=None, help="per-epoch checkpoints (default: OUT.tflite.ckpt); "
                   "running the same command again resumes after the last finished epoch")
    p.add_argument("--json", metavar="FILE", help="write the run report (per-epoch loss, accuracy, time)")
    _add_normalize_argument(p)
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("run", help="run a model on a board (reference, host, or a QEMU/real board)")
    p.add_argument("model")
    p.add_argument("--board", default=DEFAULT_BOARD,
                   help="a board of 'mcucompress boards', 'host' (generated C, host gcc) or 'reference' (numpy "
                        "executor); default: %(default)s (Cortex-M4 in QEMU)")
    p.add_argument("--data", default=None, help=".npz ('x', optional labels 'y'), .npy ('x') or a folder of images in "
                   "class subfolders; default: --samples random inputs (latency and memory only)")
    p.add_argument("--samples", type=int, default=None, metavar="N",
                   help=f"run the first N samples of --data, or N seeded random inputs without it (default "
                        f"{RANDOM_SAMPLES_DEFAULT})")
    p.add_argument("--save-outputs", metavar="OUT.npy")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--port", metavar="URL", default=None,
                   help="serial port of a real board (/dev/ttyACM0, socket://, rfc2217://); default: QEMU")
    _add_probe_arguments(p)
    p.add_argument("--no-flash", action="store_true", help="with --port: the board already runs this model's harness")
    p.add_argument("--per-layer", action="store_true", help="print every layer's latency, not only the slowest")
    p.add_argument("--float-model", metavar="FLOAT.tflite", default=None,
                   help="an int8 model's float twin: validate our outputs against it (RMSE, cosine, top-1 agreement)")
    p.add_argument("--report", metavar="REPORT.html", help="write a self-contained HTML report")
    p.add_argument("--state", choices=["carry", "reset"], default="carry",
                   help="recurrent state (LSTM, SVDF) between samples: 'carry' (default, as TFLM: it persists from "
                        "one sample to the next; for streaming models such as SVDF keyword spotters fed frame by "
                        "frame) or 'reset' (reset before every sample; for datasets of independent sequences, e.g. "
                        "a Keras LSTM classifier). No effect on a model without state")
    _add_quant_arguments(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("prune", help="prune a model (channels, unstructured, 2:4, 1:4) with calibration data")
    p.add_argument("model", help="float .tflite/.onnx or int8 .tflite; the output is of the same kind")
    p.add_argument("-o", "--output", required=True, metavar="OUT.tflite")
    p.add_argument("--method", required=True, choices=["channels", "unstructured", "2:4", "1:4"])
    p.add_argument("--sparsity", type=float, default=None,
                   help="channels: fraction of MACs removed; unstructured: fraction of weights zeroed; N:M: fixed")
    p.add_argument("--calibration", required=True, metavar="CAL",
                   help="representative raw inputs: .npz ('x'), .npy, or a folder of images in class subfolders")
    p.add_argument("--recover", choices=["none", "bias", "reconstruct", "distill"], default="reconstruct",
                   help="recovery without labels: none, bias, reconstruct (default; layer-wise least squares, numpy) "
                        "or distill (reconstruct, then train toward the dense model on the calibration data; torch)")
    p.add_argument("--allocation", choices=["sensitivity", "uniform", "global", "capacity"], default="sensitivity",
                   help="per-layer ratios: from a sensitivity pass, the same everywhere, one global threshold "
                        "(unstructured only), or (channels only) the most weights kept for the MACs removed: groups "
                        "thinned where a weight serves the most positions, none below 1 - sparsity")
    p.add_argument("--criterion", choices=["obs", "data", "l2", "l1"], default=None,
                   help="channel ranking (default: obs, least-squares aware, with --recover reconstruct; else data)")
    p.add_argument("--round-to", type=int, default=None, metavar="N", help="kept channels per group: a multiple of N")
    p.add_argument("--nm-rows", type=int, default=1, metavar="R",
                   help="2:4 / 1:4: consecutive output channels sharing each mask (2 = row pairs), ranked together")
    p.add_argument("--nm-all-layers", action="store_true",
                   help="2:4 / 1:4: prune every layer that can take the pattern, also where compile would run it dense "
                        "(default: only the layers its sparse kernels speed up, or all when none would)")
    p.add_argument("--keep-layers", metavar="NAMES",
                   help="comma-separated conv/FC layers (op or output tensor names, as --layers prints) left whole: "
                        "no weight zeroed, no input or output channel removed (recovery may still refit them); the "
                        "sparsity comes from the rest")
    p.add_argument("--layers", action="store_true", help="print per-layer channels, sparsity, MACs, bytes, SQNR")
    p.add_argument("--report", metavar="REPORT.html", help="write a self-contained HTML report")
    p.add_argument("--json", metavar="FILE", help="write the per-layer report as JSON")
    _add_normalize_argument(p)
    p.set_defaults(func=cmd_prune)

    p = sub.add_parser("sweep", help="prune/quantize/compile/run every combination of a grid; results.csv, report.html")
    p.add_argument("model", help="float .tflite/.onnx or int8 .tflite")
    p.add_argument("--calibration", required=True, metavar="CAL.npz", help="representative inputs 'x'")
    p.add_argument("--data", required=True, metavar="TEST.npz", help="'x' and labels 'y' to measure top-1 on")
    p.add_argument("--board", default="host", help="board of the configurations whose grid has no 'board' key")
    p.add_argument("--grid", required=True, metavar="GRID.toml",
                   help="lists of calibration_method, per_tensor, prune, activations, board (see README)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="results.csv, report.html, cache/")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes, or CPUs of the --ray local cluster (default: all CPUs)")
    p.add_argument("--ray", default=None, metavar="ADDRESS|local",
                   help="run the configurations as Ray tasks: 'local' starts a cluster in this process, an address "
                        "joins a running one (pip install 'mcucompress[ray]')")
    p.set_defaults(func=cmd_sweep)
    return parser


def _terminate(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None  # cleanup runs as on Ctrl-C
    try:
        return args.func(args)
    except McuError as exc:
        # One line whatever the message holds (a corrupt file's tensor names can contain newlines).
        message = "".join(c if c.isprintable() else "?" for c in str(exc))
        print(f"mcucompress: error: {message}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # disk full, missing folder, permission denied: one line, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"mcucompress: error: {where}{exc.strerror or exc}; check the path, its permissions and free space",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mcucompress: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("mcucompress: terminated", file=sys.stderr)
        return 143
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
