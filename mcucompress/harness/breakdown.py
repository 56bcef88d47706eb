"""Flash and RAM breakdown of a linked harness image, read from the GNU ld map file (-Wl,-Map).

Every input section the linker placed is attributed to the object file it came from, and each object to
a part of the firmware: the model's weights (the generated <prefix>_weights.c), the generated model code
(<prefix>_model.c: its functions are "model", its constant layer parameters "tables", its arena "arena",
its recurrent state "state",
also in an --arena-section or, with --arena caller, the harness's buffer),
the kernels (firmware/kernels), the measurement harness (the protocol and sample loop:
firmware/runtime/harness_main.c, mcc_proto.c), the runtime every application needs (startup, timer, fault
handler, UART: the rest of firmware/runtime and firmware/target) and the C library (libc, libgcc:
everything else). Alignment padding is "padding" and the stack its own line, so each memory adds up to
exactly the flash and RAM use read from the ELF section headers.
"""

from __future__ import annotations

import re
from pathlib import Path

from mcucompress import __version__
from mcucompress.errors import McuError

PARTS = ("weights", "tables", "model", "arena", "state", "kernels", "harness", "runtime", "libc", "stack", "padding")
# The generated code's recurrent state: <prefix>_state<k> arrays and <prefix>_state_ready (lower_recurrent.py).
_STATE_SECTION = re.compile(r"^\.bss\..*_state(\d+|_ready)$")
HARNESS_SOURCES = ("harness_main.c", "mcc_proto.c")

