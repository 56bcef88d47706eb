"""Packed (bitmask) filters in `compile`: flash for pruned layers that no sparse kernel runs faster.

Format (firmware/include/mcc_sparse.h, unpacking in firmware/kernels/sparse/mcc_packed_s8.c): the bytes the dense
kernel reads (OHWI, or the dual-row layout of codegen/dual_rows.py with each half-word 256 * wB + wA kept as the
bytes wA, wB so that zero weights stay zero bytes) as one mask bit per byte (uint32 words) plus the non-zero
bytes. The layer's call first unpacks them into its scratch, then runs the dense kernel on them: bit-exact by
construction, 1/8 byte per weight + 1 per non-zero in flash (0.625x at 50% zeros, where the step stream of
codegen/unstructured.py is no smaller than dense), the filter's size in RAM while the layer runs, and the
unpacking's instructions (UNPACK below: ~3.6 per byte on Cortex-M4).

Choice (plan): a model-level trade, because unpacking costs instructions and the issue's rule is that a pruned
model is never slower than the same model dense. The layers the sparse kernels run faster save instructions
(the cost model of codegen/sparse.py); that saving is spent on unpacking the other pruned layers or running
them from a step stream with 4-bit steps (codegen/us_packed.py: slower than dense, but no unpacking buffer in
RAM; one of the two per layer), and on the slightly slower kernel of the unstructured layers whose streams keep
4-bit steps, those that save the most bytes per instruction first (and only where packing saves a fifth of the
filter: WORTH), while the model's predicted instructions stay at most its dense ones and its arena does not grow
(`compile_graph(packed_ram=N)`, `compile --packed-ram N`, lets it grow by N bytes: more flash saved for RAM).
A CONV_2D filter whose whole unpacked copy would grow the arena may be packed in PARTS of its output channels
instead (mcc_convolve_packed_s8): one part in RAM at a time, each part repeating the layer's im2col (PART_PASS).
Layers run in row bands (codegen/bands.py) keep their dense filters (their kernel reads the weights of both
convolutions for every band). `compile_graph(sparse_kernels="packed")` packs every layer where it is smaller
(benchmarks, tests), `"packed/2"` or `"packed/4"` in parts where the layer allows them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mcucompress.ir import Graph, Op

FORMAT = "packed"
WORD = 32  # bytes per mask word
ALIGN = 16  # the unpacked filter's offset in the layer's scratch
# A layer is packed only when that saves at least a fifth of its filter (about a third of its weights zero): below,
# the bytes saved per unpacking instruction fall fast (vww's 1x1 layer with 22% natural zeros: 808 B for +29,736
# instructions), and a model that was never pruned should not run slower for them.
WORTH = 0.8
PAD = 4  # bytes after the values: every nibble reads a word from the next value on, even past the last
# Unpacking instructions on Cortex-M4 (QEMU, -icount shift=0) per mask word (32 bytes) and per call: the per-layer
# instructions of ResNet-8 pruned to 50% with every layer packed (compile_graph(sparse_kernels="packed")) against
# dense, mps2-an386. Its dual-row layers (K % 4 = 0: half-words rebuilt as they are unpacked) took +1,880 (512 B)
# to +132,200 (36,864 B), 3.6 per byte; "pass_word": a word of the separate dual-row pass (K % 4 != 0), estimated.
UNPACK = {"word": 116.0, "pass_word": 8.0, "call": 40.0}
PARTS = (2, 4)  # output-channel parts a CONV_2D filter may be unpacked in (MCC_PACKED_PARTS_MAX = 4)
PARTS_FUNCTION = "mcc_convolve_packed_s8"
# Instructions each part after the first adds (mcc_convolve_s8's im2col and pixel loop again): per output pixel and
# value of K, and per call. Fitted on ResNet-8 50% (mps2-an386) with its 32 -> 32 and 32 -> 64 layers forced into 2
# and 4 parts: +154,780 (73,728 pixel-values) and +39,160 (18,432) per extra part, within 0.1% at either count.
PART_PASS = {"value": 2.09, "call": 620.0}


def raw_bytes(final: np.ndarray, dual: tuple[int, int, int] | None) -> np.ndarray:
    """The filter's bytes with each dual-row half-word 256 * wB + wA split back into (wA, wB)."""
    raw = final.astype(np.int8).copy()
    if dual is not None:
        pairs, stride, dual_bytes = dual
        body = raw[:pairs * stride].reshape(pairs, stride)
        h = body[:, :dual_bytes].copy().view("<i2").astype(np.int32)
        a = ((h + 128) & 0xFF) - 128
        b = (h - a) >> 8
        pair = np.stack([a, b], axis=-1).reshape(pairs, dual_bytes)
        body[:, :dual_bytes] = pair.astype(np.int8)
        raw[:pairs * stride] = body.reshape(-1)
    return raw


