"""Run the firmware harness in qemu-system-arm and measure a compiled model there.

QEMU runs ``-icount shift=0`` (one guest instruction = 1 ns of virtual time, deterministic) with the
board's UART on a TCP server socket that we connect to with pyserial's ``socket://``. `QemuSession`
is a context manager that always ends QEMU: on normal exit, on exceptions and on KeyboardInterrupt
(and at interpreter exit as a last resort). Latency is reported in instructions (SysTick ticks x
1e9 / clock_hz), never cycles: QEMU is not cycle-accurate.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mcucompress.boards import Board, load_board
from mcucompress.errors import McuError
from mcucompress.harness import exit_text
from mcucompress.harness.device import Device, DeviceFault, DeviceTimeout, TargetRun, collect
from mcucompress.harness.firmware import build_firmware, symbolize

QEMU = "qemu-system-arm"
CONNECT_TIMEOUT = 10.0
_live: set[subprocess.Popen] = set()  # QEMUs started by this process, ended at exit if still running


def find_qemu() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise McuError(f"{QEMU} not found; install it (Debian: apt-get install qemu-system-arm)")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listens(pid: int, port: int) -> bool | None:
    """Whether process `pid` holds the listening TCP socket on 127.0.0.1:`port` (Linux /proc); None when the
    system cannot tell (no /proc), so callers keep their older assumption there."""
    try:
        with open("/proc/net/tcp") as f:
            table = [line.split() for line in f.read().splitlines()[1:]]
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    local = {f"0100007F:{port:04X}", f"7F000001:{port:04X}"}  # 127.0.0.1 as the kernel prints it (either endian)
    inodes = {f"socket:[{row[9]}]" for row in table if len(row) > 9 and row[1] in local and row[3] == "0A"}  # LISTEN
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                return True
        except OSError:  # closed meanwhile
            continue
    return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: QEMU gets SIGKILL when the thread that started it dies, even if Python is killed outright."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=3)
    _live.discard(proc)


def qemu_command(board: Board, serial_port: int, wait_for_client: bool, *args: str) -> list[str]:
    """qemu-system-arm for `board` counting instructions, its UART on a TCP server (no Nagle: the protocol
    sends small frames), no monitor; `args` add the image (-kernel) or a halted gdbstub (-S -gdb)."""
    serial = f"tcp:127.0.0.1:{serial_port},server=on,wait={'on' if wait_for_client else 'off'},nodelay=on"
    return [find_qemu(), "-M", board.qemu_machine, "-nographic", "-icount", "shift=0", *args, "-serial", serial,
            "-monitor", "none"]


def _spawn(cmd: list[str], output) -> subprocess.Popen:
    """Start QEMU in its own session, killed with us (Linux) and ended at exit (_live)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                            start_new_session=True,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)  # noqa: PLW1509 - a prctl
    _live.add(proc)
    return proc


@atexit.register
def _stop_all() -> None:
    for proc in list(_live):
        _stop(proc)


