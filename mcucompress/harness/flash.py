"""Put a built harness image on a board: the GDB remote protocol (gdb-multiarch), OpenOCD or pyOCD.

The GDB path talks to any gdbserver: QEMU's gdbstub (tested for real), OpenOCD's or pyOCD's port 3333,
st-util, J-Link. It loads the ELF, verifies it with ``compare-sections``, points SP and PC at the
vector table's reset entries and detaches, so the firmware runs. OpenOCD and pyOCD are driven with the
board's own configuration (``openocd_config``, ``pyocd_target`` in boards/<name>.toml).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from mcucompress.boards import FLASH_METHODS, Board
from mcucompress.errors import McuError

GDB_CANDIDATES = ("gdb-multiarch", "arm-none-eabi-gdb")
DEFAULT_GDB_SERVER = "localhost:3333"  # OpenOCD's and pyOCD's gdbserver port
FLASH_TIMEOUT = 120.0
TOOL_PACKAGES = {"gdb": "Debian: apt-get install gdb-multiarch", "openocd": "Debian: apt-get install openocd",
                 "pyocd": "pip install pyocd"}


def _tool(probe: str, resolve: bool = True) -> str:
    names = GDB_CANDIDATES if probe == "gdb" else (probe,)
    if not resolve:
        return names[0]
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise McuError(f"{names[0]} not found; it flashes with --probe {probe} ({TOOL_PACKAGES[probe]})")


def check_probe(probe: str | None, board: Board) -> str:
    probe = probe or board.flash["method"]
    if probe not in FLASH_METHODS:
        raise McuError(f"unknown probe '{probe}'; use one of {', '.join(FLASH_METHODS)}")
    return probe


def check_gdb_server(address: str) -> str:
    if not re.fullmatch(r"[\w.\-]+:\d{1,5}", address):
        raise McuError(f"gdb server '{address}' is not HOST:PORT (e.g. localhost:3333)")
    return address


def flash_command(elf: str | Path, board: Board, probe: str | None = None,
                  gdb_server: str = DEFAULT_GDB_SERVER, resolve: bool = True) -> list[str]:
    """The command line that flashes `elf` onto `board` with `probe` (default: the board's flash method).
    `resolve`: find the tool on PATH (an error names its package); False prints its bare name."""
    probe = check_probe(probe, board)
    elf = str(elf)
    if probe == "gdb":
        vectors = f"0x{board.flash_origin:08x}"
        return [_tool("gdb", resolve), "-nx", "-batch", "-ex", "set confirm off",
                "-ex", f"target remote {check_gdb_server(gdb_server)}", "-ex", "load", "-ex", "compare-sections",
                "-ex", f"set $sp = *(unsigned int *){vectors}",
                "-ex", f"set $pc = *(unsigned int *)({vectors} + 4) & ~1", "-ex", "detach", elf]
    if probe == "openocd":
        config = board.flash.get("openocd_config")
        if not config:
            raise McuError(f"board {board.name}: no openocd_config in its [flash] table; add it or use --probe gdb")
        return [_tool("openocd", resolve), "-f", config, "-c", f"program {elf} verify reset exit"]
    target = board.flash.get("pyocd_target")
    if not target:
        raise McuError(f"board {board.name}: no pyocd_target in its [flash] table; add it or use --probe gdb")
    return [_tool("pyocd", resolve), "load", "--target", target, elf]


def _failure(text: str) -> str:
    pattern = re.compile(r"error|fail|mismatch|refused|timed out|cannot", re.IGNORECASE)
    keep = [ln.strip() for ln in text.splitlines() if pattern.search(ln)]
    return (keep or [ln.strip() for ln in text.splitlines() if ln.strip()] or ["no output"])[0]


def flash(elf: str | Path, board: Board, probe: str | None = None, gdb_server: str = DEFAULT_GDB_SERVER,
          timeout: float = FLASH_TIMEOUT) -> str:
    """Flash and verify; returns the tool's output. Raises McuError with the tool's first error line."""
    elf = Path(elf)
    if not elf.is_file():
        raise McuError(f"{elf}: firmware image not found; build it first")
    cmd = flash_command(elf, board, probe, gdb_server)
    try:
        result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise McuError(f"flashing {board.name} with {Path(cmd[0]).name} did not finish in {timeout:.0f} s; "
                       "check the probe connection") from None
    text = result.stdout + result.stderr
    # gdb exits 0 even when 'target remote' fails in batch mode: check what it printed
    bad = result.returncode != 0 or re.search(r"MIS-MATCHED|Connection refused|Remote communication error|"
                                              r"No such file|Could not|Error", text)
    if bad:
        raise McuError(f"flashing {board.name} with {Path(cmd[0]).name} failed: {_failure(text)}")
    return text
