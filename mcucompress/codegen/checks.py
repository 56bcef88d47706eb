"""Bounds assertions for the debug build of a generated project (`compile --checks`).

Before each kernel call, the generated C asserts that every tensor the call reads or writes, and its
scratch buffer, lies inside the arena (or inside the caller's input/output buffer), and that the extent
the kernel will write, as its own dimension structs say at run time, fits the output tensor's planned
region. A failed assertion makes `<prefix>_invoke` return MCC_BOUNDS_ERROR naming the layer instead of
letting a kernel corrupt memory: defence in depth behind the verifier, for an inconsistency it missed.
"""

from __future__ import annotations

from mcucompress.codegen.calls import parameter_names
from mcucompress.codegen.records import KernelCall
from mcucompress.ir import Graph
from mcucompress.plan.memory import MemoryPlan

PRELUDE = [
    "/* compile --checks: every tensor extent is asserted inside its buffer before each kernel runs. */",
    "#include <stddef.h>",
    "#define MCC_CHECK(cond) do { if (!(cond)) { return MCC_BOUNDS_ERROR; } } while (0)",
    ("#define MCC_CHECK_IN(ptr, bytes, base, size) MCC_CHECK((const int8_t *)(ptr) >= (const int8_t *)(base) && "
     "(size_t)(bytes) <= (size_t)(size) && (size_t)((const int8_t *)(ptr) - (const int8_t *)(base)) <= "
     "(size_t)(size) - (size_t)(bytes))"),
]


def _written(call: KernelCall) -> str | None:
    """The bytes the kernel writes, as a C expression over its own run-time parameters (None: not known here)."""
    out_dims = next((s.name for s in call.statics if s.name.endswith("_out_dims")), None)
    if out_dims:
        return f"(size_t){out_dims}.n * {out_dims}.h * {out_dims}.w * {out_dims}.c"
    bcast = next((s.name for s in call.statics if s.name.endswith("_bcast")), None)
    if bcast:
        return f"(size_t){bcast}.out.n * {bcast}.out.h * {bcast}.out.w * {bcast}.out.c"
    names = parameter_names(call)
    if names[1:3] == ("rows", "depth"):
        return f"(size_t){call.int_arg(1)} * {call.int_arg(2)}"  # softmax-like: rows of depth values
    if "size" in names:
        return f"(size_t){call.int_arg(names.index('size'))}"  # element-wise kernels and copies: `size` values
    return None


def _region(graph: Graph, plan: MemoryPlan, prefix: str, name: str) -> tuple[str, str, str, int]:
    """(pointer, base, base size, tensor bytes) of a tensor the generated code addresses."""
    loc, nbytes = plan.tensors[name], graph.t(name).nbytes
    if loc.home == "input":
        return "input", "input", f"{prefix.upper()}_INPUT_SIZE", nbytes
    if loc.home == "output":
        return "output", "output", f"{prefix.upper()}_OUTPUT_BYTES", nbytes  # int32 indices: 4 bytes each
    return f"({prefix}_arena + {loc.offset})", f"{prefix}_arena", f"{prefix.upper()}_ARENA_SIZE", nbytes


def add_checks(graph: Graph, plan: MemoryPlan, calls: list[KernelCall], prefix: str, scratch: dict[int, int]) -> None:
    """Prepend the assertions to each call's `pre` statements."""
    for call, op in zip(calls, graph.ops):
        if not call.function:
            continue
        lines = []
        tensors = [("input", n) for n in op.inputs if n and n in plan.tensors] + [("output", n) for n in op.outputs]
        for k, (role, name) in enumerate(tensors):
            ptr, base, size, nbytes = _region(graph, plan, prefix, name)
            lines.append(f"MCC_CHECK_IN({ptr}, {nbytes}, {base}, {size});  /* layer {call.index}: {role} tensor {k} */")
        if call.index in plan.scratch:
            lines.append(f"MCC_CHECK_IN({prefix}_arena + {plan.scratch[call.index]}, {scratch.get(call.index, 0)}, "
                         f"{prefix}_arena, {prefix.upper()}_ARENA_SIZE);  /* {call.index}: scratch */")
        written = _written(call)
        if written is not None:
            ptr, base, size, nbytes = _region(graph, plan, prefix, op.outputs[0])
            lines.append(f"MCC_CHECK(({written}) <= {nbytes});  /* {call.index}: the kernel writes its output only */")
        call.pre[:0] = lines
