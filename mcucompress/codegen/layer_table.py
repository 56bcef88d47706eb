"""invoke as a loop over the layers: the calls of one kernel read their arguments from a table.

Straight-line, each call loads its ten or so argument addresses from a literal pool and stores half of them on
the stack: ~70 B of code per layer (issue 15's code size: vww's 31 layers made a 2.5 KB invoke). Here every
call whose arguments are all known at link time (parameter structs, constant arrays, integers, arena pointers)
becomes a row of a per-kernel table of those arguments, typed by the kernel's prototype, and invoke one loop:
a switch on the layer's case calls the kernel once per case with the next row of its table (a row costs 4 B
per argument, the call sequence is written once per kernel). A layer the tables cannot hold (arguments that
are invoke's own: the caller's input/output or arena, locals of `pre` statements) keeps its call, inline, as
its own case; layers without a kernel (aliases) take the default case.

Used where some kernel has MIN_ROWS such calls (fewer: the straight-line code is as small); the per-layer
hooks (MCC_LAYER_BEGIN/END) and the status check stay around every layer, in the same order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mcucompress.codegen.calls import call_lines, parameter_names
from mcucompress.codegen.render import c_comment
from mcucompress.codegen.records import ArrayArg, IntArg, KernelCall, StructArg, TensorArg

MIN_ROWS = 2
_PROTOTYPE = r"^mcc_status\s+{name}\s*\(([^;{{]*)\)\s*;"


@dataclass
class Table:
    function: str
    type: str
    name: str
    cursor: str
    members: list[str]  # the prototype's parameter declarations
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (layer index, argument expressions)


def _declarations(function: str) -> list[str]:
    """The parameter declarations of a kernel's prototype ("const mcc_dims *in_dims", ...)."""
    from mcucompress.assets import asset_dir

    pattern = re.compile(_PROTOTYPE.format(name=re.escape(function)), re.MULTILINE)
    for header in sorted((asset_dir("firmware") / "include").glob("*.h")):
        m = pattern.search(header.read_text())
        if m:
            return [" ".join(p.split()) for p in m.group(1).split(",")]
    raise ValueError(f"kernel {function} has no prototype in firmware/include")


def _constant(call: KernelCall, prefix: str, arena_caller: bool) -> bool:
    """Every argument is known at link time (a static initializer can hold it)."""
    if not call.function or call.pre:
        return False
    for arg in call.args:
        if isinstance(arg, TensorArg):
            if arena_caller or f"{prefix}_arena" not in arg.pointer:
                return False  # the caller's input/output, or an arena only invoke knows
        elif not isinstance(arg, (StructArg, ArrayArg, IntArg)):
            return False
    return True


def plan(calls: list[KernelCall], prefix: str, arena_caller: bool) -> dict | None:
    """The template's `layer_loop` (declarations and invoke's loop as C lines), or None (straight-line)."""
    by_function: dict[str, list[KernelCall]] = {}
    for c in calls:
        if _constant(c, prefix, arena_caller):
            by_function.setdefault(c.function, []).append(c)
    tables = []
    for function, group in by_function.items():
        if len(group) < MIN_ROWS:
            continue
        decls = _declarations(function)
        if len(decls) != len(parameter_names(group[0])):
            return None
        n = len(tables)
        t = Table(function, f"{prefix}_args{n}", f"{prefix}_layers{n}", f"row{n}", decls)
        t.rows = [(c.index, [a.c() for a in c.args]) for c in group]
        tables.append(t)
    if not tables:
        return None
    return {"declarations": _declarations_lines(tables, calls, prefix), "loop": _loop_lines(tables, calls, prefix)}


def _cases(tables: list[Table], calls: list[KernelCall]) -> dict[int, int]:
    """Layer index -> its case: a table's number, or one of its own after them (no kernel: none)."""
    case = {index: n for n, t in enumerate(tables) for index, _ in t.rows}
    own = len(tables)
    for c in calls:
        if c.function and c.index not in case:
            case[c.index] = own
            own += 1
    return case


def _declarations_lines(tables: list[Table], calls: list[KernelCall], prefix: str) -> list[str]:
    lines = []
    for t in tables:
        lines += ["typedef struct {"] + [f"    {m};" for m in t.members] + [f"}} {t.type}; /* {t.function}'s arguments */"]
        lines.append(f"static const {t.type} {t.name}[{len(t.rows)}] = {{")
        lines += [f"    {{ {', '.join(args)} }}, /* layer {index} */" for index, args in t.rows]
        lines += ["};", ""]
    case = _cases(tables, calls)
    default = max(case.values(), default=0) + 1  # layers without a kernel
    values = ", ".join(str(case.get(c.index, default)) for c in calls)
    kind = "uint8_t" if default < 256 else "uint16_t"
    lines.append(f"/* invoke's case of each layer: a table above, or the layer's own call */")
    lines.append(f"static const {kind} {prefix}_layer_case[{prefix.upper()}_NUM_LAYERS] = {{ {values} }};")
    return lines


def _loop_lines(tables: list[Table], calls: list[KernelCall], prefix: str) -> list[str]:
    lines = ["int32_t layer;"]
    lines += [f"const {t.type} *{t.cursor} = {t.name};" for t in tables]
    lines += [f"for (layer = 0; layer < {prefix.upper()}_NUM_LAYERS; layer++) {{",
              "    MCC_LAYER_BEGIN(layer);",
              f"    switch ({prefix}_layer_case[layer]) {{"]
    for n, t in enumerate(tables):
        names = [re.split(r"[\s*]+", m)[-1] for m in t.members]
        lines.append(f"    case {n}: /* layers {', '.join(str(i) for i, _ in t.rows)} */")
        lines.append(f"        status = {t.function}({', '.join(f'{t.cursor}->{p}' for p in names)});")
        lines += [f"        {t.cursor}++;", "        break;"]
    case = _cases(tables, calls)
    for c in calls:
        n = case.get(c.index)
        if n is None or n < len(tables):
            continue
        lines.append(f"    case {n}: /* {c.index}: {c.kind} {c_comment(c.op_name)} */")
        lines.append("    {")
        lines += [f"        {line}" for line in c.pre + call_lines(c)]
        lines += ["        break;", "    }"]
    lines += ["    default: /* a layer without a kernel */", "        break;", "    }",
              "    MCC_LAYER_END(layer);", "    if (status != MCC_OK) {", "        return status;", "    }", "}"]
    return lines
