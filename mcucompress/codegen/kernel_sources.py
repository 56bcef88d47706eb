"""Find which kernel source files define the C functions a model calls, so only those are shipped."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from mcucompress.assets import asset_dir

_DEFINITION = re.compile(r"^mcc_status\s+(mcc_\w+)\s*\(", re.MULTILINE)


@lru_cache(maxsize=1)
def function_files() -> dict[str, str]:
    """C function name -> path of its defining file, relative to firmware/kernels."""
    root = asset_dir("firmware") / "kernels"
    table = {}
    for path in sorted(root.rglob("*.c")):
        for fn in _DEFINITION.findall(path.read_text()):
            table[fn] = path.relative_to(root).as_posix()
    return table


def sources_for(functions: set[str]) -> list[str]:
    table = function_files()
    missing = sorted(f for f in functions if f not in table)
    if missing:
        raise FileNotFoundError(f"kernel sources for {', '.join(missing)} are missing from firmware/kernels")
    return sorted({table[f] for f in functions})


def headers() -> list[Path]:
    return sorted((asset_dir("firmware") / "include").glob("*.h"))


def kernels_root() -> Path:
    return asset_dir("firmware") / "kernels"