def words(size: int) -> int:
    return -(-size // WORD)


def encode(final: np.ndarray, dual: tuple[int, int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """(mask words as int64 values of uint32, the non-zero bytes + PAD of padding) of a filter's bytes."""
    raw = raw_bytes(final, dual)
    padded = np.zeros(words(raw.size) * WORD, np.int8)
    padded[:raw.size] = raw
    bits = (padded != 0).reshape(-1, WORD).astype(np.int64)
    masks = (bits << np.arange(WORD, dtype=np.int64)).sum(axis=1)
    values = np.concatenate([padded[padded != 0], np.zeros(PAD, np.int8)])
    return masks, values


def decode(masks: np.ndarray, values: np.ndarray, dual: tuple[int, int, int] | None, size: int) -> np.ndarray:
    """The filter's bytes from its packed form (mirror of mcc_unpack_filter_s8; used by the tests)."""
    bits = ((np.asarray(masks, np.int64)[:, None] >> np.arange(WORD)) & 1).reshape(-1).astype(bool)
    out = np.zeros(bits.size, np.int8)
    out[bits] = values[:int(bits.sum())]
    out = out[:size]
    if dual is not None:
        pairs, stride, dual_bytes = dual
        body = out[:pairs * stride].reshape(pairs, stride)
        ab = body[:, :dual_bytes].astype(np.int32).reshape(pairs, -1, 2)
        h = (ab[:, :, 1] * 256 + ab[:, :, 0]).astype("<i2")
        body[:, :dual_bytes] = h.view(np.int8).reshape(pairs, dual_bytes)
        out[:pairs * stride] = body.reshape(-1)
    return out


def nbytes(raw_nonzero: int, size: int) -> int:
    """Flash of a packed filter: mask words, non-zero bytes and the values' padding (each array 4-aligned)."""
    return 4 * words(size) + ((raw_nonzero + PAD + 3) & ~3)


def unpack_cost(size: int, pass_bytes: int) -> float:
    """Instructions to unpack a filter of `size` bytes, `pass_bytes` of them rebuilt in the separate dual-row pass."""
    return UNPACK["word"] * words(size) + UNPACK["pass_word"] * pass_bytes / 4 + UNPACK["call"]


def buffer_bytes(size: int) -> int:
    """RAM of the unpacked filter (whole mask words)."""
    return words(size) * WORD


def dual_geometry(weights: np.ndarray) -> tuple[int, int, int]:
    """(pairs, pair stride, dual bytes per pair) of the dual-row layout of a [C_out, ...] filter."""
    from mcucompress.codegen.dual_rows import pair_stride

    rows = weights.reshape(weights.shape[0], -1)
    cout, k = rows.shape
    return cout // 2, pair_stride(k), 2 * (k & ~3)


def _layout(weights: np.ndarray, dsp: bool, function: str) -> tuple[int, tuple[int, int, int] | None]:
    """(bytes, dual geometry or None) of a filter in the layout the dense kernel `function` reads: dual-row where the
    lowering writes it on a `dsp` target (codegen/dual_rows.py: K, padded as the kernel reads it, pays and at least
    one channel pair), else plain."""
    from mcucompress.codegen import dual_rows

    rows = dual_rows.kernel_rows(function, weights.reshape(weights.shape[0], -1))
    cout, k = rows.shape
    if not (dsp and dual_rows.pays(k) and cout >= 2):
        return weights.size, None
    geometry = dual_geometry(rows)
    return geometry[0] * geometry[1] + (k if cout % 2 else 0), geometry


def _function(graph: Graph, op: Op) -> str:
    """The dense kernel of a CONV_2D or FULLY_CONNECTED layer."""
    from mcucompress.codegen.lower import _conv_function

    return _conv_function(graph, op) if op.kind == "CONV_2D" else "mcc_fully_connected_s8"


def estimate(graph: Graph, op: Op, dsp: bool, parts: int = 1) -> tuple[int, int, float]:
    """(dense bytes, packed bytes, instructions added) of a layer's filter packed whole or in `parts`, counting zero
    bytes as the dense kernel would read them (plain: zero weights; dual-row: the same, split back)."""
    w = graph.t(op.inputs[1]).data
    size, dual = _layout(w, dsp, _function(graph, op))
    size //= parts  # parts_allowed: whole channel pairs each, so every part has the same layout
    passed = 0
    if dual is not None:
        pairs, stride, dual_bytes = dual
        pairs //= parts
        passed = pairs * dual_bytes if dual_bytes != stride else pairs * stride % WORD  # see mcc_packed_s8.c
    nonzero = np.count_nonzero(w.reshape(parts, -1), axis=1)
    return (w.size, sum(nbytes(int(n), size) for n in nonzero),
            parts * unpack_cost(size, passed) + part_cost(graph, op, parts))


def parts_of(fmt: str | None) -> int:
    """How many parts a plan format unpacks a filter in: FORMAT -> 1, part_format(n) -> n."""
    return int(fmt.split("/")[1]) if fmt and fmt.startswith(FORMAT + "/") else 1


def part_format(parts: int) -> str:
    return f"{FORMAT}/{parts}"


def is_forced(tgt) -> bool:
    """Whether the target forces bitmask packing wherever it is smaller: "packed", or "packed/N" (in N parts where
    the layer allows it; benchmarks and tests)."""
    return tgt.force is not None and (tgt.force == FORMAT or tgt.force.startswith(FORMAT + "/"))


def layer_parts(graph: Graph, op: Op, tgt) -> int:
    """The parts a packed layer's filter is unpacked in: the plan's choice, or the forced count where allowed."""
    name = op.outputs[0]
    if name in tgt.packed:
        return parts_of(tgt.packed[name])
    forced = parts_of(tgt.force) if is_forced(tgt) else 1
    return forced if forced in parts_allowed(graph, op, tgt) else 1


def parts_allowed(graph: Graph, op: Op, tgt) -> list[int]:
    """The part counts mcc_convolve_packed_s8 can unpack a layer's filter in: CONV_2D layers of mcc_convolve_s8
    (not on Helium: its path writes whole pixels), whole channel pairs per part in the dual-row layout."""
    if op.kind != "CONV_2D" or tgt.mve or _function(graph, op) != "mcc_convolve_s8":
        return []
    w = graph.t(op.inputs[1]).data
    _, dual = _layout(w, tgt.dsp, "mcc_convolve_s8")
    step = 2 if dual is not None else 1
    return [n for n in PARTS if w.shape[0] % (n * step) == 0 and w.shape[0] // n >= step]


def part_cost(graph: Graph, op: Op, parts: int) -> float:
    """Instructions that unpacking in `parts` adds beyond the unpacking itself (PART_PASS)."""
    if parts == 1:
        return 0.0
    from mcucompress.codegen import sparse

    s = sparse.layer_shape(graph, op)
    return (parts - 1) * (PART_PASS["value"] * s.rows * s.k + PART_PASS["call"])


def plan(graph: Graph, blocks: tuple, tgt, arena_bytes: Callable[[dict], int], ram: int = 0,
         why_not: dict[str, str] | None = None) -> dict[str, str]:
    """The layers to pack, their outputs' names -> FORMAT (bitmask) or us_packed.FORMAT (4-bit step stream), for
    target `tgt` (codegen/sparse.Target): see the module docstring. `blocks`: the residual blocks run in row
    bands, whose convolutions stay as they are; `arena_bytes(packed)`: the arena with those layers packed (that
    mapping); `ram`: how many bytes the arena may grow by
    (default none: a layer is packed only where its unpacked filter fits beside the tensors live then);
    `why_not` receives, per layer that packing would have made smaller by a fifth, why it stays dense."""
    from mcucompress.codegen import sparse, unstructured

    why_not = {} if why_not is None else why_not
    if not tgt.enabled or tgt.force is not None:
        return {}  # forced formats (benchmarks): sparse.choose packs every layer it may with "packed"
    banded = {id(o) for b in blocks for o in (b.conv1, b.conv2)}
    budget, options = 0.0, []
    for op in graph.ops:
        choice = sparse.choose(graph, op, tgt)
        if choice is None:
            continue
        if choice.format != "dense":
            budget += choice.dense_instructions - choice.instructions
            if choice.format == unstructured.FORMAT:  # its stream may stay packed (codegen/us_packed.py)
                kept = sparse.us_packed_choice(graph, op, tgt, sparse.layer_shape(graph, op), choice)
                if kept is not choice:
                    extra = max(kept.instructions - choice.instructions, 1)
                    options.append(((choice.weight_bytes - kept.weight_bytes) / extra, extra, op.outputs[0],
                                    kept.format))
            continue
        if id(op) in banded or choice.sparsity == 0 or choice.reason.startswith("asymmetric"):
            continue
        dense_bytes, nbytes, unpack = estimate(graph, op, tgt.dsp and not tgt.mve)
        if nbytes <= WORTH * dense_bytes:
            options.append(((dense_bytes - nbytes) / unpack, unpack, op.outputs[0], FORMAT))
            for parts in parts_allowed(graph, op, tgt):  # a smaller buffer for more instructions
                _, part_bytes, cost = estimate(graph, op, tgt.dsp, parts)
                options.append(((dense_bytes - part_bytes) / cost, cost, op.outputs[0], part_format(parts)))
        if not tgt.mve:  # or its step stream with 4-bit steps: slower than dense, but no unpacking buffer
            stream = sparse.us_packed_choice(graph, op, tgt, sparse.layer_shape(graph, op), choice)
            extra = stream.instructions - choice.instructions
            if stream is not choice and stream.weight_bytes <= WORTH * dense_bytes and extra > 0:
                options.append(((dense_bytes - stream.weight_bytes) / extra, extra, op.outputs[0], stream.format))
    chosen, spent = {}, 0.0
    base = arena_bytes(chosen) if options else 0
    for _, unpack, name, fmt in sorted(options, reverse=True):
        if name in chosen:
            continue  # the layer's other packing was chosen
        if spent + unpack > budget:
            why_not.setdefault(name, f"packing would cost ~{round(unpack):,} instructions, more than the sparse "
                                     f"layers' saving left ({max(round(budget - spent), 0):,})")
            continue
        grown = arena_bytes({**chosen, name: fmt}) - base
        if grown > ram:
            why_not.setdefault(name, f"packing would grow the arena by {grown:,} B (allow it: compile --packed-ram "
                                     f"{grown})")
            continue
        chosen, spent = {**chosen, name: fmt}, spent + unpack
        why_not.pop(name, None)
    return chosen


def extra_scratch(graph: Graph, op: Op, kernel_scratch: int) -> int:
    """Scratch bytes a packed layer needs beyond its kernel's (the unpacked filter after it), else 0."""
    from mcucompress.codegen import sparse

    choice = sparse.choose(graph, op)
    if choice is None or choice.format != FORMAT:
        return 0
    parts = layer_parts(graph, op, sparse.current_target())
    return buffer_offset(kernel_scratch) - kernel_scratch + buffer_bytes(_layout_size(graph, op) // parts)


def buffer_offset(kernel_scratch: int) -> int:
    return (kernel_scratch + ALIGN - 1) & ~(ALIGN - 1)


def _layout_size(graph: Graph, op: Op) -> int:
    """Bytes of the filter in the layout the dense kernel reads on the current target."""
    from mcucompress.codegen import sparse

    tgt = sparse.current_target()
    return _layout(graph.t(op.inputs[1]).data, tgt.dsp and not tgt.mve, _function(graph, op))[0]


def apply(lowering, index: int, op: Op, call, kernel_scratch: int):
    """Replace a packed layer's filter array by its masks and values, unpacked into the scratch before the call."""
    from mcucompress.codegen import sparse
    from mcucompress.codegen.records import ArrayArg, CStatic, LocalArg

    if call.weight_format != FORMAT:
        return call
    old = next(a for a in call.arrays if a.name == lowering.sym(index, "weights"))
    params = next(s for s in call.statics if s.ctype in ("mcc_conv_params", "mcc_fc_params"))
    mode = dict(params.fields).get("dual_rows", "0")
    if mode not in ("0", "1", "2"):
        raise AssertionError(f"op {index}: packed filters take the plain or the dual-row layout, not {mode}")
    dual = _layout(lowering.graph.t(op.inputs[1]).data, True, call.function)[1] if mode != "0" else None
    if buffer_bytes(old.values.size) > buffer_bytes(_layout_size(lowering.graph, op)):
        raise AssertionError(f"op {index}: the filter's layout is larger than its planned unpacking buffer")
    parts = layer_parts(lowering.graph, op, sparse.current_target())
    if parts > 1:
        return _apply_parts(lowering, index, op, call, kernel_scratch, old, dual, parts)
    arrays, fields = _packed_filter(lowering.sym(index, "pack"), old.values, dual, old.comment)
    filt = CStatic("mcc_packed_filter", lowering.sym(index, "packed"), fields)
    local = "unpacked"
    offset = lowering.plan.scratch[index] + buffer_offset(kernel_scratch)
    call.pre += [f"int8_t *const {local} = (int8_t *)({lowering.prefix}_arena + {offset});",
                 f"mcc_unpack_filter_s8(&{filt.name}, {local});"]
    call.arrays = [a for a in call.arrays if a is not old] + arrays
    call.args = [LocalArg(local) if a == ArrayArg(old) else a for a in call.args]
    call.statics.append(filt)
    call.helpers.append("mcc_unpack_filter_s8")
    return call


def _packed_filter(name: str, final: np.ndarray, dual, comment: str) -> tuple[list, list[tuple[str, str]]]:
    """The mask and value arrays (`name`_masks, `name`_values) of a filter's bytes in the dense kernel's layout, and
    the fields of its mcc_packed_filter."""
    from mcucompress.codegen.records import CArray

    masks, values = encode(final, dual)
    mask_arr = CArray(f"{name}_masks", "uint32_t", masks, f"{comment}: non-zero bytes, a bit each")
    value_arr = CArray(f"{name}_values", "int8_t", values, f"{comment}: its non-zero bytes")
    pairs, stride, dual_bytes = dual or (0, 0, 0)
    return [mask_arr, value_arr], [("masks", mask_arr.name), ("values", value_arr.name), ("words", str(masks.size)),
                                   ("pairs", str(pairs)), ("pair_stride", str(stride)),
                                   ("dual_bytes", str(dual_bytes))]


def _apply_parts(lowering, index: int, op: Op, call, kernel_scratch: int, old, dual, parts: int):
    """The call of a filter packed in `parts` (mcc_convolve_packed_s8): one mask and value array per part, the
    layer's context widened to the unpacking buffer, and per part a record of the mcc_convolve_s8 call it makes
    (`parts`: the variants those calls take, codegen/variants.py)."""
    from mcucompress.codegen.records import ArrayArg, CArray, CStatic, KernelCall, StructArg

    cout = lowering.graph.t(op.inputs[1]).shape[0]
    n, size = cout // parts, old.values.size // parts
    if cout % parts or old.values.size % parts or (dual is not None and n % 2):
        raise AssertionError(f"op {index}: {cout} output channels do not split into {parts} packed parts")
    geometry = (dual[0] // parts, dual[1], dual[2]) if dual is not None else None
    arrays, inits = [], []
    for i in range(parts):
        part_arrays, fields = _packed_filter(lowering.sym(index, f"pack{i}"), old.values[i * size:(i + 1) * size],
                                             geometry, f"{old.comment}, channels {i * n}-{(i + 1) * n - 1}")
        arrays += part_arrays
        inits.append("{" + ", ".join(f".{k} = {v}" for k, v in fields) + "}")
    filt = CStatic("mcc_packed_parts", lowering.sym(index, "packed"),
                   [("part", "{" + ", ".join(inits) + "}"), ("count", str(parts)),
                    ("offset", str(buffer_offset(kernel_scratch)))])
    ctx = next(s for s in call.statics if s.ctype == "mcc_context")
    kernel_ctx = CStatic(ctx.ctype, ctx.name, list(ctx.fields))
    ctx.fields = [(k, str(buffer_offset(kernel_scratch) + buffer_bytes(size)) if k == "size" else v)
                  for k, v in ctx.fields]
    # per output channel: the kernel reads part i's from the channel i * n on (mcc_convolve_packed_s8)
    sliced = [a for a in call.arrays if a.name.endswith(("_multiplier", "_shift", "_bias"))]
    if any(a.values.size != cout for a in sliced):
        raise AssertionError(f"op {index}: packed parts need per-channel quantization and bias arrays")
    records = []
    for i in range(parts):
        dims = [lowering.dims_static(index, "part_filter_dims", (n, *lowering.graph.t(op.inputs[1]).shape[1:])),
                lowering.dims_static(index, "part_out_dims", (*lowering.graph.t(op.outputs[0]).shape[:-1], n))]
        part_arrays = [CArray(a.name, a.ctype, a.values[i * n:(i + 1) * n]) for a in sliced]
        records.append(KernelCall(index, op.name, op.kind, "mcc_convolve_s8", [],
                                  statics=[kernel_ctx, *(s for s in call.statics if s.ctype == "mcc_conv_params"),
                                           *dims],
                                  arrays=part_arrays, macs=call.macs // parts))
    call.function = PARTS_FUNCTION
    call.args = [StructArg(filt) if a == ArrayArg(old) else a for a in call.args]
    call.arrays = [a for a in call.arrays if a is not old] + arrays
    call.statics.append(filt)
    call.parts = records
    call.note = (call.note + "; " if call.note else "") + f"filter unpacked in {parts} parts of {n} channels"
    return call
