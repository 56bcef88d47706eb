"""Write a self-contained C project for one quantized graph: model, weights, the kernels it needs, build files.

Everything is written into a temporary sibling directory and renamed into place at the end, so a
failure never leaves a partial project behind. Output is deterministic: same graph, same bytes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcucompress import __version__
from mcucompress.codegen import arena as arena_mod
from mcucompress.codegen import bands, kernel_sources, layer_table, packed, sparse
from mcucompress.codegen.checks import PRELUDE as CHECK_PRELUDE
from mcucompress.codegen.checks import add_checks
from mcucompress.codegen.lower import lower_graph
from mcucompress.codegen.lower_recurrent import state_buffers
from mcucompress.codegen.records import CArray, KernelCall
from mcucompress.codegen.render import render_all
from mcucompress.codegen.shared_statics import share_statics
from mcucompress.codegen.variants import VARIANTS_HEADER, variants_header
from mcucompress.errors import McuError, UnsupportedOpError
from mcucompress.ir import Graph
from mcucompress.ir.serialize import graph_to_json
from mcucompress.passes import float_island
from mcucompress.plan.memory import MemoryPlan, plan_memory
from mcucompress.plan.order import order_for_memory


@dataclass
class CompiledModel:
    prefix: str
    files: dict[str, str]  # generated text files
    sources: list[str]  # kernel files relative to firmware/kernels
    calls: list[KernelCall]
    plan: MemoryPlan
    weights_bytes: int
    model_hash: str
    output_dtype: str = "int8"  # numpy dtype of the output values (int32 indices, bool bytes)

    def summary(self) -> dict:
        return {
            "prefix": self.prefix,
            "model_hash": self.model_hash,
            "weights_bytes": self.weights_bytes,
            "arena_bytes": self.plan.arena_bytes,
            "scratch_bytes": self.plan.scratch_bytes,
            "kernels": sorted({c.function for c in self.calls if c.function}),
            "layers": len(self.calls),
            "per_layer": [layer_summary(c) for c in self.calls],
        }


def layer_summary(call: KernelCall) -> dict:
    """One layer of `compile --json`: kernel, weight format and bytes; for CONV_2D / FULLY_CONNECTED the
    cost model's instruction estimate (codegen/sparse.py; measured instructions come from `run`)."""
    row = {"index": call.index, "name": call.op_name, "kind": call.kind, "function": call.function,
           "macs": int(call.macs), "weight_bytes": sum(a.nbytes for a in call.arrays)}
    if call.sparse is not None:
        choice = call.sparse
        row.update(format=choice.format, sparsity=round(choice.sparsity, 4), nm_pattern=choice.pattern,
                   filter_bytes=choice.weight_bytes, dense_filter_bytes=choice.dense_bytes,
                   instructions_estimate=choice.instructions, dense_instructions_estimate=choice.dense_instructions,
                   format_reason=choice.reason)
    return row


def _plan_order_and_bands(graph: Graph, io_in_arena: bool) -> tuple[Graph, tuple]:
    """The op order (plan/order.py) and the residual blocks run in row bands (codegen/bands.py) that make the
    arena smallest: bands chosen, then ops reordered with the bands chosen again for every order tried (a move can
    pay only with other bands: the 2:4 ResNet-8's shortcut run first lets its first block take smaller bands,
    42,640 -> 36,128 B)."""
    def arena(g: Graph, blocks: tuple) -> int:
        return plan_memory(g, bands.scratch_sizes(g, blocks), io_in_arena=io_in_arena, bands=blocks).arena_bytes

    def banded(g: Graph, start: tuple) -> tuple:
        return bands.choose(g, lambda bs: arena(g, bs), start)

    blocks = banded(graph, ())
    graph = order_for_memory(graph, lambda g: arena(g, banded(g, blocks)))
    return graph, banded(graph, blocks)


def graph_hash(graph: Graph) -> str:
    h = hashlib.sha256(json.dumps(graph_to_json(graph), sort_keys=True).encode())
    for t in graph.tensors.values():
        if t.is_const:
            h.update(np.ascontiguousarray(t.data).tobytes())
    return h.hexdigest()


OUTPUT_DTYPES = ("int8", "int32", "bool")  # int32: ARG_MAX indices; bool: comparisons (one byte, 0 or 1)


def _io(graph: Graph, name: str) -> dict:
    """A model input's or output's facts for the templates: C type, size in values and bytes, quantization."""
    from mcucompress.codegen.lower import C_TYPES

    t = graph.t(name)
    quantized = t.dtype == "int8" and t.quant is not None
    return {"size": t.size, "bytes": t.nbytes, "dtype": t.dtype, "ctype": C_TYPES[t.dtype], "dims": list(t.shape),
            "quantized": quantized, "scale": repr(float(t.quant.s)) if quantized else "1.0",
            "zero_point": t.quant.zp if quantized else 0}


