"""Run a compiled model on a board, emulated or real, and turn the measurements into the run report.

Without a port, a QEMU board boots the harness image in qemu-system-arm. With a port (``/dev/ttyACM0``,
``socket://``, ``rfc2217://``), the image is flashed through the probe unless the caller says the board
already runs it, and the samples go over that serial link. Either way the target's model hash must match.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from mcucompress.boards import Board, check_fits, load_board
from mcucompress.errors import McuError
from mcucompress.harness.device import TargetRun


def progress_bar(total: int, board: str):
    """A tqdm bar on stderr (only on a terminal) as a Device.run_samples progress callback, and its closer."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=f"{board}", unit="sample", file=sys.stderr, disable=not sys.stderr.isatty(),
               leave=False)

    def update(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    return update, bar.close


def run_on_board(compiled, inputs: np.ndarray, output_shape: tuple[int, ...], board: Board | str,
                 port: str | None = None, probe: str | None = None, gdb_server: str | None = None,
                 flash_first: bool = True, workdir: str | Path | None = None, state: str = "carry") -> TargetRun:
    """Build the harness for `compiled`, put it on `board` and run every int8 sample of `inputs` (`state`: the
    per-sample state policy, "carry" or "reset")."""
    from mcucompress.codegen.project import write_project
    from mcucompress.harness.device import run_on_serial
    from mcucompress.harness.firmware import build_firmware
    from mcucompress.harness.flash import DEFAULT_GDB_SERVER, flash
    from mcucompress.harness.qemu import run_on_qemu

    board = load_board(board) if isinstance(board, str) else board
    if port is not None and board.qemu_machine and "://" not in port:
        # A device path on a QEMU board is a mix-up: mcucompress starts QEMU itself. A network URL still reaches
        # a QEMU the user started (-serial tcp::PORT,server), which is how the serial path is tested.
        raise McuError(f"board {board.name} runs in QEMU, which takes no port: drop --port {port} (or give "
                       f"socket://HOST:PORT for a QEMU you started with -serial tcp::PORT,server)")
    check_fits(board, compiled)
    update, close = progress_bar(len(inputs), board.name)
    try:
        if port is None:
            if not board.qemu_machine:
                raise McuError(f"board {board.name} is real hardware: give --port (its serial port, e.g. "
                               "/dev/ttyACM0) and a probe to flash it with")
            return run_on_qemu(compiled, inputs, output_shape, board, workdir=workdir, progress=update, state=state)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(workdir) if workdir else Path(tmp)
            project = write_project(compiled, root / "project", force=True)
            firmware = build_firmware(project, board, compiled.prefix, build_dir=root / "build" / board.name)
            if flash_first:
                flash(firmware.elf, board, probe, gdb_server or DEFAULT_GDB_SERVER)
            return run_on_serial(compiled, inputs, output_shape, board, port, firmware=firmware, progress=update,
                                 emulated=board.qemu_machine is not None, state=state)
    finally:
        close()


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 3)


def target_report(run: TargetRun, compiled) -> dict:
    """The run report's board part: latency (named unit), per-layer latency with MACs, memory."""
    lat = run.latency
    clock_hz = load_board(run.board).clock_hz
    # Time at the board's clock: exact for cycles; for QEMU's instruction count an estimate at one cycle each.
    per_layer = [{"index": i, "name": call.op_name, "kind": call.kind, "macs": int(call.macs), "latency": int(t),
                  "estimated_us": round(1e6 * float(t) / clock_hz, 1),
                  "latency_per_mac": round(float(t) / call.macs, 3) if call.macs else None,
                  "format": call.weight_format or None, "weight_bytes": sum(a.nbytes for a in call.arrays)}
                 for i, (call, t) in enumerate(zip(compiled.calls, run.layer_median()))]
    firmware = run.firmware.memory() if run.firmware else {}
    total_macs = sum(int(c.macs) for c in compiled.calls)
    return {
        "latency": {"unit": run.unit, "min": _number(lat.min()), "median": _number(np.median(lat)),
                    "max": _number(lat.max()), "mean": _number(lat.mean()), "clock_hz": clock_hz,
                    "estimated_ms": round(1e3 * float(np.median(lat)) / clock_hz, 3),
                    "estimate": "cycles at clock_hz" if run.unit == "cycles" else "one cycle per instruction at clock_hz",
                    "per_mac": round(float(np.median(lat)) / total_macs, 3) if total_macs else None},
        "macs": total_macs,
        "per_layer": per_layer,
        "memory": {"flash_bytes": firmware.get("flash_bytes"), "code_bytes": firmware.get("code_bytes"),
                   "ram_bytes": firmware.get("ram_bytes"),
                   "arena_bytes": compiled.plan.arena_bytes, "weights_bytes": compiled.weights_bytes,
                   "scratch_bytes": compiled.plan.scratch_bytes, "stack_used_bytes": run.stack_used,
                   "flash_size": run.firmware.board.flash_size if run.firmware else None,
                   "ram_size": run.firmware.board.ram_size if run.firmware else None,
                   "breakdown": run.firmware.breakdown if run.firmware else None},
    }
