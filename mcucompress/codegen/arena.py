"""Where the activation arena lives: a static array (optionally in a named linker section) or the caller's buffer.

`compile --arena caller` generates `<prefix>_invoke(input, output, arena)`: the model keeps no RAM of its
own, so the caller can reuse the arena between inferences. Parameter structs that point into the arena
(the kernels' scratch contexts) then cannot be static constants; they become locals of the call's block.
"""

from __future__ import annotations

import re

from mcucompress.codegen.records import KernelCall
from mcucompress.errors import McuError

ALIGN = 16  # bytes; the static arena's alignment, checked at run time for a caller's arena
MODES = ("static", "caller")
IO_MODES = ("arena", "separate")
_SECTION = re.compile(r"[.A-Za-z_][A-Za-z0-9_.$]{0,63}")


def check_options(mode: str, section: str | None, io: str = "arena") -> None:
    """One McuError line for an arena mode, section name or I/O placement the generated C could not use."""
    if mode not in MODES:
        raise McuError(f"--arena '{mode}' is not one of {', '.join(MODES)}")
    if io not in IO_MODES:
        raise McuError(f"--io '{io}' is not one of {', '.join(IO_MODES)}")
    if section is None:
        return
    if mode == "caller":
        raise McuError("--arena-section places the static arena; with --arena caller the caller's buffer has no "
                       "section of ours: drop one of the two options")
    if not _SECTION.fullmatch(section):
        raise McuError(f"--arena-section '{section}' is not a linker section name; use letters, digits, '_', '.' "
                       "and '$' (at most 64), e.g. .sram2")


def declaration(prefix: str, arena_bytes: int, section: str | None) -> str:
    """The static arena's C declaration (without the trailing semicolon)."""
    attributes = f'section("{section}"), aligned({ALIGN})' if section else f"aligned({ALIGN})"
    # not static: the firmware harness keeps its receive buffer in the arena's spare bytes (<PREFIX>_IO_SPARE_*)
    return f"int8_t {prefix}_arena[{arena_bytes if arena_bytes > 0 else 16}] __attribute__(({attributes}))"


def move_arena_statics(calls: list[KernelCall], prefix: str) -> None:
    """Caller arena: each static struct with a field pointing into the arena becomes a local of its call's block."""
    for call in calls:
        keep, local = [], []
        for s in call.statics:
            (local if any(f"{prefix}_arena" in value for _, value in s.fields) else keep).append(s)
        fields = [", ".join(f".{name} = {value}" for name, value in s.fields) for s in local]
        call.pre[:0] = [f"const {s.ctype} {s.name} = {{ {f} }};" for s, f in zip(local, fields)]
        call.statics = keep


def io_spare(arena_bytes: int, io: list[tuple[int, int]], align: int = 4) -> tuple[int, int]:
    """(offset, size) of the largest `align`-aligned run of arena bytes outside the (offset, size) ranges in
    `io` (the model input and output planned into the arena): between invokes nothing else in the arena holds
    data, so a caller may keep buffers of its own there while it does not invoke (the firmware harness keeps
    its protocol receive buffer there). (0, 0) when there is none."""
    best = (0, 0)
    start = 0
    for lo, size in sorted(io) + [(arena_bytes, 0)]:
        begin = -(-start // align) * align
        if lo - begin > best[1]:
            best = (begin, lo - begin)
        start = max(start, lo + size)
    return best