def input_layout_doc(graph: Graph) -> list[str]:
    """Lines of the model header's comment on the input's memory layout (and the file's declared one)."""
    from mcucompress.dataset import layout_names

    t = graph.t(graph.inputs[0])
    declared, ir = layout_names(graph.input_perm())
    shape = f"[{', '.join(map(str, t.shape))}]"
    lines = [f"Input: {t.dtype}, {ir + ' ' if ir else ''}shape {shape}, row-major (last axis fastest)."]
    if declared and declared != ir:
        lines.append(f"The model file declared this input {declared} "
                     f"[{', '.join(map(str, graph.declared_input_shape()))}]: transpose {declared} data to {ir} "
                     "before calling invoke.")
    return lines


def compile_graph(graph: Graph, prefix: str, dsp: bool = True, sparse_kernels: bool | str = True,
                  checks: bool = False, arena: str = "static", arena_section: str | None = None,
                  io: str = "arena", mve: bool = False, packed_ram: int = 0) -> CompiledModel:
    """Lower, plan and render `graph`. `dsp`: the target has the DSP extension (sparse N:M kernels only pay
    there); `sparse_kernels`: allow them at all (codegen/sparse.py chooses per layer), or a format ("dense",
    "2:4", "1:4", "unstructured", "unstructured-packed", "packed", "packed/2", "packed/4") to force wherever the
    weights allow it (benchmarks); `checks`: the
    debug build that asserts every tensor extent before each kernel (codegen/checks.py); `arena`: "static" (an array of the model,
    in the linker section `arena_section` if given) or "caller" (invoke takes the buffer; codegen/arena.py);
    `io`: "arena" (the input and output tensors are planned into the arena, as TFLM does; the caller may
    fill and read them in place) or "separate" (they live only in the caller's buffers); `mve`: the target has
    Helium, whose kernel paths read plain filters (no dual-row layout, codegen/dual_rows.py); `packed_ram`: bytes
    the arena may grow by to hold packed filters unpacked (codegen/packed.py; default 0: only where they fit)."""
    arena_mod.check_options(arena, arena_section, io)
    if packed_ram < 0:
        raise McuError(f"--packed-ram {packed_ram}: give the bytes the arena may grow by, 0 or more")
    force = sparse_kernels if isinstance(sparse_kernels, str) else None
    with sparse.target(dsp=dsp, enabled=bool(sparse_kernels), force=force, mve=mve):
        return _compile_graph(graph, prefix, checks, arena, arena_section, io == "arena", packed_ram)


