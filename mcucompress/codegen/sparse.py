"""Sparse execution in `compile`: detect N:M or unstructured sparse weights, encode them, choose the format per layer.

Format (firmware/include/mcc_sparse.h): the filter rows of CONV_2D (OHWI, K = KH*KW*C_in per output
channel) and FULLY_CONNECTED are cut into groups of G consecutive values along K (the input-channel axis
innermost). 2:4 (G = 4, at most 2 non-zeros per 4) and 1:4 (G = 8, at most 1 non-zero in each half of 8)
store one *entry* per group: two int8 weights and a 4-bit index of the pair of positions they sit at,
packed two entries per 5-byte record: 0.625x (2:4) or 0.3125x (1:4) of the dense filter bytes.

Execution (DSP): per block of 4 output pixels a table of every input pair a group can select, then one SMLAD
per entry and pixel. A 2:4 CONV_2D with stride_w 1, no dilation and C_in % 8 == 0 (rows_fit) builds the table
per input row segment instead ("row tables", cost conv_nm4_rows over row_work's features), shared by all taps
and output rows that read it: ResNet-8's 16-channel 3x3 layers 3.10M -> 2.18M instructions each (dense 2.85M).

Unstructured zeros (any pattern) use the step-stream format and kernels of codegen/unstructured.py
(2 bytes per non-zero + 4 per output channel; zero-skipping, ~1.8 instructions per non-zero MAC on M4).

Choice. A layer runs sparse only when (1) it has zeros (N:M formats: the weights satisfy the pattern),
(2) the target has the DSP extension (the portable paths are bit-exact but not faster) and not Helium (the
dense kernels' MVE paths run at ~0.35 instructions per MAC, the sparse kernels have none), (3) the cost model
predicts at most margin() x the instructions of the best format so far (dense first, then the N:M pattern,
2:4, unstructured) and (4) the format is not bigger than the dense filter. So a sparse model is never
slower or bigger than the same model dense, up to the model's error (the benches check it on QEMU). Layers
left dense may then be packed (codegen/packed.py: a bitmask plus the non-zero bytes, unpacked before the dense
kernel) or run from a step stream with 4-bit steps (codegen/us_packed.py, a kernel of their own), and the
unstructured CONV_2D layers' streams kept with 4-bit steps, as far as the sparse layers' saved instructions pay.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

from mcucompress.codegen import dual_rows, packed, unstructured, us_packed
from mcucompress.ir import Graph, Op

NM_GROUPS = {"1:4": 8, "2:4": 4}  # format -> G of the pair-entry format
COMBOS = {4: 6, 8: 16}  # pairs one group can select
RECORD = 5  # bytes per two entries
PIX = 4  # output pixels per conv block of mcc_convolve_nm_s8

# 2:4 row tables (mcc_nm_s8.c, nm_convolve_rows): slot rows of ROW_POS positions, ROW_GROUP_BYTES per group
ROW_POS, ROW_MAX_KH = 16, 8
ROW_GROUP_BYTES = 6 * ROW_POS * 4


def rows_fit(group: int, cin: int, kh: int, kw: int) -> bool:
    """Mirror of nm_rows_fit: a 2:4 filter that can take the row tables (with stride_w 1 and no dilation)."""
    return group == 4 and cin % 8 == 0 and kw <= ROW_POS - 3 and kh <= ROW_MAX_KH


# 2:4 pairs (i, j) by combination index, as in mcc_nm_s8.c (nm_emit4 / nm_first4 / nm_second4)
PAIRS4 = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
PAIR4_INDEX = {p: c for c, p in enumerate(PAIRS4)}

# ---------------------------------------------------------------------------------------------- cost model
# Instructions on Cortex-M4 (QEMU, -icount shift=0), per unit of work. Measured by
#   .venv/bin/python bench/sparse_crossover.py --fit
# on mps2-an386 (the bench's layer chains plus MLPerf ResNet-8; least squares on relative error). Dense CONV_2D (both
# kernels: im2col + mcc_matmul.h): per MAC, per im2col value (pixels * K), per output; sparse N:M conv: per
# table group (pixels * groups), per entry and pixel (pixels * C_out * entries), per output. FC likewise,
# per row (batch) instead of per pixel.
COST = {  # least squares on relative error over 17 conv / 5 FC layers (3x3, 1x1 chains and ResNet-8); call >= 0
    "conv_dense": {"mac": 1.024, "col": 5.25, "out": 17.25, "call": 0.0},
    "conv_nm4": {"group": 33.25, "entry": 2.40, "out": 23.8, "call": 825.0},  # entry 2.45 before the offsets table
    # (nm_pixel_offsets: ResNet-8's 2:4 32 -> 64 stride-2 layer -27,640 instructions for 589,824 entry-pixels)
    # 2:4 row tables, per row_work's features (entry-pixel, group-position widened, block output, call): 12 layers
    # (ResNet-8's 3x3 stride-1 layers, the bench's 3x3 and 1x1 chains), least squares on relative error, max 4.9%;
    # then one instruction less a record (8 entry-pixels: the entries' offsets from a table), as measured on
    # ResNet-8's two 2:4 row-table layers (-69,640 and -71,680 for 73,728 records each)
    "conv_nm4_rows": {"entry": 2.757, "build": 13.31, "out": 19.42, "call": 21835.0},
    "conv_nm8": {"group": 104.3, "entry": 2.36, "out": 21.3, "call": 4648.0},
    "fc_dense": {"mac": 1.61, "col": 0.0, "out": 54.8, "call": 366.0},
    "fc_nm4": {"group": 14.5, "entry": 7.30, "out": 93.8, "call": 437.0},
    "fc_nm8": {"group": 70.2, "entry": 7.24, "out": 94.1, "call": 365.0},
}
# Dense CONV_2D with dual-row filters (DSP targets, codegen/dual_rows.py) per MAC: the same im2col and output
# terms, the product ~0.82 of the plain one (ResNet-8's 3x3 layers: 0.79-0.83, kws' 1x1 layers 0.85; mps2-an386).
DUAL_MAC = 0.82
# The conv fits are off by up to ~29% on single layers (first layers with C_in % 4 != 0 take other code
# paths in both kernels), so a layer goes sparse only when predicted at most MARGIN of its dense cost.
MARGIN = 0.9
# The unstructured fits are tighter (codegen/unstructured.py: conv max error 7.6%, FC 1.8%), so their margin
# is one minus that error: an FC at 80% sparsity predicted at 0.95x dense runs sparse (2.4x smaller) and
# is still measured below dense.
UNSTRUCTURED_MARGIN = {"conv": 0.92, "fc": 0.98}


def margin(kind: str, fmt: str) -> float:
    """How far below the best cost so far a format must be predicted to be chosen."""
    return UNSTRUCTURED_MARGIN[kind] if fmt == unstructured.FORMAT else MARGIN


@dataclass
class RowGeometry:
    """What the 2:4 row tables' work depends on (a CONV_2D with stride_w 1, no dilation, rows_fit)."""

    n: int
    h_out: int
    w_out: int
    stride_h: int
    pad_h: int
    kh: int
    kw: int
    cin: int


