"""Residual blocks run in row bands (firmware/include/mcc_bands.h; mcc_residual_bands_s8, and _nm_s8 where a
convolution runs N:M sparse): conv -> conv -> ADD with the block input, where neither convolution's whole output
is ever in RAM.

Layer by layer, ResNet-8's first block holds its input x and conv1's output (16 KB each) at once, plus conv2's
output written over conv1's at a lag and the ADD's tables: 35,344 B, the model's peak. In bands of output rows
it holds x (the ADD writes the block's output over it), the conv1 rows one band reads, one band of conv2's
output and the kernels' scratch. The graph does not change: conv1 and conv2 keep their records (their weights
and parameters, their variants) but no code of their own, and the ADD's layer runs the block; their outputs are
planned nowhere (plan/liveness.py). Whether a block runs in bands, and how many, is the planner's choice: the
arena it gives (choose).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from mcucompress.ir import Graph, Op

BAND_COUNTS = (2, 4, 8, 16)  # bands tried per block
BANDED_FORMATS = ("dense", "2:4", "1:4")  # mcc_convolve_s8 and mcc_convolve_nm_s8 take row windows
ARENA_SLACK = 0.10  # fewer bands are kept while their arena is within this fraction of the smallest


@dataclass(frozen=True, eq=False)
class Block:
    conv1: Op
    conv2: Op
    add: Op
    x: str  # the block input, overwritten by its output
    y1: str  # conv1's output: rows in the scratch
    y2: str  # conv2's output: one band in the scratch
    out: str
    rows: int = 0  # output rows per band

    @property
    def ops(self) -> tuple[Op, Op, Op]:
        return self.conv1, self.conv2, self.add


def index_of(graph: Graph, op: Op) -> int:
    return next(i for i, o in enumerate(graph.ops) if o is op)


def find(graph: Graph) -> list[Block]:
    """Every conv -> conv -> ADD(x, ...) block mcc_residual_bands_s8 runs exactly (its docstring's conditions)."""
    from mcucompress.codegen.lower import _conv_function

    consumers: dict[str, list[Op]] = {}
    for op in graph.ops:
        for n in op.inputs:
            consumers.setdefault(n, []).append(op)
    ends = set(graph.inputs) | set(graph.outputs)
    blocks = []
    for add in graph.ops:
        if add.kind != "ADD" or len(add.inputs) != 2:
            continue
        for k in (0, 1):
            x, y2 = add.inputs[k], add.inputs[1 - k]
            conv2, conv1 = graph.producer(y2), None
            if conv2 is not None and conv2.kind == "CONV_2D":
                conv1 = graph.producer(conv2.inputs[0])
            if conv1 is None or conv1.kind != "CONV_2D" or conv1.inputs[0] != x:
                continue
            y1, out = conv2.inputs[0], add.outputs[0]
            if ({x, y1, y2, out} & ends or [id(o) for o in consumers.get(x, [])] != [id(conv1), id(add)]
                    or len(consumers.get(y1, [])) != 1 or len(consumers.get(y2, [])) != 1):
                continue
            shapes = {graph.t(n).shape for n in (x, y2, out)}
            if len(shapes) != 1 or any(graph.t(n).dtype != "int8" for n in (x, y1, y2, out)):
                continue
            (n, h, w, c), c1 = graph.t(x).shape, graph.t(y1).shape[-1]
            convs = (conv1, conv2)
            if (n != 1 or w % 2 or (w * c) % 4 or (w * c1) % 4 or graph.t(y1).shape[1:3] != (h, w)
                    or any(_conv_function(graph, o) != "mcc_convolve_s8" or _format(graph, o) not in BANDED_FORMATS
                           for o in convs)
                    or any((o.attrs.stride_h, o.attrs.stride_w, o.attrs.dilation_h, o.attrs.dilation_w) != (1, 1, 1, 1)
                           for o in convs)):
                continue
            kh2 = graph.t(conv2.inputs[1]).shape[1]
            if kh2 - 1 - conv2.attrs.pad_top < conv1.attrs.pad_top:
                continue  # a band's ADD would write over x rows the next band's conv1 reads
            blocks.append(Block(conv1, conv2, add, x, y1, y2, out))
            break
    return blocks


def _format(graph: Graph, op: Op) -> str:
    from mcucompress.codegen import sparse

    choice = sparse.choose(graph, op)
    return "dense" if choice is None else choice.format


def layout(graph: Graph, block: Block) -> dict[str, int]:
    """The scratch of a block in bands: conv1's ring of rows, conv2's band, either convolution's scratch, the
    ADD's (mcc_bands_params' fields and the total)."""
    from mcucompress.codegen.lower import addsub_scratch, scratch_size

    _, h, w, c = graph.t(block.x).shape
    c1 = graph.t(block.y1).shape[-1]
    kh2 = graph.t(block.conv2.inputs[1]).shape[1]
    rows = min(block.rows, h)
    ring_rows = min(rows + kh2 - 1, h)
    conv = max(scratch_size(graph, block.conv1), scratch_size(graph, block.conv2))  # dense or N:M kernel's
    add = addsub_scratch(graph, block.add)
    return {"band_rows": rows, "ring_rows": ring_rows, "conv_scratch": conv, "add_scratch": add,
            "total": ring_rows * w * c1 + rows * w * c + conv + add}


def scratch_sizes(graph: Graph, blocks: tuple[Block, ...]) -> dict[int, int]:
    """lower.scratch_sizes with each block's scratch on its ADD and none on its convolutions."""
    from mcucompress.codegen.lower import scratch_sizes as layer_sizes

    sizes = layer_sizes(graph)
    for b in blocks:
        for op in (b.conv1, b.conv2):
            sizes.pop(index_of(graph, op), None)
        sizes[index_of(graph, b.add)] = layout(graph, b)["total"]
    return sizes


def choose(graph: Graph, arena_bytes: Callable[[tuple[Block, ...]], int],
           current: tuple[Block, ...] = ()) -> tuple[Block, ...]:
    """Per block in order (the others as chosen so far): no bands where they do not make the arena smaller, else
    the fewest bands whose arena is within ARENA_SLACK of the smallest any band count gives: every band repeats
    the convolutions' set-up (ic, mps2-an386: 4 bands, 29,024 B of arena and +12k instructions against the
    layers; 8 bands would give 27,168 B). `current`: the choice to start from."""
    chosen = {id(b.add): b for b in current}
    for block in find(graph):
        others = tuple(b for k, b in chosen.items() if k != id(block.add))
        h = graph.t(block.x).shape[1]
        options = [None] + [replace(block, rows=rows) for rows in sorted({-(-h // n) for n in BAND_COUNTS}, reverse=True)]
        sizes = [arena_bytes(others + ((o,) if o is not None else ())) for o in options]
        pick = None if sizes[0] <= min(sizes) else next(
            o for o, size in zip(options[1:], sizes[1:]) if size < sizes[0] and size <= min(sizes) * (1 + ARENA_SLACK))
        if pick is not None:
            chosen[id(block.add)] = pick
        else:
            chosen.pop(id(block.add), None)
    return tuple(chosen.values())


def lower_part(lowering, index: int, op: Op, block: Block, call):
    """A block layer's record: conv1 and conv2 become layers without code that carry their weights and
    parameters (`parts`: their variants count), the ADD's layer the mcc_residual_bands_s8 call over them."""
    from mcucompress.codegen.records import CStatic, KernelCall, StructArg, TensorArg

    add_index = index_of(lowering.graph, block.add)
    if op is not block.add:
        lowering.band_parts[id(op)] = call
        used = [a.static for a in call.args[1:8] if isinstance(a, StructArg) and a.static.ctype != "mcc_dims"]
        used.insert(2, call.args[5].static)  # params, quant, filter dims (and an N:M filter's record struct)
        return KernelCall(index, op.name, op.kind, "", [], statics=used, arrays=call.arrays, macs=0,
                          note=f"runs in layer {add_index}'s {band_count(lowering.graph, block)} row bands",
                          parts=[call])
    conv1, conv2 = (lowering.band_parts.pop(id(o)) for o in (block.conv1, block.conv2))
    g = lowering.graph
    fields = layout(g, block)
    x_first = int(block.add.inputs[0] == block.x)
    sparse = [int(c.function == "mcc_convolve_nm_s8") for c in (conv1, conv2)]
    bands = CStatic("mcc_bands_params", lowering.sym(index, "bands"),
                    [("band_rows", str(fields["band_rows"])), ("x_first", str(x_first)),
                     ("ring_rows", str(fields["ring_rows"])), ("conv_scratch", str(fields["conv_scratch"])),
                     ("add_scratch", str(fields["add_scratch"])), ("sparse1", str(sparse[0])),
                     ("sparse2", str(sparse[1]))])
    ctx = lowering.scratch_ctx(index, fields["total"])
    dims = lowering.dims_static(index, "dims", g.t(block.x).shape)
    add_params = call.args[1].static
    args = [StructArg(ctx), StructArg(bands), *(c.args[k] for c in (conv1, conv2) for k in (1, 2, 5, 6, 7)),
            StructArg(add_params), StructArg(dims), TensorArg(block.x, lowering.ptr(block.x))]
    function = "mcc_residual_bands_nm_s8" if any(sparse) else "mcc_residual_bands_s8"
    return KernelCall(index, op.name, op.kind, function, args, statics=[ctx, bands, dims, add_params],
                      macs=conv1.macs + conv2.macs + call.macs, parts=[call],
                      note=f"with layers {index_of(g, block.conv1)} and {index_of(g, block.conv2)}, "
                           f"in {band_count(g, block)} row bands")


def band_count(graph: Graph, block: Block) -> int:
    h = graph.t(block.x).shape[1]
    return -(-h // block.rows)
