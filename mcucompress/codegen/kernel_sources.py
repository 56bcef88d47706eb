"""Which kernel source files a model needs: the files defining the C functions its layers call, plus the
files those files call into (support code such as kernels/support/mcc_matmul.c), so only those are shipped.

The dependency map is read from the sources themselves: every function with external linkage defined in
firmware/kernels, and every file that calls it (itself or through a firmware/include header it includes).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from mcucompress.assets import asset_dir

# A definition with external linkage at the start of a line: return type, name, "(" (never `static`).
_DEFINITION = re.compile(r"^(?:MCC_[A-Z_]+\s+)*(?:mcc_status|void|int32_t|int8_t|int16_t)\s+(mcc_\w+)\s*\(",
                         re.MULTILINE)
_CALL = re.compile(r"\b(mcc_\w+)\s*\(")


@lru_cache(maxsize=1)
def function_files() -> dict[str, str]:
    """C function name -> path of its defining file, relative to firmware/kernels."""
    table = {}
    for path in sorted(kernels_root().rglob("*.c")):
        for fn in _DEFINITION.findall(path.read_text()):
            table[fn] = path.relative_to(kernels_root()).as_posix()
    return table


_INCLUDE = re.compile(r'^#include "(mcc_\w+\.h)"', re.MULTILINE)
# A prototype's or definition's head in a header ("mcc_status mcc_add_s8(", "static inline int32_t mcc_x("): not a call.
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_HEAD = re.compile(r"\b(?:mcc_status|void|u?int(?:8|16|32|64)_t|mcc_\w+_t)\s*\*?\s*mcc_\w+\s*\(")


def _text_with_headers(text: str, seen: set[str]) -> str:
    """`text` and, transitively, the calls in the firmware/include headers it includes (their inline code:
    ADD's and SUB's mcc_addsub.h calls the broadcasting loop of kernels/support); prototypes and comments
    are no calls."""
    parts = [text]
    for header in _INCLUDE.findall(text):
        path = asset_dir("firmware") / "include" / header
        if header not in seen and path.is_file():
            seen.add(header)
            code = _COMMENT.sub("", path.read_text())  # "scratch of mcc_x_get_buffer_size() bytes"
            parts.append(_HEAD.sub("", _text_with_headers(code, seen)))
    return "\n".join(parts)


@lru_cache(maxsize=1)
def file_dependencies() -> dict[str, frozenset[str]]:
    """Kernel file -> the other kernel files whose functions it (or a header it includes) calls."""
    table = function_files()
    deps = {}
    for path in sorted(kernels_root().rglob("*.c")):
        name = path.relative_to(kernels_root()).as_posix()
        calls = set(_CALL.findall(_text_with_headers(path.read_text(), set())))
        deps[name] = frozenset(table[f] for f in calls if f in table and table[f] != name)
    return deps


def sources_for(functions: set[str]) -> list[str]:
    """The kernel files (relative to firmware/kernels) that define `functions`, with their dependencies."""
    table = function_files()
    missing = sorted(f for f in functions if f not in table)
    if missing:
        raise FileNotFoundError(f"kernel sources for {', '.join(missing)} are missing from firmware/kernels")
    needed, todo = set(), [table[f] for f in functions]
    deps = file_dependencies()
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(deps[name])
    return sorted(needed)


# A kernel file whose hot loops want GCC's pre-register-allocation scheduler off says so on a line of its own;
# the generated build files then compile that file (only) with -fno-schedule-insns when the compiler is GCC.
UNSCHEDULED_MARK = "/* mcc-build: -fno-schedule-insns */"


def unscheduled(sources: list[str]) -> list[str]:
    """The kernel files of `sources` that carry UNSCHEDULED_MARK."""
    return [s for s in sources if UNSCHEDULED_MARK in (kernels_root() / s).read_text()]


# A kernel file that runs once per inference over a handful of values (SOFTMAX over the classes) is built for size:
# the generated build files compile it (only) with -Os on GCC and Clang.
SIZE_MARK = "/* mcc-build: -Os */"


def for_size(sources: list[str]) -> list[str]:
    """The kernel files of `sources` that carry SIZE_MARK."""
    return [s for s in sources if SIZE_MARK in (kernels_root() / s).read_text()]


def headers() -> list[Path]:
    return sorted((asset_dir("firmware") / "include").glob("*.h"))


def kernels_root() -> Path:
    return asset_dir("firmware") / "kernels"
