"""Read a sweep grid (GRID.toml) into the ordered list of configurations it spans.

Each key takes a list of values (a single value means a list of one); every combination runs. A key left out
takes its default (board: the --board option). Grid order, which results.csv follows, is the Cartesian
product in the order of KEYS, each key's values in the order the file lists them (the last key varies fastest).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from mcucompress.errors import McuError

KEYS = ("calibration_method", "per_tensor", "prune", "activations", "board")
PRUNE_WITH_SPARSITY = ("channels", "unstructured")
PRUNE_FIXED = ("2:4", "1:4")  # N:M: the sparsity is 1 - N/M, never written
SPECIAL_BOARDS = ("host", "reference")


class GridError(McuError):
    """A grid file that cannot be swept: unreadable, an unknown key, a value of the wrong kind."""


@dataclass(frozen=True)
class Config:
    """One point of the grid; its fields are the CSV's key columns, in this order."""

    calibration_method: str
    per_tensor: bool
    prune: str  # "none", "2:4", "1:4", "channels:S" or "unstructured:S" (S as repr(float))
    activations: str
    board: str

    def as_dict(self) -> dict:
        return asdict(self)

    def prune_request(self) -> tuple[str, float | None] | None:
        """(method, sparsity) for prune.api.prune, or None for no pruning."""
        return parse_prune(self.prune, "prune")

    def label(self) -> str:
        return (f"{self.calibration_method} {'per-tensor' if self.per_tensor else 'per-channel'} "
                f"prune={self.prune} {self.activations} on {self.board}")


def parse_prune(value, where: str) -> tuple[str, float | None] | None:
    """'none' -> None; '2:4' -> ('2:4', None); 'unstructured:0.5' -> ('unstructured', 0.5)."""
    if not isinstance(value, str):
        raise GridError(f"{where}: prune value {value!r} is not a string; use \"none\", \"2:4\", \"1:4\", "
                        "\"channels:S\" or \"unstructured:S\" (S in [0, 1))")
    if value == "none":
        return None
    if value in PRUNE_FIXED:
        return value, None
    method, _, sparsity = value.partition(":")
    if value.startswith(tuple(f"{p}:" for p in PRUNE_FIXED)):
        raise GridError(f"{where}: prune \"{value}\": N:M pruning fixes its sparsity; write \"{value[:3]}\" alone")
    if method not in PRUNE_WITH_SPARSITY:
        raise GridError(f"{where}: prune \"{value}\": unknown method '{method}'; use \"none\", \"2:4\", \"1:4\", "
                        "\"channels:S\" or \"unstructured:S\" (S in [0, 1))")
    try:
        s = float(sparsity)
    except ValueError:
        s = math.nan
    if not sparsity or not (0.0 <= s < 1.0):
        raise GridError(f"{where}: prune \"{value}\": {method} needs a sparsity in [0, 1) after the colon, "
                        f"e.g. \"{method}:0.5\"")
    return method, s


def _normalize(key: str, value, where: str) -> object:
    """Check one value of `key`; returns its canonical form (the one hashed and written to results.csv)."""
    if key == "calibration_method":
        from mcucompress.quantize.observers import OBSERVERS

        if value not in OBSERVERS:
            raise GridError(f"{where}: calibration_method {value!r} is unknown; use one of {', '.join(OBSERVERS)}")
        return value
    if key == "per_tensor":
        if not isinstance(value, bool):
            raise GridError(f"{where}: per_tensor {value!r} must be true or false (TOML booleans, unquoted)")
        return value
    if key == "prune":
        request = parse_prune(value, where)
        if request is None or request[1] is None:
            return value
        return f"{request[0]}:{request[1]!r}"  # repr: the shortest string that reads back as this float
    if key == "activations":
        if value not in ("int8", "int16"):
            raise GridError(f"{where}: activations {value!r} is unknown; use \"int8\" or \"int16\" (16x8)")
        return value
    assert key == "board"
    if not isinstance(value, str):
        raise GridError(f"{where}: board {value!r} must be a string: host, reference or a name of 'mcucompress boards'")
    check_board(value, where)
    return value


def check_board(name: str, where: str) -> None:
    if name in SPECIAL_BOARDS:
        return
    from mcucompress.boards import load_board

    try:
        board = load_board(name)
    except McuError as exc:
        raise GridError(f"{where}: {exc}") from None
    if not board.qemu_machine:
        raise GridError(f"{where}: board {name} is real hardware; a sweep runs host, reference or QEMU boards "
                        "(mps2-*); measure the chosen configuration on it with 'mcucompress run --port'")


def load_grid(path: str | Path, default_board: str) -> list[Config]:
    """Every configuration of the grid file at `path`, in grid order; GridError (one line) on any bad entry."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    path = Path(path)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise GridError(f"{path}: no such grid file; write a TOML file with keys {', '.join(KEYS)}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GridError(f"{path}: not valid TOML ({exc}); fix the file") from None
    except OSError as exc:
        raise GridError(f"{path}: cannot read the grid file ({exc.strerror or exc})") from None
    unknown = [k for k in doc if k not in KEYS]
    if unknown:
        raise GridError(f"{path}: unknown key '{unknown[0]}'; a grid has the keys {', '.join(KEYS)}")
    check_board(default_board, "--board")
    defaults = {"calibration_method": "minmax", "per_tensor": False, "prune": "none", "activations": "int8",
                "board": default_board}
    axes = []
    for key in KEYS:
        values = doc.get(key, [defaults[key]])
        if not isinstance(values, list):
            values = [values]
        if not values:
            raise GridError(f"{path}: key '{key}' has no values; give at least one or leave the key out")
        canonical = [_normalize(key, v, str(path)) for v in values]
        dupes = [v for i, v in enumerate(canonical) if v in canonical[:i]]
        if dupes:
            raise GridError(f"{path}: key '{key}' lists {json.dumps(dupes[0])} twice; list each value once")
        axes.append(canonical)
    return [Config(*combo) for combo in itertools.product(*axes)]
