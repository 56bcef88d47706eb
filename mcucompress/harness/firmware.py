"""Build the firmware harness for a board with arm-none-eabi-gcc: generated project + firmware/ sources -> fw.elf.

The model and its kernels are compiled by the project's generated Makefile (out of tree, in parallel), the
build a user runs; the harness sources are compiled here and everything is linked with the board's script.

The linker script (templates/link.ld.j2) and the board header (templates/board_config.h.j2) are rendered
from the board's description; flash and RAM use is read from the ELF's section headers (flash = code,
constants and .data's initial values; RAM = .data + .bss + stack). A model too big for the board is
refused with the number of bytes it is over, both before compiling and after linking.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mcucompress import __version__
from mcucompress.assets import asset_dir
from mcucompress.boards import Board
from mcucompress.codegen.render import environment
from mcucompress.errors import McuError
from mcucompress.harness.breakdown import memory_breakdown, source_part
from mcucompress.harness.stack_bound import fault_stack_bound, stack_bound
from mcucompress.harness.toolrun import run_tool

GCC = "arm-none-eabi-gcc"
FAULT_MARGIN = 32  # the fault report runs once, with interrupts masked by the fault
STACK_MARGIN = 128  # bytes above the static bound (harness_main paints below its frame less a margin)
DEFAULT_FAULT_STACK = 512  # the fault handler's stack when no bound is proven (mcc_fault_report needs ~200 B)
DEFAULT_STACK = 2048  # MLPerf Tiny models use < 512 B (READ_TIMINGS reports the high-water mark)
OPT = "-O2"
COMMON_CFLAGS = ["-std=c99", "-ffunction-sections", "-fdata-sections", "-g"]
OUR_WARNINGS = ["-Wall", "-Wextra", "-Werror"]  # firmware/runtime and firmware/target
MODEL_WARNINGS = ["-Wall", "-Wextra"]  # generated code and kernels: their own tests hold them to -Werror
RUNTIME_SOURCES = ["runtime/harness_main.c", "runtime/mcc_proto.c", "runtime/mcc_timer.c", "runtime/mcc_fault.c",
                   "target/startup_cortexm.c"]
# The timer stays at OPT (it runs inside the measured invoke); the rest of the harness and runtime (protocol,
# sample loop, startup, fault report, UART) is built for size: it runs between inferences, not in them.
FOR_SPEED = {"mcc_timer.c"}
SIZE_OPT = "-Os"
UART_SOURCES = {"cmsdk": "target/uart_cmsdk.c", "stm32-usart": "target/uart_stm32.c",
                "stm32-lpuart": "target/uart_stm32.c"}


@dataclass
class Firmware:
    """A linked harness image and what it occupies on the board."""

    elf: Path
    board: Board
    prefix: str
    flash_bytes: int  # code + constants + .data initial values (+ vectors)
    ram_bytes: int  # .data + .bss + stack
    stack_bytes: int
    sections: dict[str, int] = field(default_factory=dict)
    breakdown: dict = field(default_factory=dict)  # harness/breakdown.py: bytes per part of the firmware

    @property
    def code_bytes(self) -> int:
        """Flash other than the weights (issue 15's code-size measure): code, tables, .data initial values."""
        return self.flash_bytes - self.breakdown.get("flash", {}).get("weights", 0)

    def memory(self) -> dict:
        return {"flash_bytes": self.flash_bytes, "code_bytes": self.code_bytes, "ram_bytes": self.ram_bytes,
                "stack_bytes": self.stack_bytes, "flash_size": self.board.flash_size, "ram_size": self.board.ram_size,
                "sections": dict(self.sections), "breakdown": self.breakdown}


def find_arm_gcc() -> str:
    path = shutil.which(GCC)
    if path is None:
        raise McuError(f"{GCC} not found; install the Arm toolchain (Debian: apt-get install gcc-arm-none-eabi "
                       "libnewlib-arm-none-eabi)")
    return path


def board_defines(board: Board) -> list[tuple[str, str]]:
    """Name/value pairs of mcc_board_config.h for `board`."""
    uart = board.uart
    defines = [
        ("MCC_BOARD_NAME", f'"{board.name}"'),
        ("MCC_CLOCK_HZ", f"{board.clock_hz}u"),
        ("MCC_UART_BASE", f"0x{uart['base']:08X}u"),
        ("MCC_UART_BAUD", f"{int(uart.get('baud', 115200))}u"),
        ("MCC_TIMER_DWT", "1" if board.timer == "dwt" else "0"),
    ]
    if uart["kind"] in ("stm32-usart", "stm32-lpuart"):
        where = f"board {board.name} [uart]"
        try:
            rcc, gpio = uart["rcc_enable"], uart["gpio"]
            regs = 2 if uart["kind"] == "stm32-lpuart" else int(uart["registers"])
            defines += [
                ("MCC_UART_STM32_REGS", str(regs)),
                ("MCC_UART_LPUART", "1" if uart["kind"] == "stm32-lpuart" else "0"),
                ("MCC_UART_PWR_VDDIO2", "1" if uart.get("pwr_vddio2") else "0"),
                ("MCC_UART_RCC_REG", f"0x{rcc['register']:08X}u"),
                ("MCC_UART_RCC_BIT", f"{rcc['bit']}u"),
                ("MCC_GPIO_RCC_REG", f"0x{gpio['rcc_register']:08X}u"),
                ("MCC_GPIO_RCC_BIT", f"{gpio['rcc_bit']}u"),
                ("MCC_GPIO_BASE", f"0x{gpio['base']:08X}u"),
                ("MCC_GPIO_TX_PIN", f"{gpio['tx_pin']}u"),
                ("MCC_GPIO_RX_PIN", f"{gpio['rx_pin']}u"),
                ("MCC_GPIO_AF", f"{gpio['af']}u"),
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise McuError(f"{where}: missing or bad key {exc} (an STM32 UART needs registers = 1|2, rcc_enable "
                           "and gpio)") from None
        if regs not in (1, 2):
            raise McuError(f"{where}: registers must be 1 (F1/F2/F4 USART) or 2 (F0/F3/F7/L4 USART), got {regs}")
    return defines


def render_board_files(board: Board, outdir: Path, stack_size: int,
                       fault_stack_size: int = DEFAULT_FAULT_STACK) -> tuple[Path, Path]:
    """Write link.ld and mcc_board_config.h for `board` into `outdir`."""
    env = environment()
    common = {"version": __version__, "board": board.name}
    ld = env.get_template("link.ld.j2").render(
        **common, flash_origin=f"0x{board.flash_origin:08X}", flash_size=f"0x{board.flash_size:08X}",
        ram_origin=f"0x{board.ram_origin:08X}", ram_size=f"0x{board.ram_size:08X}", stack_size=stack_size,
        fault_stack_size=fault_stack_size)
    header = env.get_template("board_config.h.j2").render(**common, defines=board_defines(board))
    (outdir / "link.ld").write_text(ld)
    (outdir / "mcc_board_config.h").write_text(header)
    return outdir / "link.ld", outdir / "mcc_board_config.h"


# -- ELF section sizes ---------------------------------------------------------------------------------------
SHF_WRITE, SHF_ALLOC = 0x1, 0x2
SHT_NOBITS = 8


def elf_sections(elf: Path) -> list[tuple[str, int, int, int]]:
    """(name, type, flags, size) of every section of a 32-bit little-endian ELF."""
    data = elf.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise McuError(f"{elf}: not a 32-bit little-endian ELF file")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    headers = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    strtab_off = headers[shstrndx][4]

    def name(offset: int) -> str:
        end = data.index(b"\0", strtab_off + offset)
        return data[strtab_off + offset:end].decode()

    return [(name(h[0]), h[1], h[2], h[5]) for h in headers]


def memory_use(elf: Path) -> tuple[int, int, dict[str, int]]:
    """(flash bytes, RAM bytes, allocated section sizes) of a linked image."""
    flash = ram = 0
    sizes = {}
    for name, sh_type, flags, size in elf_sections(elf):
        if not flags & SHF_ALLOC or size == 0:
            continue
        sizes[name] = size
        if sh_type == SHT_NOBITS:
            ram += size  # .bss, .stack
        elif flags & SHF_WRITE:
            ram += size  # .data: in RAM, and its initial values in flash
            flash += size
        else:
            flash += size
    return flash, ram, sizes


_OVERFLOW = re.compile(r"region [`'](\w+)' overflowed by (\d+) bytes")


def _first_error(text: str) -> str:
    lines = [ln for ln in text.splitlines() if "error" in ln.lower()] or text.strip().splitlines() or ["(no output)"]
    return lines[0].strip()


def _in_folder(folder: Path) -> dict:
    """The environment for the toolchain: its temporaries inside the build folder, removed with it."""
    return {**os.environ, "TMPDIR": str(folder)}


def _run(cmd: list[str], what: str, folder: Path) -> None:
    result = run_tool(cmd, env=_in_folder(folder))
    if result.returncode != 0:
        raise McuError(f"firmware build failed compiling {what}: {_first_error(result.stderr)}")


def _make_model_objects(project: Path, gcc: str, flags: list[str], out: Path, hooks: Path) -> list[Path]:
    """Compile the generated model and its kernels with the project's own Makefile (the build users run), out of
    tree into `out`, in parallel; the per-layer timing hooks are force-included into the model's code only."""
    make = shutil.which("make")
    if make is None:
        raise McuError("make not found; install it (Debian: apt-get install make)")
    ar = shutil.which("arm-none-eabi-ar") or "arm-none-eabi-ar"
    quoted = " ".join(shlex.quote(f) for f in flags)
    cmd = [make, "-s", "-C", str(project), f"-j{os.cpu_count() or 1}", f"BUILD={out}", f"CC={gcc}", f"AR={ar}",
           f"CFLAGS={quoted}", f"WARNINGS={' '.join(MODEL_WARNINGS)}",
           f"MODEL_CFLAGS=-include {shlex.quote(str(hooks))}", "objects"]
    result = run_tool(cmd, env=_in_folder(out.parent))
    if result.returncode != 0:
        raise McuError(f"firmware build failed compiling {project.name} with its Makefile: "
                       f"{_first_error(result.stderr or result.stdout)}")
    return sorted(out.rglob("*.o"))


def symbolize(elf: Path, address: int) -> str:
    """'function (file:line)' of a code address, or the bare address when addr2line cannot say."""
    tool = shutil.which("arm-none-eabi-addr2line")
    if tool is None:
        return f"0x{address:08x}"
    result = subprocess.run([tool, "-f", "-e", str(elf), f"0x{address:x}"], check=False, capture_output=True, text=True)
    lines = result.stdout.split()
    if result.returncode != 0 or len(lines) < 2 or lines[0] == "??":
        return f"0x{address:08x}"
    return f"{lines[0]} ({Path(lines[1]).name}) at 0x{address:08x}"


def project_prefix(project: str | Path) -> str:
    """The symbol prefix of a project written by 'mcucompress compile' (from its <prefix>_model.h)."""
    project = Path(project)
    if not project.is_dir():
        raise McuError(f"{project}: no such project directory; write one with 'mcucompress compile MODEL -o {project}'")
    headers = sorted(project.glob("*_model.h"))
    if len(headers) != 1:
        found = "no" if not headers else f"{len(headers)}"
        raise McuError(f"{project}: {found} <prefix>_model.h files; give a directory written by 'mcucompress compile'")
    return headers[0].name[: -len("_model.h")]


def build_firmware(project: str | Path, board: Board, prefix: str, build_dir: str | Path | None = None,
                   extra_cflags: tuple[str, ...] | list[str] = (), stack_size: int | None = None,
                   opt: str = OPT) -> Firmware:
    """Compile a generated project (write_project output) and the harness for `board` into build_dir/fw.elf.

    stack_size None: the static bound of the image's stack use (stack_bound.py, from GCC's call graph) plus
    STACK_MARGIN, or DEFAULT_STACK when no bound can be proven."""
    project = Path(project).resolve()
    if not (project / f"{prefix}_model.h").is_file():
        raise McuError(f"{project}: no {prefix}_model.h; write the project with the same prefix first")
    if board.uart["kind"] not in UART_SOURCES:
        raise McuError(f"board {board.name}: no firmware UART driver for kind '{board.uart['kind']}'")
    gcc = find_arm_gcc()
    build = Path(build_dir).resolve() if build_dir else project / "build" / board.name
    build.mkdir(parents=True, exist_ok=True)
    fw = asset_dir("firmware")
    auto_stack = stack_size is None
    link_ld, _ = render_board_files(board, build, DEFAULT_STACK if auto_stack else stack_size)

    flags = [*board.cflags, opt, *COMMON_CFLAGS, *extra_cflags, f"-I{build}", f"-I{fw / 'runtime'}"]
    if auto_stack:
        flags.append("-fcallgraph-info=su")  # *.ci beside each object: each function's frame and calls
    obj_dir = build / "obj"
    if obj_dir.exists():
        shutil.rmtree(obj_dir)
    obj_dir.mkdir()
    parts = {}  # object file name -> part of the firmware (the flash/RAM breakdown)
    objects = _make_model_objects(project, gcc, flags, obj_dir / "model", fw / "runtime" / "mcc_layer_hooks.h")
    for obj in objects:
        kernel = obj.relative_to(obj_dir / "model").parts[0] == "mcc"
        parts[obj.name] = source_part(obj.with_suffix(".c"), prefix, kernel)
    # The harness (not part of the generated project) is compiled here, held to -Werror.
    harness = [gcc, *flags, f"-I{project}", f"-I{project / 'mcc' / 'include'}", f'-DMCC_MODEL_HEADER="{prefix}_model.h"',
               f"-DMCC_PREFIX={prefix}", f"-DMCC_PREFIX_UPPER={prefix.upper()}", *OUR_WARNINGS]
    for src in (fw / s for s in RUNTIME_SOURCES + [UART_SOURCES[board.uart["kind"]]]):
        obj = obj_dir / f"{src.stem}.o"
        size = [] if src.name in FOR_SPEED else [SIZE_OPT]
        _run([*harness, *size, "-c", str(src), "-o", str(obj)], src.name, build)
        objects.append(obj)
        parts[obj.name] = source_part(src, prefix, False)
    objects = [str(o) for o in objects]

    if auto_stack:
        call_graph = sorted(obj_dir.rglob("*.ci"))
        bound, fault = stack_bound(call_graph), fault_stack_bound(call_graph)
        stack_size = DEFAULT_STACK if bound is None else (bound + STACK_MARGIN + 7) & ~7
        fault_size = DEFAULT_FAULT_STACK if fault is None else (fault + FAULT_MARGIN + 7) & ~7
        link_ld, _ = render_board_files(board, build, stack_size, fault_size)
    elf = build / "fw.elf"
    link = [gcc, *board.cflags, opt, "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", f"-T{link_ld}",
            "-Wl,--gc-sections", f"-Wl,-Map={build / 'fw.map'}", *objects, "-o", str(elf)]
    result = run_tool(link, env=_in_folder(build))
    if result.returncode != 0:
        over = _OVERFLOW.findall(result.stderr)
        if over:
            parts = []
            for region, nbytes in over:
                size = board.flash_size if region == "FLASH" else board.ram_size
                parts.append(f"{region.lower()} by {int(nbytes):,} B (of {size:,} B)")
            raise McuError(f"model '{prefix}' does not fit board {board.name}: the firmware overflows "
                           f"{' and '.join(parts)}; prune or shrink the model or choose a larger board")
        raise McuError(f"firmware link for board {board.name} failed: {_first_error(result.stderr)}")
    flash, ram, sections = memory_use(elf)
    for what, used, size in (("flash", flash, board.flash_size), ("RAM", ram, board.ram_size)):
        if used > size:
            raise McuError(f"model '{prefix}' does not fit board {board.name}: the firmware needs {used:,} B of "
                           f"{what} but it has {size:,} B ({used - size:,} B too many)")

    breakdown = memory_breakdown(build / "fw.map", parts, elf_sections(elf))
    return Firmware(elf, board, prefix, flash, ram, stack_size, sections, breakdown)