@dataclass
class Shape:
    """The work of one CONV_2D / FULLY_CONNECTED: rows = output pixels (conv) or batches (FC)."""

    kind: str  # "conv" or "fc"
    rows: int
    k: int  # values per output (KH * KW * C_in, or the FC depth)
    cout: int
    row_tables: RowGeometry | None = None  # set where a 2:4 filter takes the row tables


def dense_cost(s: Shape, dsp: bool = False) -> float:
    """Dense instructions of the layer; `dsp`: a conv takes dual-row filters where they pay."""
    c = COST[f"{s.kind}_dense"]
    mac = DUAL_MAC if dsp and s.kind == "conv" and dual_rows.pays(s.k) else c["mac"]
    return mac * s.rows * s.k * s.cout + c["col"] * s.rows * s.k + c["out"] * s.rows * s.cout + c["call"]


# Dense CONV_2D on Helium (kernels/conv/mcc_convolve_mve.c, mps3-an547): per output ~12 instructions (the
# im2col copy, the requantization, the block overheads) plus ~0.13 per value of K (VMLADAV over 16 values for
# three rows and two pixels). Fitted on MLPerf Tiny kws' and vww's dense layers (K = 16 to 64: within 16%).
MVE_CONV = {"out": 12.0, "k": 0.13}


