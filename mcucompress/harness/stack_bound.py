"""A sound upper bound of the firmware's stack use, from GCC's call graph with stack usage
(-fcallgraph-info=su: one .ci file per object, every function's static frame and its call edges).

The harness image has no recursion and no function pointers, so the deepest path from the reset handler is
a bound on the main stack; each interrupt handler that can preempt it adds its own deepest path and the
exception frame the core pushes (with the FPU's lazily stacked registers: 26 words + alignment). Functions
outside our sources (newlib's memcpy, libgcc's helpers, which GCC may also call implicitly) get a fixed
allowance. Any recursion, indirect call or dynamically sized frame makes the bound unknown (None): the
caller then keeps a default stack. The painted-stack high-water mark the harness reports checks the bound
at run time (tests/e2e).
"""

from __future__ import annotations

import re
from pathlib import Path

EXTERNAL_BYTES = 64  # newlib-nano's mem* functions and libgcc helpers: a few registers pushed
EXCEPTION_FRAME_BYTES = 108  # 8 core + 18 FPU words, plus 4 bytes of alignment
HANDLERS = ("SysTick_Handler",)  # interrupts the harness enables; faults run on their own stack
ENTRY = "Reset_Handler"
FAULT_REPORT = "mcc_fault_report"  # runs on the fault stack (firmware/runtime/mcc_fault.c)

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_SIZE = re.compile(r"(\d+) bytes \((static|dynamic[^)]*)\)")


def parse_call_graph(ci_files: list[Path]) -> tuple[dict[str, int | None], dict[str, set[str]], set[str]]:
    """(frame bytes per defined function, None where dynamic; call edges; names of undefined callees)."""
    frames: dict[str, int | None] = {}
    edges: dict[str, set[str]] = {}
    mentioned: set[str] = set()
    for path in ci_files:
        text = path.read_text()
        for title, label in _NODE.findall(text):
            size = _SIZE.search(label)
            if size:
                frames[title] = int(size.group(1)) if size.group(2) == "static" else None
            else:
                mentioned.add(title)
        for src, dst in _EDGE.findall(text):
            edges.setdefault(src, set()).add(dst)
    return frames, edges, mentioned - set(frames)


def deepest(name: str, frames: dict, edges: dict, external: set, active: frozenset = frozenset(),
            memo: dict | None = None) -> int | None:
    """Bytes of the deepest call path from `name`; None if it can recurse, call indirectly or is dynamic."""
    memo = {} if memo is None else memo
    if name in memo:
        return memo[name]
    if name in active or name == "__indirect_call":
        return None
    if name not in frames:
        return EXTERNAL_BYTES if name in external else None
    own = frames[name]
    if own is None:
        return None
    worst = 0
    for callee in edges.get(name, ()):
        depth = deepest(callee, frames, edges, external, active | {name}, memo)
        if depth is None:
            memo[name] = None
            return None
        worst = max(worst, depth)
    memo[name] = own + worst
    return memo[name]


def fault_stack_bound(ci_files: list[Path]) -> int | None:
    """Bytes the fault handler's own stack needs: HardFault_Handler (naked) switches to it and branches to
    FAULT_REPORT, whose deepest path is the bound (plus the external allowance); None if unknown."""
    frames, edges, external = parse_call_graph(ci_files)
    depth = deepest(FAULT_REPORT, frames, edges, external)
    return None if depth is None else depth + EXTERNAL_BYTES


def stack_bound(ci_files: list[Path]) -> int | None:
    """Worst-case main-stack bytes of the image whose objects produced `ci_files`, or None if unknown."""
    frames, edges, external = parse_call_graph(ci_files)
    memo: dict = {}
    total = deepest(ENTRY, frames, edges, external, memo=memo)
    if total is None:
        return None
    for handler in HANDLERS:
        if handler in frames:
            depth = deepest(handler, frames, edges, external, memo=memo)
            if depth is None:
                return None
            total += depth + EXCEPTION_FRAME_BYTES
    return total + EXTERNAL_BYTES  # calls GCC emits itself (libgcc division, memcpy of structs) are not edges