def _compile_graph(graph: Graph, prefix: str, checks: bool, arena: str, arena_section: str | None,
                   io_in_arena: bool, packed_ram: int) -> CompiledModel:
    if not graph.is_quantized:
        raise UnsupportedOpError(
            f"model '{graph.name}' is float32; quantize it first (give --calibration DATA.npz) to compile it to int8 C"
        )
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedOpError(f"model '{graph.name}' has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; "
                                 "only single-input single-output models are supported")
    for name, allowed in [(n, ("int8",)) for n in graph.inputs] + [(n, OUTPUT_DTYPES) for n in graph.outputs]:
        if graph.t(name).dtype not in allowed:
            hint = ("; quantize the float model with --activations int16 (int16 inside, int8 input and output)"
                    if graph.t(name).dtype == "int16" else "")
            raise UnsupportedOpError(f"model {'input' if allowed == ('int8',) else 'output'} '{name}' is "
                                     f"{graph.t(name).dtype}; the generated C takes {' or '.join(allowed)}{hint}")
    graph = float_island.fold(graph)  # int8 -> DEQUANTIZE -> float element-wise ops -> QUANTIZE: one int8 table
    graph, blocks = _plan_order_and_bands(graph, io_in_arena)
    tgt = sparse.current_target()

    def arena_packed(names: dict) -> int:
        tgt.packed = names
        return plan_memory(graph, bands.scratch_sizes(graph, blocks), io_in_arena=io_in_arena, bands=blocks).arena_bytes

    # pruned layers no sparse kernel speeds up: flash, paid for by the sparse layers' saved instructions
    tgt.packed = packed.plan(graph, blocks, tgt, arena_packed, packed_ram, tgt.unpacked_why)
    sizes = bands.scratch_sizes(graph, blocks)
    plan = plan_memory(graph, sizes, io_in_arena=io_in_arena, bands=blocks)
    calls = lower_graph(graph, plan, prefix)
    if checks:
        add_checks(graph, plan, calls, prefix, sizes)
    caller = arena == "caller"
    if caller:
        arena_mod.move_arena_statics(calls, prefix)
    arrays: list[CArray] = [a for c in calls for a in c.arrays]
    statics = share_statics(calls)  # equal parameter structs defined once
    functions = {c.function for c in calls if c.function} | {h for c in calls for h in c.helpers}
    sources = kernel_sources.sources_for(functions)
    weights_bytes = sum(a.nbytes for a in arrays)
    model_hash = graph_hash(graph)
    output = _io(graph, graph.outputs[0])
    context = {
        "version": __version__,
        "model_name": graph.name,
        "model_hash": model_hash,
        "summary": f"{len(calls)} layers, {sum(c.macs for c in calls):,} MACs, weights {weights_bytes:,} B, "
        f"arena {plan.arena_bytes:,} B",
        "prefix": prefix,
        "PREFIX": prefix.upper(),
        "calls": calls,
        "arrays": arrays,
        "statics": statics,
        "sources": sources,
        "unscheduled": kernel_sources.unscheduled(sources),
        "for_size": kernel_sources.for_size(sources),
        "arena_bytes": plan.arena_bytes,
        "scratch_bytes": plan.scratch_bytes,
        "weights_bytes": weights_bytes,
        "macs": sum(c.macs for c in calls),
        "input": _io(graph, graph.inputs[0]),
        "input_layout": input_layout_doc(graph),
        "output": output,
        "check_prelude": CHECK_PRELUDE if checks else [],
        "arena_caller": caller,
        "arena_section": arena_section or "",
        "arena_align": arena_mod.ALIGN,
        "arena_decl": "" if caller else arena_mod.declaration(prefix, plan.arena_bytes, arena_section),
        "invoke_params": f"const int8_t *input, {output['ctype']} *output" + (", uint8_t *arena" if caller else ""),
        "output_cast": "" if output["ctype"] == "int8_t" else f"({output['ctype']} *)",
        "invoke_args": "input, output" + (", arena" if caller else ""),
        "io_in_arena": io_in_arena,
        "input_offset": plan.tensors[graph.inputs[0]].offset,
        "output_offset": plan.tensors[graph.outputs[0]].offset,
        "io_spare": arena_mod.io_spare(plan.arena_bytes, [
            (plan.tensors[n].offset, graph.t(n).nbytes) for n in (graph.inputs[0], graph.outputs[0])])
        if io_in_arena else (0, 0),
        "arena_param": "uint8_t *arena" if caller else "void",
        "kernel_files": [f"mcc/kernels/{s}" for s in sources],
        "states": state_buffers(graph, prefix),
        "layer_loop": layer_table.plan(calls, prefix, caller),  # invoke as a loop over per-kernel argument tables  # recurrent state: static arrays outside the arena
    }
    files = render_all(context, prefix)
    files[VARIANTS_HEADER] = variants_header(calls, sources)  # replaces firmware/include's (which carries every variant)
    return CompiledModel(prefix, files, sources, calls, plan, weights_bytes, model_hash, output["dtype"])


def write_project(model: CompiledModel, outdir: str | Path, force: bool = False) -> Path:
    """Write the project to `outdir` atomically; refuses a non-empty directory unless `force`."""
    outdir = Path(outdir).resolve()
    if outdir.exists() and not outdir.is_dir():
        raise McuError(f"{outdir}: exists and is not a directory; choose another -o OUTDIR")
    if outdir.is_dir() and any(outdir.iterdir()) and not force:
        raise McuError(f"{outdir}: directory is not empty; pass --force to replace it or choose another -o OUTDIR")
    parent = outdir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=parent))
    except OSError as exc:
        raise McuError(f"{outdir}: cannot write there ({exc.strerror}); choose a writable -o OUTDIR") from None
    try:
        for name, text in model.files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)
        include = tmp / "mcc" / "include"
        include.mkdir(parents=True, exist_ok=True)
        for header in kernel_sources.headers():
            if f"mcc/include/{header.name}" not in model.files:  # the model's own mcc_variants.h stays
                shutil.copyfile(header, include / header.name)
        for src in model.sources:
            dst = tmp / "mcc" / "kernels" / src
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(kernel_sources.kernels_root() / src, dst)
        (tmp / "memory_plan.txt").write_text(model.plan.picture() + "\n")
        tmp.chmod(0o755)
        _replace_dir(tmp, outdir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise McuError(f"{outdir}: cannot write the project ({exc.strerror or exc}); nothing was left behind; free "
                       "space or choose a writable -o OUTDIR") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return outdir


def _replace_dir(new: Path, outdir: Path) -> None:
    """Rename `new` to `outdir`, first moving any existing `outdir` aside under a unique name (then deleting
    it): two `compile --force` runs on one folder both succeed, the last one's project stays."""
    trash = []
    try:
        for _ in range(20):
            if outdir.exists():
                aside = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.old.", dir=outdir.parent))
                try:
                    outdir.rename(aside)  # onto the empty directory: atomic on POSIX
                except FileNotFoundError:
                    pass  # another run moved it first
                trash.append(aside)
            try:
                new.rename(outdir)
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
        raise McuError(f"{outdir}: another process keeps writing this folder; try again")
    finally:
        for t in trash:
            shutil.rmtree(t, ignore_errors=True)