def mve_dense_cost(s: Shape) -> float:
    """Dense instructions of a CONV_2D on a Helium target (the DSP cost model is far above its MVE path)."""
    return s.rows * s.cout * (MVE_CONV["out"] + MVE_CONV["k"] * s.k)


def row_work(s: Shape) -> list[float]:
    """Features of the 2:4 row-table path (mcc_nm_s8.c, nm_convolve_rows): entry-pixels (blocks of 4 x C_out x
    entries), group-positions widened into slots (ring misses x positions x C_in / 4), outputs of whole blocks."""
    g = s.row_tables
    seg = (ROW_POS - g.kw + 1) // 4 * 4
    widths = [min(seg, g.w_out - s0) for s0 in range(0, g.w_out, seg)]
    tags, misses = [None] * g.kh, 0
    for oy in range(g.h_out):
        for ky in range(g.kh):
            iy = oy * g.stride_h - g.pad_h + ky
            if tags[iy % g.kh] != iy:
                tags[iy % g.kh], misses = iy, misses + 1
    blocks = g.n * g.h_out * sum(-(-w // 4) for w in widths)
    builds = g.n * misses * sum(-(-w // 4) * 4 + g.kw - 1 for w in widths) * (g.cin // 4)
    return [blocks * 4 * s.cout * (s.k // 4), builds, blocks * 4 * s.cout, 1.0]


def nm_cost(s: Shape, group: int) -> float:
    if group == 4 and s.row_tables is not None:
        return float(np.dot(list(COST["conv_nm4_rows"].values()), row_work(s)))
    c = COST[f"{s.kind}_nm{group}"]
    groups = -(-s.k // group)
    entries = groups + (groups & 1)
    rows = -(-s.rows // PIX) * PIX if s.kind == "conv" else s.rows  # conv blocks compute 4 pixels
    return c["group"] * rows * groups + c["entry"] * rows * s.cout * entries + c["out"] * s.rows * s.cout + c["call"]


# ------------------------------------------------------------------------------------------- patterns


def rows_of(weights: np.ndarray) -> np.ndarray:
    """[C_out, K] view of an OHWI conv filter or an FC [units, depth] matrix."""
    return weights.reshape(weights.shape[0], -1)


def _groups(rows: np.ndarray, group: int) -> np.ndarray:
    """[C_out, groups, group] with the last group zero-padded."""
    cout, k = rows.shape
    pad = (-k) % group
    return np.pad(rows, ((0, 0), (0, pad))).reshape(cout, -1, group)


def nm_pattern(weights: np.ndarray) -> str | None:
    """The sparsest N:M format the weights satisfy along K ("1:4", "2:4"), or None."""
    rows = rows_of(weights)
    nz4 = (_groups(rows, 4) != 0).sum(axis=2)
    if np.all(nz4 <= 1):
        return "1:4"
    if np.all(nz4 <= 2):
        return "2:4"
    return None


def sparsity(weights: np.ndarray) -> float:
    return float(np.mean(weights == 0)) if weights.size else 0.0


def encode_nm(weights: np.ndarray, fmt: str) -> np.ndarray:
    """The records (int8 view of the bytes) of a filter in format `fmt` (see mcc_sparse.h)."""
    group = NM_GROUPS[fmt]
    g = _groups(rows_of(weights).astype(np.int64), group)
    cout, groups, _ = g.shape
    entries = groups + (groups & 1)
    lo = np.zeros((cout, entries), np.int64)
    hi = np.zeros((cout, entries), np.int64)
    combo = np.zeros((cout, entries), np.int64)
    if group == 4:
        nz = g != 0
        if np.any(nz.sum(axis=2) > 2):
            raise ValueError("weights are not 2:4 sparse")
        for o in range(cout):
            for e in range(groups):
                pos = list(np.flatnonzero(nz[o, e]))
                i, j = (pos + [p for p in range(4) if p not in pos])[:2]
                i, j = min(i, j), max(i, j)
                combo[o, e], lo[o, e], hi[o, e] = PAIR4_INDEX[(i, j)], g[o, e, i], g[o, e, j]
    else:
        first, second = g[:, :, :4], g[:, :, 4:]
        if np.any((first != 0).sum(axis=2) > 1) or np.any((second != 0).sum(axis=2) > 1):
            raise ValueError("weights are not 1:4 sparse")
        i = np.argmax(first != 0, axis=2)  # 0 when the half is all zero
        j = np.argmax(second != 0, axis=2)
        combo[:, :groups] = 4 * i + j
        lo[:, :groups] = np.take_along_axis(first, i[..., None], 2)[..., 0]
        hi[:, :groups] = np.take_along_axis(second, j[..., None], 2)[..., 0]
    rec = np.zeros((cout, entries // 2, RECORD), np.int64)
    rec[:, :, 0], rec[:, :, 1] = lo[:, 0::2], lo[:, 1::2]
    rec[:, :, 2], rec[:, :, 3] = hi[:, 0::2], hi[:, 1::2]
    rec[:, :, 4] = combo[:, 0::2] | (combo[:, 1::2] << 4)
    return (rec.reshape(-1) & 0xFF).astype(np.uint8).view(np.int8)


def decode_nm(records: np.ndarray, fmt: str, cout: int, k: int) -> np.ndarray:
    """[C_out, K] dense weights from records (the inverse of encode_nm; used by the tests)."""
    group = NM_GROUPS[fmt]
    groups = -(-k // group)
    entries = groups + (groups & 1)
    rec = records.view(np.uint8).astype(np.int64).reshape(cout, entries // 2, RECORD)
    s8 = lambda v: ((v + 128) & 0xFF) - 128
    lo = np.stack([s8(rec[:, :, 0]), s8(rec[:, :, 1])], axis=2).reshape(cout, entries)
    hi = np.stack([s8(rec[:, :, 2]), s8(rec[:, :, 3])], axis=2).reshape(cout, entries)
    combo = np.stack([rec[:, :, 4] & 15, rec[:, :, 4] >> 4], axis=2).reshape(cout, entries)
    dense = np.zeros((cout, entries * group), np.int64)
    for o in range(cout):
        for e in range(entries):
            c = int(combo[o, e])
            i, j = PAIRS4[c] if group == 4 else (c >> 2, 4 + (c & 3))
            dense[o, e * group + i] += lo[o, e]
            dense[o, e * group + j] += hi[o, e]
    return dense[:, :k]


# ----------------------------------------------------------------------------------------------- choice


@dataclass
class Target:
    """What the choice depends on besides the weights: DSP extension, and whether sparse is allowed at all."""

    dsp: bool = True
    enabled: bool = True
    force: str | None = None  # "dense", "2:4", "1:4", "unstructured", "unstructured-packed" or "packed" ("packed/N":
    # in N parts where allowed) wherever the weights allow it
    mve: bool = False  # Helium: the dense kernels' MVE paths read plain filters (no dual-row layout)
    packed: dict = field(default_factory=dict)  # output -> "packed" (bitmask; "packed/N": unpacked in N parts) or
    # "unstructured-packed" (4-bit step stream), the layers codegen/packed.py's plan keeps packed
    unpacked_why: dict = field(default_factory=dict)  # output -> why the plan left a packable layer dense


_TARGET = Target()


def current_target() -> Target:
    """The target choices are made for now (compile_graph sets it from the board)."""
    return _TARGET


@contextlib.contextmanager
def target(dsp: bool = True, enabled: bool = True, force: str | None = None, mve: bool = False):
    """Within the block, choices are made for this target (compile_graph sets it from the board)."""
    global _TARGET
    saved, _TARGET = _TARGET, Target(dsp, enabled, force, mve)
    try:
        yield
    finally:
        _TARGET = saved


@dataclass
class Choice:
    """The weight format of one CONV_2D / FULLY_CONNECTED layer and the cost model's view of it."""

    format: str  # "dense", "2:4", "1:4", "unstructured", "unstructured-packed" (4-bit steps) or "packed"
    sparsity: float  # fraction of zero weights
    pattern: str | None  # the N:M pattern the weights satisfy, chosen or not
    dense_bytes: int  # of the filter alone
    weight_bytes: int  # of the filter as stored
    dense_instructions: int  # cost model
    instructions: int  # cost model, chosen format
    reason: str

    def as_dict(self) -> dict:
        return dict(vars(self))


def layer_shape(graph: Graph, op: Op) -> Shape | None:
    if op.kind == "CONV_2D":
        w, out = graph.t(op.inputs[1]), graph.t(op.outputs[0])
        cout, kh, kw, cin = w.shape
        a = op.attrs
        rt = None
        if rows_fit(4, cin, kh, kw) and a.stride_w == 1 and a.dilation_w == 1 and a.dilation_h == 1:
            n, h_out, w_out, _ = out.shape
            rt = RowGeometry(n, h_out, w_out, a.stride_h, a.pad_top, kh, kw, cin)
        return Shape("conv", out.size // cout, int(np.prod(w.shape[1:])), cout, rt)
    if op.kind == "FULLY_CONNECTED":
        w, x = graph.t(op.inputs[1]), graph.t(op.inputs[0])
        units, depth = w.shape
        return Shape("fc", x.size // depth, depth, units)
    return None


def choose(graph: Graph, op: Op, tgt: Target | None = None, weights: np.ndarray | None = None) -> Choice | None:
    """The format of a CONV_2D / FULLY_CONNECTED layer (None for other ops). `weights`: symmetric int8 weights to
    judge instead of the layer's own (the pruner asks about a pattern it has not written yet)."""
    tgt = tgt or _TARGET
    shape = layer_shape(graph, op)
    if shape is None:
        return None
    w = graph.t(op.inputs[1])
    data = w.data if weights is None else weights
    dense_bytes = int(data.size)
    dense = round(mve_dense_cost(shape) if tgt.mve and shape.kind == "conv" else
                  dense_cost(shape, tgt.dsp and not tgt.mve))
    base = Choice("dense", sparsity(data), None, dense_bytes, dense_bytes, dense, dense, "")
    asymmetric = w.quant is not None and np.any(np.asarray(w.quant.zero_point) != 0)
    if weights is None and (w.dtype != "int8" or asymmetric):
        base.reason = "asymmetric or non-int8 weights"
        return base
    if "int16" in (graph.t(op.inputs[0]).dtype, graph.t(op.outputs[0]).dtype):
        base.reason = "int16 activations: the 16x8 kernels are dense"  # (lower_int16.py lowers them, never sparse)
        return base
    base.pattern = nm_pattern(data)
    if base.sparsity == 0:
        base.reason = "no zeros"
        return base
    if not tgt.enabled:
        base.reason = "sparse execution disabled"
        return base
    if not tgt.dsp:
        base.reason = "no DSP extension: the portable sparse paths are not faster"
        return base
    options = ([base.pattern] + (["2:4"] if base.pattern == "1:4" else [])) if base.pattern else []
    if tgt.mve and tgt.force is None:  # ResNet-8 2:4 on mps3-an547: 11.19M instructions against 4.39M dense
        options = []  # the N:M kernels have DSP paths only: the dense MVE paths are faster
        base.reason = "Helium: the dense kernels' MVE paths are faster than the N:M kernels (DSP paths only)"
    options.append(unstructured.FORMAT)  # any zeros: the step stream (codegen/unstructured.py)
    force = unstructured.FORMAT if tgt.force == us_packed.FORMAT else tgt.force  # its stream, then packed
    if force is not None:
        options = [f for f in options if f == force]
    best = base
    for fmt in options:
        if fmt == unstructured.FORMAT:
            stride = unstructured.stride_for(shape.kind, shape.rows)
            q = unstructured.quads(data, stride)
            cin = graph.t(op.inputs[0]).shape[-1] if op.kind == "CONV_2D" else shape.k
            cost = round(unstructured.cost(shape.kind, shape.rows, shape.k, shape.cout, int(q.sum()), cin))
            nbytes = int(4 * q.size + 8 * q.sum())
        else:
            group = NM_GROUPS[fmt]
            cost = round(nm_cost(shape, group))
            groups = -(-shape.k // group)
            nbytes = shape.cout * (groups + (groups & 1)) // 2 * RECORD
        # forced (benchmarks, tests): N:M wherever not bigger, unstructured even where bigger than dense
        forced = force == fmt and (nbytes <= dense_bytes or fmt == unstructured.FORMAT)
        m = margin(shape.kind, fmt)
        if forced or (cost <= m * best.instructions and nbytes <= dense_bytes):
            best = Choice(fmt, base.sparsity, base.pattern, dense_bytes, nbytes, dense, cost,
                          f"forced ({fmt})" if forced else
                          f"cost model: {cost:,} <= {m} x {best.instructions:,} ({best.format})")
    if best.format == unstructured.FORMAT and (op.outputs[0] in tgt.packed or tgt.force == us_packed.FORMAT):
        return us_packed_choice(graph, op, tgt, shape, best)
    if best.format == unstructured.FORMAT and op.outputs[0] in tgt.unpacked_why:
        best.reason += "; " + tgt.unpacked_why[op.outputs[0]]
    if best is base:
        base.reason = f"cost model: sparse not below its margin x dense ({dense:,}) or not smaller than dense"
        if tgt.packed.get(op.outputs[0]) == us_packed.FORMAT:  # slower than dense, paid by the others' saving
            return us_packed_choice(graph, op, tgt, shape, base)
        if op.outputs[0] in tgt.packed or packed.is_forced(tgt):
            return _packed_choice(graph, op, tgt, base)
        if op.outputs[0] in tgt.unpacked_why:
            base.reason += "; " + tgt.unpacked_why[op.outputs[0]]
    return best


def _packed_choice(graph: Graph, op: Op, tgt: Target, base: Choice) -> Choice:
    """The packed format where it is smaller than the dense filter (codegen/packed.py), else `base`."""
    parts = packed.layer_parts(graph, op, tgt)
    dense_bytes, nbytes, unpack = packed.estimate(graph, op, tgt.dsp and not tgt.mve, parts)
    if nbytes >= dense_bytes:
        return base
    why = (f"forced ({tgt.force})" if packed.is_forced(tgt) else
           "flash: no sparse kernel is faster here; the unpacking is paid by the sparse layers' savings")
    if parts > 1:
        why += f"; unpacked in {parts} parts of its output channels (a smaller buffer)"
    return Choice(packed.FORMAT, base.sparsity, base.pattern, dense_bytes, nbytes, base.dense_instructions,
                  round(base.dense_instructions + unpack), why)


def us_packed_choice(graph: Graph, op: Op, tgt: Target, shape: Shape, best: Choice) -> Choice:
    """The packed step stream (codegen/us_packed.py) of a layer the unstructured kernel runs or (best dense) of a
    pruned layer it runs slower than dense, where it applies and is smaller, else `best`."""
    if not us_packed.eligible(graph, op) or not tgt.dsp:
        return best
    data = graph.t(op.inputs[1]).data
    nbytes = us_packed.nbytes(data)
    if nbytes >= best.weight_bytes:
        return best
    cost = us_packed.cost(shape.rows, shape.k, shape.cout, graph.t(op.inputs[0]).shape[-1], data)
    why = ("forced (unstructured-packed)" if tgt.force == us_packed.FORMAT else
           f"flash: {best.reason}; its stream kept with 4-bit steps, paid by the sparse layers' savings"
           if best.format == unstructured.FORMAT else
           "flash: the 4-bit step stream is slower than dense here, paid by the sparse layers' savings")
    return Choice(us_packed.FORMAT, best.sparsity, best.pattern, best.dense_bytes, nbytes, best.dense_instructions,
                  round(cost), why)


def scratch_bytes(graph: Graph, op: Op, choice: Choice) -> int:
    """Mirror of mcc_convolve_nm_s8_get_buffer_size / mcc_fully_connected_nm_s8_get_buffer_size (and of the
    unstructured kernels' companions)."""
    shape = layer_shape(graph, op)
    if choice.format in (unstructured.FORMAT, us_packed.FORMAT):  # the same scratch
        cin = graph.t(op.inputs[0]).shape[-1] if op.kind == "CONV_2D" else shape.k
        return unstructured.scratch_bytes(shape.kind, shape.rows, shape.k, shape.cout, cin)
    group = NM_GROUPS[choice.format]
    groups = -(-shape.k // group)
    even = groups + (groups & 1)
    cin = graph.t(op.inputs[0]).shape[-1] if op.kind == "CONV_2D" else shape.k
    pix = PIX if op.kind == "CONV_2D" else 1
    table = even * COMBOS[group] * 4 * pix
    gather = ((even * group + 3) & ~3) if cin % group else 0
    table += gather
    if op.kind == "CONV_2D" and rows_fit(group, cin, *graph.t(op.inputs[1]).shape[1:3]):
        kh = graph.t(op.inputs[1]).shape[1]
        table = max(table, kh * (cin // 4) * ROW_GROUP_BYTES + 4 * (shape.k // 8))  # slots, record pointers
    return 16 * shape.cout + table


def sparse_scratch(graph: Graph, op: Op) -> int | None:
    """Scratch of the sparse kernel when this layer runs sparse, else None (the dense size applies)."""
    choice = choose(graph, op)
    if choice is None or choice.format in ("dense", packed.FORMAT):
        return None
    return scratch_bytes(graph, op, choice)


def apply(lowering, index: int, op: Op, call):
    """Turn the dense KernelCall of a CONV_2D / FULLY_CONNECTED into the sparse one when chosen.

    The weights array becomes the records and the filter argument an mcc_nm_filter; everything else
    (quantization, bias, dims, scratch context) is shared with the dense call. Records the choice on the call."""
    from mcucompress.codegen.records import ArrayArg, CArray, CStatic, StructArg

    choice = choose(lowering.graph, op)
    if choice is None:
        return call
    call.weight_format = choice.format
    call.sparse = choice
    if choice.format in ("dense", packed.FORMAT):  # packed: packed.apply, once the filter has its final layout
        return call
    w = lowering.graph.t(op.inputs[1])
    old = next(a for a in call.arrays if a.name == lowering.sym(index, "weights"))
    if choice.format in (unstructured.FORMAT, us_packed.FORMAT):
        call.function = "mcc_convolve_us_s8" if op.kind == "CONV_2D" else "mcc_fully_connected_us_s8"
        if choice.format == us_packed.FORMAT:  # the stream with 4-bit steps
            return us_packed.apply(lowering, index, op, call, old)
        shape = layer_shape(lowering.graph, op)
        stride = unstructured.stride_for(shape.kind, shape.rows)
        stream = CArray(lowering.sym(index, "us_stream"), "int8_t", unstructured.encode(w.data, stride),
                        f"{w.name} {list(w.shape)} as an unstructured step stream (mcc_sparse.h)")
        filt = CStatic("mcc_us_filter", lowering.sym(index, "us_filter"),
                       [("stride", str(stride)), ("stream", stream.name)])
        call.arrays = [stream if a is old else a for a in call.arrays]
        call.args = [StructArg(filt) if a == ArrayArg(old) else a for a in call.args]
        call.statics.append(filt)
        return call
    records = CArray(lowering.sym(index, "nm_records"), "int8_t", encode_nm(w.data, choice.format),
                     f"{w.name} {list(w.shape)} as {choice.format} records (mcc_sparse.h)")
    filt = CStatic("mcc_nm_filter", lowering.sym(index, "nm_filter"),
                   [("group", str(NM_GROUPS[choice.format])), ("records", records.name)])
    call.arrays = [records if a is old else a for a in call.arrays]
    call.args = [StructArg(filt) if a == ArrayArg(old) else a for a in call.args]
    call.statics.append(filt)
    call.function = "mcc_convolve_nm_s8" if op.kind == "CONV_2D" else "mcc_fully_connected_nm_s8"
    return call
