"""Load and validate boards/*.toml: CPU, FPU, DSP, memory map, clock, UART, timer, QEMU machine, flash method."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cache

from mcucompress.assets import asset_dir
from mcucompress.errors import McuError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CPUS = {  # cpu -> (gcc -mcpu, has DWT)
    "cortex-m0plus": ("cortex-m0plus", False),
    "cortex-m3": ("cortex-m3", True),
    "cortex-m4": ("cortex-m4", True),
    "cortex-m7": ("cortex-m7", True),
    "cortex-m33": ("cortex-m33", True),
    "cortex-m55": ("cortex-m55", True),
}
MVE_CPUS = {"cortex-m55"}  # Armv8.1-M with Helium
FPUS = ("none", "fpv4-sp-d16", "fpv5-sp-d16", "fpv5-d16", "auto")
UARTS = ("cmsdk", "stm32-usart", "stm32-lpuart")
TIMERS = ("systick", "dwt")
FLASH_METHODS = ("gdb", "openocd", "pyocd")


class BoardError(McuError):
    """A board name that does not exist or a board file that does not validate."""


@dataclass
class Board:
    name: str
    description: str
    cpu: str
    fpu: str
    dsp: bool
    clock_hz: int
    flash_origin: int
    flash_size: int
    ram_origin: int
    ram_size: int
    uart: dict
    timer: str
    qemu_machine: str | None
    flash: dict = field(default_factory=dict)

    @property
    def mve(self) -> bool:
        """The core has Helium (M-profile Vector Extension): its kernels take their MVE paths."""
        return self.cpu in MVE_CPUS

    @property
    def cflags(self) -> list[str]:
        flags = [f"-mcpu={CPUS[self.cpu][0]}", "-mthumb"]
        if self.fpu == "none":
            flags.append("-mfloat-abi=soft")
        else:
            flags += ["-mfloat-abi=hard", f"-mfpu={self.fpu}"]
        return flags


def _require(doc: dict, key: str, kind, where: str):
    if key not in doc:
        raise BoardError(f"{where}: missing key '{key}'")
    value = doc[key]
    if not isinstance(value, kind):
        raise BoardError(f"{where}: '{key}' must be {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _choice(value: str, allowed: tuple, key: str, where: str) -> str:
    if value not in allowed:
        raise BoardError(f"{where}: {key} '{value}' is not one of {', '.join(allowed)}")
    return value


def parse_board(doc: dict, where: str) -> Board:
    mem = _require(doc, "memory", dict, where)
    uart = _require(doc, "uart", dict, where)
    timer = _require(doc, "timer", dict, where)
    flash = _require(doc, "flash", dict, where)
    board = Board(
        name=_require(doc, "name", str, where),
        description=_require(doc, "description", str, where),
        cpu=_choice(_require(doc, "cpu", str, where), tuple(CPUS), "cpu", where),
        fpu=_choice(_require(doc, "fpu", str, where), FPUS, "fpu", where),
        dsp=_require(doc, "dsp", bool, where),
        clock_hz=_require(doc, "clock_hz", int, where),
        flash_origin=_require(mem, "flash_origin", int, where + " [memory]"),
        flash_size=_require(mem, "flash_size", int, where + " [memory]"),
        ram_origin=_require(mem, "ram_origin", int, where + " [memory]"),
        ram_size=_require(mem, "ram_size", int, where + " [memory]"),
        uart=uart,
        timer=_choice(_require(timer, "kind", str, where + " [timer]"), TIMERS, "timer kind", where),
        qemu_machine=doc.get("qemu", {}).get("machine"),
        flash=flash,
    )
    _choice(_require(uart, "kind", str, where + " [uart]"), UARTS, "uart kind", where)
    _require(uart, "base", int, where + " [uart]")
    _choice(_require(flash, "method", str, where + " [flash]"), FLASH_METHODS, "flash method", where)
    if board.flash_size <= 0 or board.ram_size <= 0 or board.clock_hz <= 0:
        raise BoardError(f"{where}: flash_size, ram_size and clock_hz must be positive")
    if board.timer == "dwt" and not CPUS[board.cpu][1]:
        raise BoardError(f"{where}: {board.cpu} has no DWT cycle counter; use timer kind 'systick'")
    return board


# The board `run` and `demo` use when none is given: a Cortex-M4 with DSP, emulated by QEMU on any machine.
DEFAULT_BOARD = "mps2-an386"


@cache
def _all_boards() -> dict[str, Board]:
    boards = {}
    for path in sorted(asset_dir("boards").glob("*.toml")):
        with open(path, "rb") as f:
            try:
                doc = tomllib.load(f)
            except tomllib.TOMLDecodeError as exc:
                raise BoardError(f"{path}: not valid TOML ({exc})") from None
        board = parse_board(doc, str(path))
        if board.name != path.stem:
            raise BoardError(f"{path}: name '{board.name}' differs from the file name")
        boards[board.name] = board
    return boards


def board_names() -> list[str]:
    return sorted(_all_boards())


def load_board(name: str) -> Board:
    boards = _all_boards()
    if name not in boards:
        known = ", ".join(["reference", "host", *sorted(boards)])
        raise BoardError(f"unknown board '{name}'; known boards: {known}")
    return boards[name]


def check_fits(board: Board, compiled) -> None:
    """Refuse a model whose weights exceed the board's flash or whose arena exceeds its RAM (by how much)."""
    weights, arena = compiled.weights_bytes, compiled.plan.arena_bytes
    if weights > board.flash_size:
        raise McuError(f"board {board.name}: weights need {weights:,} B but flash is {board.flash_size:,} B "
                       f"({weights - board.flash_size:,} B too many); prune the model or choose a larger board")
    if arena > board.ram_size:
        raise McuError(f"board {board.name}: the activation arena needs {arena:,} B but RAM is {board.ram_size:,} B "
                       f"({arena - board.ram_size:,} B too many); choose a larger board or a smaller model")
