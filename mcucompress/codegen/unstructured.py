"""Unstructured sparse weights in `compile`: the step-stream format, its cost model and scratch size.

Format (firmware/include/mcc_sparse.h, kernels in firmware/kernels/sparse/mcc_unstructured_s8.c): per output
channel (a row of K = KH*KW*C_in OHWI values, or an FC row) an int32 count Q, then Q quads of 8 bytes: four
int8 weights, then four uint8 byte steps. The kernels' column buffer holds `stride` bytes per filter index
(8: four output pixels or FC batch rows interleaved; 2: one FC row); an entry advances the column position by
its step and multiplies its weight with the value there. Gaps longer than 255 // stride indices are bridged
by weight-0 entries and the last quad of a row is padded with (0, 0) entries. 4 bytes per output channel +
2 bytes per entry, so the format is smaller than dense from about 51% sparsity on.

Why this format: 2 bytes per non-zero keep the flash below dense just above 50% sparsity, and the byte
steps cost one UXTAB each on Cortex-M4. codegen/us_packed.py keeps CONV_2D streams with 4-bit steps (1.5 bytes per
non-zero, the same instructions per quad, a few more per channel) where the plan's budget allows. The cost model's
constants below are fitted on QEMU; codegen/sparse.py's chooser uses them to pick this format per layer only where
it is predicted faster (with the N:M margin) and not bigger than dense.
"""

from __future__ import annotations

import numpy as np

FORMAT = "unstructured"
STRIDE_BLOCK = 8  # column bytes per filter index: four pixels / FC rows interleaved (int16)
STRIDE_ROW = 2  # one FC row (int16)
PIX = 4  # output pixels per block of mcc_convolve_us_s8

# ---------------------------------------------------------------------------------------------- cost model
# Instructions on Cortex-M4 (QEMU, -icount shift=0). Features: "quad" = blocks (or FC rows) x the stream's
# quads over all output channels, "col" / "col_scalar" = column values written (pixels rounded up to blocks
# x K, or FC rows x K) by the vector (C_in % 4 = 0) or the scalar path, "out" = blocks (or FC rows) x C_out,
# "tap" = blocks x KH x KW (the per-tap pointer set-up of the columns), "call" = 1. Fitted (least squares on relative error, negative terms dropped) by
#   .venv/bin/python bench/sparse_crossover.py --unstructured --fit
# (see that file for the layers measured).
COST = {
    # 75 layers (3x3 / 1x1 chains at 30-90%, ResNet-8 at 50/70/90%), max error 7.6%
    "conv_us": {"quad": 29.193, "col": 2.245, "col_scalar": 7.593, "out": 59.654, "tap": 169.277, "call": 5223.532},
    # 27 layers (FC chain at 30-90%, ResNet-8's FC), max error 1.8%
    "fc_us": {"quad": 17.005, "col_scalar": 5.858, "out": 75.322, "call": 155.897},
}


def stride_for(kind: str, rows: int) -> int:
    """Column stride of a layer: conv and FC with several batch rows run in blocks of four."""
    return STRIDE_ROW if kind == "fc" and rows == 1 else STRIDE_BLOCK


def _rows(weights: np.ndarray) -> np.ndarray:
    return weights.reshape(weights.shape[0], -1)


def max_gap(stride: int) -> int:
    """The longest index gap one entry spans: its step byte is gap x stride."""
    return 255 // stride