class QemuSession:
    """``with QemuSession(board, elf) as device:`` boots the image and yields a connected Device."""

    def __init__(self, board: Board | str, elf: str | Path, timeout: float = 10.0, invoke_timeout: float = 300.0,
                 extra_args: tuple[str, ...] = ()):
        self.board = load_board(board) if isinstance(board, str) else board
        if not self.board.qemu_machine:
            raise McuError(f"board {self.board.name} has no QEMU machine; run it on hardware or pick an mps2 board")
        self.elf = Path(elf)
        self.timeout, self.invoke_timeout, self.extra_args = timeout, invoke_timeout, tuple(extra_args)
        self.proc: subprocess.Popen | None = None
        self.device: Device | None = None
        self.log = None
        self.port = 0

    def command(self, port: int) -> list[str]:
        return qemu_command(self.board, port, True, "-kernel", str(self.elf), *self.extra_args)

    def _log_text(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        # QEMU's "info:" lines (e.g. waiting for the serial connection) say nothing about why it stopped
        lines = [ln for ln in self.log.read().decode(errors="replace").strip().splitlines() if " info: " not in ln]
        named = [ln for ln in lines if ln.startswith(("qemu:", "qemu-system-arm:"))]
        return (named or lines or [""])[0 if named else -1].strip()

    def start(self) -> Device:
        if not self.elf.is_file():
            raise McuError(f"{self.elf}: firmware image not found; build it first")
        for _attempt in range(3):  # another program may grab the free port before QEMU does
            self.port = free_port()
            if self.log is not None:
                self.log.close()
            self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
            self.proc = _spawn(self.command(self.port), self.log)
            if self._wait_listening():
                break
            _stop(self.proc)
            last = self._log_text()
            if "Address already in use" not in last:
                raise McuError(f"QEMU ({self.board.qemu_machine}) did not start: {last or 'no message'}")
        else:
            raise McuError("QEMU could not get a free TCP port for its serial line after 3 attempts")
        self.device = Device(f"socket://127.0.0.1:{self.port}", timeout=self.timeout,
                             invoke_timeout=self.invoke_timeout)
        return self.device

    def _wait_listening(self) -> bool:
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                # QEMU waits for its first client (wait=on); probing would consume that, so just check the port.
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind(("127.0.0.1", self.port))
            except OSError:
                # Bound: by our QEMU, unless a concurrent run (parallel sweep workers) got the same free port
                # first; then ours fails with "Address already in use" and start() retries with another port.
                if listens(self.proc.pid, self.port) is not False:
                    return True
            time.sleep(0.02)
        raise McuError(f"QEMU ({self.board.qemu_machine}) did not open its serial port within {CONNECT_TIMEOUT:.0f} s")

    def stop(self) -> None:
        if self.device is not None:
            self.device.close()
            self.device = None
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def __enter__(self) -> Device:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        died = None
        if isinstance(exc, McuError) and not isinstance(exc, DeviceFault) and self.proc is not None:
            try:  # a link error may be QEMU dying (e.g. "Lockup"): give it a moment to finish
                self.proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        if (isinstance(exc, McuError) and not isinstance(exc, DeviceFault) and self.proc is not None
                and self.proc.poll() is not None):
            # QEMU's own last word (e.g. "qemu: fatal: Lockup", after which it aborts), and the signal that ended
            # it: a QEMU killed from outside (OOM killer, a user's kill) leaves no log line at all.
            log, how = self._log_text(), exit_text(self.proc.returncode)
            died = (f"{log} ({how})" if self.proc.returncode < 0 else log) if log else how
        self.stop()
        if died is not None:
            kind = DeviceTimeout if isinstance(exc, DeviceTimeout) else McuError
            raise kind(f"{exc}; QEMU had stopped: {died}") from None


def run_on_qemu(model, inputs: np.ndarray, output_shape: tuple[int, ...], board: str | Board = "mps2-an386",
                workdir: str | Path | None = None, extra_cflags: tuple[str, ...] = (), progress=None,
                invoke_timeout: float = 300.0, state: str = "carry", qemu_args: tuple[str, ...] = ()) -> TargetRun:
    """Write the project of a CompiledModel, build the firmware, boot QEMU and run every sample (`state`: the
    per-sample state policy, "carry" or "reset"; `qemu_args`: more QEMU options, e.g. a trace log)."""
    from mcucompress.boards import check_fits
    from mcucompress.codegen.project import write_project

    board = load_board(board) if isinstance(board, str) else board
    check_fits(board, model)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(workdir) if workdir else Path(tmp)
        project = write_project(model, root / "project", force=True)
        firmware = build_firmware(project, board, model.prefix, build_dir=root / "build" / board.name,
                                  extra_cflags=extra_cflags)
        with QemuSession(board, firmware.elf, invoke_timeout=invoke_timeout, extra_args=qemu_args) as device:
            device.hello()
            try:
                runs = device.run_samples(inputs, progress=progress, state=state)
            except DeviceFault as exc:
                where = symbolize(firmware.elf, exc.fault.regs.get("pc", 0))
                raise DeviceFault(f"{exc} in {where}", exc.fault) from None
        return collect(model, runs, output_shape, board, firmware, emulated=True)


class QemuGdbTarget:
    """An empty, halted QEMU board with a gdbstub: a stand-in for a real board and its probe.

    ``with QemuGdbTarget(board) as (gdb_address, serial_url):`` flash with ``flash(..., probe="gdb",
    gdb_server=gdb_address)`` and talk to the firmware on `serial_url`, exactly as with hardware.
    """

    def __init__(self, board: Board | str):
        self.board = load_board(board) if isinstance(board, str) else board
        if not self.board.qemu_machine:
            raise McuError(f"board {self.board.name} has no QEMU machine")
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> tuple[str, str]:
        gdb_port, serial_port = free_port(), free_port()
        self.proc = _spawn(qemu_command(self.board, serial_port, False, "-S", "-gdb", f"tcp:127.0.0.1:{gdb_port}"),
                           subprocess.DEVNULL)
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:  # both sockets are listening once connecting to the serial one succeeds
            try:
                socket.create_connection(("127.0.0.1", gdb_port), timeout=0.5).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    _stop(self.proc)
                    raise McuError(f"QEMU ({self.board.qemu_machine}) did not open its gdbstub") from None
                time.sleep(0.05)
        return f"127.0.0.1:{gdb_port}", f"socket://127.0.0.1:{serial_port}"

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None
