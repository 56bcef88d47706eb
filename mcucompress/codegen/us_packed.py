"""Packed step streams in `compile`: flash for the layers the unstructured kernel runs, paid in RAM.

Format (firmware/include/mcc_sparse.h, expansion in firmware/kernels/sparse/mcc_us_packed_s8.c): the step stream
of codegen/unstructured.py with gaps of at most GAP indices (longer ones bridged by weight-0 entries, as the
stream bridges gaps longer than 255 // stride), stored as one uint16 quad count per output channel, one word of
four weights per quad and one uint16 of four 4-bit gaps per quad (entries 0, 2, 1, 3 from bit 0 on: two masks then
place one per byte): 1.5 bytes per entry instead of 2. Before the layer's kernel runs, its call expands the stream
into the layer's scratch (about a dozen instructions per quad: EXPAND), and the unstructured kernel reads it there
unchanged, so results are bit-exact by construction.

Why: at 50-60% zeros the step stream is barely smaller than the dense filter (ResNet-8's 64 -> 64 layer at 60%:
30,688 B against 36,864), while the kernel reading it is the only one faster than dense. Reading 4-bit steps in
the kernel itself would cost an extract per entry and pixel block (~+237k instructions, +12% on that layer);
expanding them once costs 42,600. The price is the stream's size in RAM while the layer runs, so codegen/packed.py's
plan chooses it like a packed filter: paid by the sparse layers' saved instructions and only within the arena growth
allowed (`compile --packed-ram N`).
"""

from __future__ import annotations

import numpy as np

from mcucompress.codegen import unstructured
from mcucompress.codegen.packed import buffer_offset  # the same 16-byte aligned place after the kernel's scratch
from mcucompress.ir import Graph, Op

FORMAT = "unstructured-packed"
GAP = 15  # the longest index gap of a 4-bit step
# Expansion instructions on Cortex-M4 (QEMU, -icount shift=0), per quad and per output channel: ResNet-8 pruned to 50%
# (distilled), its 64 -> 64 layer (3,710 quads) expanded: +42,600 instructions on mps2-an386 (12 in the quad loop).
EXPAND = {"quad": 11.3, "row": 10.0, "call": 30.0}


def eligible(weights: np.ndarray, stride: int) -> bool:
    """Whether 4-bit steps can carry the filter: strides with GAP x stride <= 255, quad counts that fit a uint16."""
    return GAP * stride <= 255 and int(unstructured.quads(weights, stride, GAP).max(initial=0)) < 1 << 16


def encode(weights: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(quads per channel, weight words as int64 values of uint32, gap half-words) of a filter."""
    stream = unstructured.encode(weights, stride, GAP).view(np.uint8).astype(np.int64)
    counts, words, gaps, at = [], [], [], 0
    for _ in range(weights.shape[0]):
        q = int(stream[at] | stream[at + 1] << 8 | stream[at + 2] << 16 | stream[at + 3] << 24)
        body = stream[at + 4:at + 4 + 8 * q].reshape(q, 8)
        at += 4 + 8 * q
        counts.append(q)
        words.append((body[:, :4] << np.array([0, 8, 16, 24])).sum(axis=1))
        gaps.append(((body[:, 4:] // stride) << np.array([0, 8, 4, 12])).sum(axis=1))  # entries 0, 2, 1, 3
    return np.array(counts, np.int64), np.concatenate(words), np.concatenate(gaps)


def expanded(weights: np.ndarray, stride: int) -> np.ndarray:
    """The step stream the expansion writes (what mcc_unpack_us_stream must produce; the kernel reads it)."""
    return unstructured.encode(weights, stride, GAP)


def nbytes(weights: np.ndarray, stride: int) -> int:
    """Flash of the packed stream's three arrays."""
    return 2 * weights.shape[0] + 6 * int(unstructured.quads(weights, stride, GAP).sum())


def buffer_bytes(weights: np.ndarray, stride: int) -> int:
    """RAM of the expanded stream."""
    q = unstructured.quads(weights, stride, GAP)
    return int(4 * q.size + 8 * q.sum())


def expand_cost(weights: np.ndarray, stride: int) -> float:
    q = unstructured.quads(weights, stride, GAP)
    return EXPAND["quad"] * float(q.sum()) + EXPAND["row"] * q.size + EXPAND["call"]


def extra_scratch(graph: Graph, op: Op, kernel_scratch: int) -> int:
    """Scratch bytes a packed-stream layer needs beyond its kernel's (the expanded stream after it), else 0."""
    from mcucompress.codegen import sparse

    choice = sparse.choose(graph, op)
    if choice is None or choice.format != FORMAT:
        return 0
    return buffer_offset(kernel_scratch) - kernel_scratch + buffer_bytes(graph.t(op.inputs[1]).data,
                                                                         stride_of(graph, op))


def stride_of(graph: Graph, op: Op) -> int:
    from mcucompress.codegen import sparse

    shape = sparse.layer_shape(graph, op)
    return unstructured.stride_for(shape.kind, shape.rows)


def apply(lowering, index: int, op: Op, call, weights, kernel_scratch: int):
    """Replace the dense weights array (`weights`) of an unstructured call by the packed arrays, expanded into the
    layer's scratch before the call, whose filter argument then points there."""
    from mcucompress.codegen.records import ArrayArg, CArray, CStatic, LocalArg

    w = lowering.graph.t(op.inputs[1])
    stride = stride_of(lowering.graph, op)
    counts, words, gaps = encode(w.data, stride)
    arrays = [CArray(lowering.sym(index, "usp_quads"), "uint16_t", counts, f"{w.name}: quads per output channel"),
              CArray(lowering.sym(index, "usp_weights"), "uint32_t", words, f"{w.name}: four weights per quad"),
              CArray(lowering.sym(index, "usp_gaps"), "uint16_t", gaps, f"{w.name}: four 4-bit index gaps per quad")]
    packed = CStatic("mcc_us_packed_filter", lowering.sym(index, "us_packed"),
                     [("stride", str(stride)), ("rows", str(w.shape[0]))] + [(f, a.name) for f, a in
                                                                          zip(("quads", "weights", "gaps"), arrays)])
    offset = lowering.plan.scratch[index] + buffer_offset(kernel_scratch)
    call.pre += [f"int8_t *const expanded = (int8_t *)({lowering.prefix}_arena + {offset});",
                 f"mcc_unpack_us_stream(&{packed.symbol}, expanded);",
                 f"const mcc_us_filter us_filter = {{{stride}, expanded}};"]
    call.arrays = [a for a in call.arrays if a is not weights] + arrays
    call.statics.append(packed)
    call.args = [LocalArg("&us_filter") if a == ArrayArg(weights) else a for a in call.args]
    call.helpers.append("mcc_unpack_us_stream")
    return call