def row_entries(row: np.ndarray, stride: int, gap: int | None = None) -> int:
    """Entries (bridging ones included, padding excluded) of one row; `gap`: the longest gap an entry spans
    (default max_gap(stride); codegen/us_packed.py's 4-bit steps take 15)."""
    idx = np.flatnonzero(row)
    if idx.size == 0:
        return 0
    gaps = np.diff(idx, prepend=0)
    m = gap or max_gap(stride)
    return int(np.maximum(1, -(-gaps // m)).sum())


def quads(weights: np.ndarray, stride: int, gap: int | None = None) -> np.ndarray:
    """Quads per output channel."""
    return np.array([-(-row_entries(r, stride, gap) // 4) for r in _rows(weights)], np.int64)


def nbytes(weights: np.ndarray, stride: int) -> int:
    q = quads(weights, stride)
    return int(4 * q.size + 8 * q.sum())


def encode(weights: np.ndarray, stride: int, gap: int | None = None) -> np.ndarray:
    """The stream (int8 view of its bytes) of a filter; see the module docstring (`gap` as row_entries)."""
    m = gap or max_gap(stride)
    out = []
    for row in _rows(weights).astype(np.int64):
        ws, steps = [], []
        prev = 0
        for k in np.flatnonzero(row):
            gap = int(k) - prev
            while gap > m:
                ws.append(0)
                steps.append(m * stride)
                gap -= m
            ws.append(int(row[k]))
            steps.append(gap * stride)
            prev = int(k)
        pad = (-len(ws)) % 4
        ws += [0] * pad
        steps += [0] * pad
        q = len(ws) // 4
        body = np.zeros((q, 8), np.int64)
        if q:
            body[:, :4] = np.array(ws).reshape(q, 4)
            body[:, 4:] = np.array(steps).reshape(q, 4)
        out.append(np.array([q & 0xFF, (q >> 8) & 0xFF, (q >> 16) & 0xFF, q >> 24], np.int64))
        out.append(body.reshape(-1))
    return (np.concatenate(out) & 0xFF).astype(np.uint8).view(np.int8)


def quad_count(b: np.ndarray, at: int) -> int:
    """The int32 quad count at byte `at` of a stream's bytes (little-endian, as int64 values)."""
    return int(b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24)


def decode(stream: np.ndarray, stride: int, cout: int, k: int) -> np.ndarray:
    """[C_out, K] dense weights from a stream (the inverse of encode; used by the tests)."""
    b = stream.view(np.uint8).astype(np.int64)
    dense = np.zeros((cout, k), np.int64)
    at = 0
    for o in range(cout):
        q, at, pos = quad_count(b, at), at + 4, 0
        for _ in range(q):
            for j in range(4):
                w = ((b[at + j] + 128) & 0xFF) - 128
                step = int(b[at + 4 + j])
                assert step % stride == 0
                pos += step // stride
                dense[o, pos] += w
            at += 8
    assert at == b.size
    return dense


FEATURES = ["quad", "col", "col_scalar", "out", "tap", "call"]


def features(kind: str, rows: int, k: int, cout: int, total_quads: int, cin: int) -> tuple[str, list[float]]:
    """The cost-model key and features (FEATURES order) of a layer: rows = output pixels or FC batch rows,
    cin = the input depth the columns are gathered from (C_in, or the FC depth; K / cin = taps)."""
    if kind == "fc" and rows == 1:
        return "fc_us", [float(total_quads), 0.0, float(k), float(cout), 0.0, 1.0]
    blocks = -(-rows // PIX)
    cols = float(blocks * PIX * k)
    vector = cin % 4 == 0
    return "conv_us", [float(blocks * total_quads), cols if vector else 0.0, 0.0 if vector else cols,
                       float(blocks * cout), float(blocks * (k // cin)), 1.0]


def cost(kind: str, rows: int, k: int, cout: int, total_quads: int, cin: int) -> float:
    key, f = features(kind, rows, k, cout, total_quads, cin)
    return sum(COST[key].get(name, 0.0) * v for name, v in zip(FEATURES, f))


def scratch_bytes(kind: str, rows: int, k: int, cout: int, cin: int) -> int:
    """Mirror of mcc_convolve_us_s8_get_buffer_size / mcc_fully_connected_us_s8_get_buffer_size."""
    if kind == "fc":
        if rows > 1:
            return 16 * cout + STRIDE_BLOCK * k + ((k + 3) & ~3)
        return 16 * cout + ((STRIDE_ROW * k + 3) & ~3)
    return 16 * cout + STRIDE_BLOCK * k + ((cin + 3) & ~3)
