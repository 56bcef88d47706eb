"""Executed instructions per firmware function, from QEMU's execution trace (`-d in_asm,exec,nochain`).

QEMU has no profiler plugin in Debian's build, but its logs name every translated block (`IN:` and the guest
addresses of its instructions) and, with chaining off, every block executed (`Trace ...: [flags/pc/.../cflags]`).
Counting each executed block's instructions at their addresses and attributing addresses to the ELF's function
symbols gives an exact flat profile under `-icount shift=0` (a block cut short by the instruction budget carries
its count in the low bits of cflags). Functions inlined into a caller count as the caller: the profile says which
loop body runs, not which source line. `bench/instr_profile.py` prints it for a model.
"""

from __future__ import annotations

import bisect
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from mcucompress.errors import McuError

TRACE_ARGS = ("-d", "in_asm,exec,nochain")
_ADDR = re.compile(r"0x([0-9a-f]+):")
_TRACE = re.compile(r"Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/[0-9a-f]+/([0-9a-f]+)\]")
# the harness: protocol (receive, CRC, UART, replies), start-up and the timer reads around each layer
HARNESS_PREFIXES = ("mcc_crc", "mcc_uart", "mcc_proto", "send_", "main", "Reset_Handler", "mcc_put_", "mcc_get_",
                    "put_string", "mcc_timer", "mcc_layer_")
COUNT_MASK = 0x1FF  # QEMU's CF_COUNT_MASK: a block limited to this many instructions (0: its whole length)


def executed_addresses(log_lines: Iterable[str]) -> Counter:
    """Executions of every guest instruction address in a QEMU `-d in_asm,exec,nochain` log."""
    translations: list[list[int]] = []  # addresses of every block translated, in log order
    latest: dict[int, int] = {}  # pc -> index of the latest translation there
    current: list[int] | None = None
    runs: Counter = Counter()  # (translation index, instruction limit) -> executions
    for line in log_lines:
        if line.startswith("IN:"):
            current = None
            continue
        m = _ADDR.match(line)
        if m:
            addr = int(m.group(1), 16)
            if current is None:
                current = []
                latest[addr] = len(translations)
                translations.append(current)
            current.append(addr)
            continue
        m = _TRACE.match(line)
        if m:
            current = None
            index = latest.get(int(m.group(1), 16))
            if index is not None:
                runs[(index, int(m.group(2), 16) & COUNT_MASK)] += 1
    per_address: Counter = Counter()
    for (index, limit), n in runs.items():
        block = translations[index]
        for addr in block[:limit] if limit else block:
            per_address[addr] += n
    return per_address


def function_symbols(elf: Path) -> list[tuple[int, int, str]]:
    """(start, size, name) of the ELF's functions, by address (Thumb bit cleared)."""
    out = subprocess.run(["arm-none-eabi-nm", "-n", "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW":
            syms.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
    return syms


def per_function(per_address: Counter, symbols: list[tuple[int, int, str]]) -> Counter:
    """Executed instructions per function name ("?" for addresses outside every symbol)."""
    starts = [s for s, _, _ in symbols]
    totals: Counter = Counter()
    for addr, n in per_address.items():
        i = bisect.bisect_right(starts, addr) - 1
        inside = i >= 0 and addr < symbols[i][0] + max(symbols[i][1], 1)
        totals[symbols[i][2] if inside else "?"] += n
    return totals


def split_harness(counts: Counter) -> tuple[dict, dict]:
    """(the model's functions, the harness's) of a profile."""
    harness = {f: n for f, n in counts.items() if f.startswith(HARNESS_PREFIXES)}
    return {f: n for f, n in counts.items() if f not in harness}, harness


def profile_on_qemu(compiled, inputs: np.ndarray, output_shape: tuple[int, ...], board):
    """Run int8 `inputs` [N, ...] through `compiled` on a QEMU board with tracing on: (executed instructions per
    function over the whole run, harness included; the TargetRun with outputs and per-layer latency)."""
    from mcucompress.harness.qemu import run_on_qemu

    if not board.qemu_machine:
        raise McuError(f"board {board.name} is real hardware: the profile needs a QEMU board (an mps2 one)")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "qemu.log"
        run = run_on_qemu(compiled, inputs, output_shape, board, workdir=tmp, qemu_args=(*TRACE_ARGS, "-D", str(log)))
        with log.open(errors="replace") as f:
            counts = per_function(executed_addresses(f), function_symbols(run.firmware.elf))
    return counts, run