_OUTPUT = re.compile(r"^(\.[\w.]+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)")
_INPUT_ONE_LINE = re.compile(r"^ (\S+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
_INPUT_NAME = re.compile(r"^ (\S+)\s*$")
_CONTINUED = re.compile(r"^\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")


# Output sections that are one part whatever the map lists in them: the main stack, and the fault handler's
# stack (mcc_fault.c, the runtime).
OWN_PARTS = {".stack": "stack", ".fault_stack": "runtime"}

def map_sections(map_text: str) -> list[tuple[str, str, str, int]]:
    """(output section, input section, file, size) of every non-empty input section; file '' for padding."""
    start = map_text.find("Linker script and memory map")
    if start < 0:
        raise McuError("linker map file has no 'Linker script and memory map' part; was it written by GNU ld?")
    lines = map_text[start:].splitlines()
    rows = []
    out = None
    pending = None  # an input section whose address, size and file are on the next line
    for line in lines:
        if pending is not None:
            m = _CONTINUED.match(line)
            if m and out:
                rows.append((out, pending, m.group(3).strip(), int(m.group(2), 16)))
            pending = None
            if m:
                continue
        if line.startswith((".", "/DISCARD/")):
            m = _OUTPUT.match(line)
            out = m.group(1) if m else line.split()[0]
            continue
        if out is None:
            continue
        if line.startswith(" *fill*"):
            parts = line.split()
            if len(parts) >= 3:
                rows.append((out, "*fill*", "", int(parts[2], 16)))
            continue
        m = _INPUT_ONE_LINE.match(line)
        if m and not m.group(1).startswith("*"):
            rows.append((out, m.group(1), m.group(4).strip(), int(m.group(3), 16)))
            continue
        m = _INPUT_NAME.match(line)
        if m and not m.group(1).startswith(("*", "0x")):
            pending = m.group(1)
    return [r for r in rows if r[3] > 0]


def source_part(src: Path, prefix: str, kernel: bool) -> str:
    """The part of the firmware a compiled source file is (build_firmware maps each object with this)."""
    if kernel:
        return "kernels"
    if src.name == f"{prefix}_weights.c":
        return "weights"
    if src.name.startswith(f"{prefix}_"):
        return "model"
    return "harness" if src.name in HARNESS_SOURCES else "runtime"


def part_of(file: str, section: str, objects: dict[str, str]) -> str:
    """The part of the firmware an input section belongs to; `objects` maps object file names to parts."""
    if not file:
        return "padding"
    part = objects.get(Path(file).name)
    if part is None:
        return "libc"  # libc_nano.a(...), libgcc.a(...), crt objects: whatever our build did not compile
    if part == "model":
        if section.startswith((".rodata", ".data")):
            return "tables"  # layer parameters, dimensions, quantization of the generated code
        if _STATE_SECTION.match(section):
            return "state"  # recurrent state (LSTM, SVDF), static outside the arena
        # the model's other zero-initialised data is its arena: .bss.<prefix>_arena or its --arena-section
        return "model" if section.startswith(".text") else "arena"
    if part == "harness" and section.endswith("_arena"):
        return "arena"  # compile --arena caller: the harness supplies the buffer (model_arena)
    return part


def memory_breakdown(map_file: str | Path, objects: dict[str, str], sections: list[tuple[str, int, int, int]]) -> dict:
    """{"flash": {part: bytes}, "ram": {part: bytes}, "kernels": {kernel object: flash bytes}}.

    `sections` is firmware.elf_sections of the image: which output sections occupy flash (allocated,
    not NOBITS) and RAM (writable or NOBITS; .data counts in both)."""
    from mcucompress.harness.firmware import SHF_ALLOC, SHF_WRITE, SHT_NOBITS

    kinds = {}
    for name, sh_type, flags, size in sections:
        if flags & SHF_ALLOC and size:
            in_flash = sh_type != SHT_NOBITS
            in_ram = sh_type == SHT_NOBITS or bool(flags & SHF_WRITE)
            kinds[name] = (in_flash, in_ram, size)
    flash = dict.fromkeys(PARTS, 0)
    ram = dict.fromkeys(PARTS, 0)
    kernels: dict[str, int] = {}
    placed = dict.fromkeys(kinds, 0)
    for out, section, file, size in map_sections(Path(map_file).read_text(errors="replace")):
        if out not in kinds:
            continue  # debug info, comments, discarded sections
        in_flash, in_ram, _ = kinds[out]
        part = OWN_PARTS.get(out) or part_of(file, section, objects)  # the stacks are one *fill* each
        placed[out] += size
        if in_flash:
            flash[part] += size
            if part == "kernels":
                stem = Path(file).stem  # mcc_convolve_s8
                kernels[stem] = kernels.get(stem, 0) + size
        if in_ram:
            ram[part] += size
    for out, (in_flash, in_ram, size) in kinds.items():
        rest = size - placed[out]  # the stack (no input sections) and alignment the map does not list
        part = OWN_PARTS.get(out, "padding")
        if rest > 0:
            if in_flash:
                flash[part] += rest
            if in_ram:
                ram[part] += rest
    return {"flash": {k: v for k, v in flash.items() if v}, "ram": {k: v for k, v in ram.items() if v},
            "kernels": dict(sorted(kernels.items(), key=lambda kv: -kv[1]))}


def firmware_memory(project: str | Path, board: str, prefix: str) -> dict:
    """compile's `memory` for a board: the harness linked against the project in a temporary folder, its
    flash/RAM use and breakdown; without arm-none-eabi-gcc only the reason there is none."""
    import shutil
    import tempfile

    from mcucompress.boards import load_board
    from mcucompress.harness.firmware import GCC, build_firmware
    from mcucompress.report.toolchain import tool_version

    target = load_board(board)
    if shutil.which(GCC) is None:
        return {"breakdown": None, "flash_size": target.flash_size, "ram_size": target.ram_size,
                "why_no_breakdown": f"{GCC} not found (Debian: apt-get install gcc-arm-none-eabi "
                                    "libnewlib-arm-none-eabi)"}
    with tempfile.TemporaryDirectory(prefix="mcc-breakdown-") as tmp:
        fw = build_firmware(project, target, prefix, build_dir=tmp)
    return {**fw.memory(), "toolchain": {"mcucompress": __version__, GCC: tool_version(GCC)}}
