"""Hardware-in-the-loop pytest plugin: ``pytest --mcu-board NAME [--mcu-port PORT] [--mcu-probe P]``.

Registered through the ``pytest11`` entry point, so it is active wherever mcucompress is installed. The
``mcu_target`` fixture compiles a model, puts the harness on the board (QEMU when the board has a QEMU
machine and no port is given; otherwise flashes through the probe and talks over the port) and returns
the outputs and measurements of every sample::

    def test_my_model(mcu_target):
        run = mcu_target.run("model_int8.tflite", x)   # x: int8 [N, ...] or float (quantized for you)
        assert run.report["bit_exact"]
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mcucompress.boards import DEFAULT_BOARD


def pytest_addoption(parser) -> None:
    group = parser.getgroup("mcucompress", "hardware-in-the-loop runs of compiled models on a Cortex-M board")
    group.addoption("--mcu-board", default=DEFAULT_BOARD, help=f"board of 'mcucompress boards' (default {DEFAULT_BOARD})")
    group.addoption("--mcu-port", default=None, help="serial port of a real board (/dev/ttyACM0, socket://...); "
                    "without it the board runs in QEMU")
    group.addoption("--mcu-probe", default=None, choices=("gdb", "openocd", "pyocd"),
                    help="how to flash a real board (default: the board's flash method)")
    group.addoption("--mcu-gdb-server", default=None, help="HOST:PORT of the gdbserver for --mcu-probe gdb")


def pytest_configure(config) -> None:
    from mcucompress.boards import load_board
    from mcucompress.errors import McuError

    try:
        board = load_board(config.getoption("--mcu-board"))
    except McuError as exc:
        raise pytest.UsageError(f"--mcu-board: {exc}") from None
    if config.getoption("--mcu-port") is None and not board.qemu_machine:
        raise pytest.UsageError(f"--mcu-board {board.name} is real hardware: give --mcu-port (its serial port)")


def pytest_report_header(config) -> str:
    port = config.getoption("--mcu-port")
    return f"mcucompress: board {config.getoption('--mcu-board')} ({'port ' + port if port else 'QEMU'})"


@dataclass
class McuRun:
    """One model's samples on the target: raw int8 outputs and the run report (latency, memory, bit_exact)."""

    outputs: np.ndarray
    report: dict


class McuTarget:
    """The board chosen on the command line; `run` compiles, flashes and runs a model there."""

    def __init__(self, board: str, port: str | None, probe: str | None, gdb_server: str | None, workdir: Path):
        self.board, self.port, self.probe, self.gdb_server = board, port, probe, gdb_server
        self.workdir = workdir
        self._runs = 0

    def run(self, model, inputs: np.ndarray, calibration: np.ndarray | None = None, state: str = "carry") -> McuRun:
        """`model`: a .tflite/.onnx path or an IR Graph (float models need `calibration` inputs). `state`: a
        recurrent model's per-sample state policy, "carry" (as TFLM) or "reset" (before every sample)."""
        from mcucompress.dataset import fit_samples
        from mcucompress.driver import load, prepare_graph, run_graph_on_board

        graph = load(model) if isinstance(model, (str, Path)) else model
        # int8 as is; an int8 model with float32 I/O as its int8 core; a float model quantized on `calibration`
        # (without it, one McuError saying so)
        graph = prepare_graph(graph, model if isinstance(model, (str, Path)) else f"model '{graph.name}'",
                              None if calibration is None else np.asarray(calibration))
        x = fit_samples("mcu_target.run inputs", np.asarray(inputs), None, graph.t(graph.inputs[0]),
                        graph.input_perm()).x
        self._runs += 1
        report, outputs = run_graph_on_board(graph, x, self.board, workdir=self.workdir / f"run{self._runs}",
                                             port=self.port, probe=self.probe, gdb_server=self.gdb_server,
                                             state=state)
        return McuRun(outputs, {**report, "samples": len(x)})


@pytest.fixture(scope="session")
def mcu_target(request, tmp_path_factory) -> McuTarget:
    """The board of --mcu-board (QEMU unless --mcu-port); skips when the toolchain or QEMU is missing."""
    config = request.config
    port = config.getoption("--mcu-port")
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("needs arm-none-eabi-gcc (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    if port is None and shutil.which("qemu-system-arm") is None:
        pytest.skip("needs qemu-system-arm (Debian: qemu-system-arm) or --mcu-port for a real board")
    return McuTarget(config.getoption("--mcu-board"), port, config.getoption("--mcu-probe"),
                     config.getoption("--mcu-gdb-server"), tmp_path_factory.mktemp("mcu"))
