"""Render a kernel call as C: one argument per line, each named by the kernel's prototype in firmware/include.

The prototypes are read from the shipped headers, so a lowering that passes the wrong number of arguments
fails at generation time with the kernel's name, not as a C compiler error in the user's build.
"""

from __future__ import annotations

import re
from functools import cache

from mcucompress.assets import asset_dir
from mcucompress.codegen.records import KernelCall

_PROTOTYPE = re.compile(r"^mcc_status\s+(mcc_\w+)\s*\(([^;{]*)\)\s*;", re.MULTILINE)


@cache
def prototypes() -> dict[str, tuple[str, ...]]:
    """Kernel function -> its parameter names, from every firmware/include header."""
    found: dict[str, tuple[str, ...]] = {}
    for header in sorted((asset_dir("firmware") / "include").glob("*.h")):
        for name, params in _PROTOTYPE.findall(header.read_text()):
            found[name] = tuple(re.split(r"[\s*]+", p.strip())[-1] for p in params.split(","))
    return found


def parameter_names(call: KernelCall) -> tuple[str, ...]:
    """The names of `call`'s parameters; ValueError when the kernel is unknown or the arity differs."""
    names = prototypes().get(call.function)
    if names is None:
        raise ValueError(f"layer {call.index} ({call.kind}): kernel {call.function} has no prototype in firmware/include")
    if len(names) != len(call.args):
        raise ValueError(f"layer {call.index} ({call.kind}): {call.function} takes {len(names)} arguments "
                         f"({', '.join(names)}), the lowering passes {len(call.args)}")
    return names


def call_lines(call: KernelCall) -> list[str]:
    """`status = kernel(` then one `argument,  /* parameter */` line each, the last closing the call."""
    names = parameter_names(call)
    lines = [f"status = {call.function}("]
    for k, (arg, name) in enumerate(zip(call.args, names)):
        end = ");" if k == len(names) - 1 else ","
        lines.append(f"    {arg.c()}{end}  /* {name} */")
    return lines
