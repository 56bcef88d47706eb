"""The static stack bound of a firmware image (harness/stack_bound.py) from GCC's -fcallgraph-info=su files."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from mcucompress.harness.stack_bound import EXCEPTION_FRAME_BYTES, EXTERNAL_BYTES, stack_bound

needs_arm_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")


def ci(tmp_path, name: str, nodes: list[tuple[str, str]], edges: list[tuple[str, str]]):
    """A .ci file in GCC's VCG format: nodes (title, size text or '' for an undefined callee)."""
    lines = [f'graph: {{ title: "{name}.c"']
    for title, size in nodes:
        label = f"{title}\\n{name}.c:1:1\\n{size}" if size else f"{title}\\n<built-in>"
        lines.append(f'node: {{ title: "{title}" label: "{label}" }}')
    lines += [f'edge: {{ sourcename: "{a}" targetname: "{b}" label: "{name}.c:2:3" }}' for a, b in edges]
    path = tmp_path / f"{name}.ci"
    path.write_text("\n".join(lines + ["}"]) + "\n")
    return path


def test_deepest_path_plus_handler_frames_and_allowances(tmp_path):
    a = ci(tmp_path, "a", [("Reset_Handler", "8 bytes (static)"), ("main", "24 bytes (static)"),
                           ("a.c:small", "16 bytes (static)"), ("memcpy", "")],
           [("Reset_Handler", "main"), ("main", "a.c:small"), ("main", "big"), ("a.c:small", "memcpy")])
    b = ci(tmp_path, "b", [("big", "200 bytes (static)"), ("SysTick_Handler", "16 bytes (static)")], [])
    # main -> big (200) is deeper than main -> small -> memcpy (16 + 64)
    assert stack_bound([a, b]) == 8 + 24 + 200 + 16 + EXCEPTION_FRAME_BYTES + EXTERNAL_BYTES


@pytest.mark.parametrize("case", ["recursion", "indirect", "dynamic", "unknown callee"])
def test_no_bound_when_it_cannot_be_proven(tmp_path, case):
    nodes = [("Reset_Handler", "8 bytes (static)"), ("f", "8 bytes (static)")]
    edges = [("Reset_Handler", "f")]
    if case == "recursion":
        edges.append(("f", "Reset_Handler"))
    elif case == "indirect":
        nodes.append(("__indirect_call", ""))
        edges.append(("f", "__indirect_call"))
    elif case == "dynamic":
        nodes[1] = ("f", "8 bytes (dynamic,bounded)")
    else:
        edges.append(("f", "nowhere"))  # a callee neither defined nor declared in any call graph
    assert stack_bound([ci(tmp_path, "x", nodes, edges)]) is None


@needs_arm_gcc
def test_gcc_call_graph_is_read(tmp_path):
    src = tmp_path / "m.c"
    src.write_text("static __attribute__((noinline)) int leaf(volatile int *p) { int b[16]; b[*p & 15] = 1; "
                   "return b[3]; }\nint main(void) { volatile int x = 0; return leaf(&x); }\n"
                   "void Reset_Handler(void) { main(); }\n")
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-O2", "-fcallgraph-info=su", "-c", str(src),
                    "-o", str(tmp_path / "m.o")], check=True)
    bound = stack_bound([tmp_path / "m.ci"])
    assert bound is not None and bound >= 64 + EXTERNAL_BYTES  # leaf's 16 ints at least
