"""Packed step streams in `compile`: the unstructured format with 4-bit steps, read by its kernel as it is.

Format (firmware/include/mcc_sparse.h, kernel mcc_convolve_us_packed_s8 in firmware/kernels/sparse/
mcc_unstructured_s8.c): the step stream of codegen/unstructured.py (CONV_2D, column stride 8) with index gaps of
at most GAP (longer ones bridged by weight-0 entries), its quads stored two by two as a gap word (byte j: entry j's
gap of the first quad in bits 0-3, of the second in bits 4-7) and the two quads' weight words; an odd last quad
is a gap word and a weight word. 1.5 bytes per entry instead of 2.

Why this shape: at 50-60% zeros the byte-step stream is barely smaller than the dense filter (ResNet-8's
64 -> 64 layer at 60%: 29,920 B against 36,864), while its kernel is the only one faster than dense. A gap word
serves two quads: one AND with a shifted operand (the mask in a register) turns it into the four step bytes
(gap x 8) the kernel's UXTABs add, so a quad costs what it costs with byte steps (29 instructions per four entries
and four pixels), and nothing is expanded into RAM; only the channel loop costs ~10 instructions more per block.
codegen/packed.py's plan chooses it like a packed filter: where the sparse layers' saved instructions pay for it.
"""

from __future__ import annotations

import numpy as np

from mcucompress.codegen import unstructured
from mcucompress.ir import Graph, Op

FORMAT = "unstructured-packed"
FUNCTION = "mcc_convolve_us_packed_s8"
GAP = 15  # the longest index gap of a 4-bit step
STRIDE = unstructured.STRIDE_BLOCK  # conv columns: 8 bytes per filter index
# Instructions on Cortex-M4 (QEMU, -icount shift=0) beyond the byte-step kernel's (unstructured.COST["conv_us"]), per
# block of four pixels and output channel: a quad costs the same (two quads share a load and a loop test, each
# spends one AND with a shifted operand on its steps: 58 instructions a pair against 29 a quad), but the channel
# loop takes the pair count and the odd-quad test and keeps the mask in a register (two more spills). ResNet-8
# pruned to 50% with every conv forced to each format, mps2-an386: 9 layers, +10,280 to +43,040 instructions,
# 9.8-10.9 per block and channel (the first layer's 10.5, with 3 input channels).
CHANNEL_EXTRA = 10.0


def eligible(graph: Graph, op: Op) -> bool:
    """Whether a layer can take the packed stream: a CONV_2D (the FC kernels read byte steps only)."""
    return op.kind == "CONV_2D"


def encode(weights: np.ndarray) -> np.ndarray:
    """The packed stream (int8 view of its bytes) of a CONV_2D filter (OHWI)."""
    plain = unstructured.encode(weights, STRIDE, GAP).view(np.uint8).astype(np.int64)
    out, at = [], 0
    for _ in range(weights.shape[0]):
        q = unstructured.quad_count(plain, at)
        out.append(plain[at:at + 4])
        body = plain[at + 4:at + 4 + 8 * q].reshape(q, 8)
        at += 4 + 8 * q
        gaps = body[:, 4:] // STRIDE
        for first in range(0, q, 2):
            word = gaps[first].copy()
            if first + 1 < q:
                word |= gaps[first + 1] << 4
            out += [word, body[first, :4]] + ([body[first + 1, :4]] if first + 1 < q else [])
    return (np.concatenate(out) & 0xFF).astype(np.uint8).view(np.int8)


def decode(stream: np.ndarray, cout: int, k: int) -> np.ndarray:
    """[C_out, K] dense weights from a packed stream (the inverse of encode; used by the tests)."""
    b = stream.view(np.uint8).astype(np.int64)
    dense = np.zeros((cout, k), np.int64)
    at = 0
    for o in range(cout):
        q, at, pos = unstructured.quad_count(b, at), at + 4, 0
        for first in range(0, q, 2):
            gaps = b[at:at + 4]
            pair = first + 1 < q
            for shift, w in [(0, b[at + 4:at + 8])] + ([(4, b[at + 8:at + 12])] if pair else []):
                for j in range(4):
                    pos += int(gaps[j] >> shift) & 15
                    dense[o, pos] += ((w[j] + 128) & 0xFF) - 128
            at += 12 if pair else 8
    assert at == b.size
    return dense


def nbytes(weights: np.ndarray) -> int:
    """Flash of the packed stream."""
    q = unstructured.quads(weights, STRIDE, GAP)
    return int(4 * q.size + 12 * (q // 2).sum() + 8 * (q & 1).sum())


def quads(weights: np.ndarray) -> int:
    """Quads over all output channels (bridges of gaps over GAP included)."""
    return int(unstructured.quads(weights, STRIDE, GAP).sum())


def cost(rows: int, k: int, cout: int, cin: int, weights: np.ndarray) -> float:
    """Predicted instructions of the layer (rows = output pixels) with the packed stream."""
    q = quads(weights)
    blocks = -(-rows // unstructured.PIX)
    return unstructured.cost("conv", rows, k, cout, q, cin) + CHANNEL_EXTRA * blocks * cout


def apply(lowering, index: int, op: Op, call, weights):
    """Replace the dense weights array (`weights`) of an unstructured CONV_2D call by the packed stream."""
    from mcucompress.codegen.records import ArrayArg, CArray, CStatic, StructArg

    w = lowering.graph.t(op.inputs[1])
    stream = CArray(lowering.sym(index, "usp_stream"), "int8_t", encode(w.data),
                    f"{w.name} {list(w.shape)} as a packed step stream (4-bit steps, mcc_sparse.h)")
    filt = CStatic("mcc_us_filter", lowering.sym(index, "us_filter"), [("stride", str(STRIDE)), ("stream", stream.name)])
    call.function = FUNCTION
    call.arrays = [stream if a is weights else a for a in call.arrays]
    call.args = [StructArg(filt) if a == ArrayArg(weights) else a for a in call.args]
    call.statics.append(filt)
    return call
