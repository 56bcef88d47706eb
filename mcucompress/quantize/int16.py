"""16x8 quantization: int16 activations (symmetric, zero point 0) with int8 weights, for a whole model or chosen layers.

`to_16x8` turns the int8 graph the quantizer made into a mixed one. The int16 ops are the chosen ones plus
their int16-capable consumers, so a chosen layer's output really stays 16-bit into the next layer (a lone
int16 layer would be rounded back to int8 before anything reads it). Every activation tensor keeps its
calibration range: its int16 scale is max|range| / 32767 (SOFTMAX, LOGISTIC, TANH: TFLite's 1/32768). QUANTIZE
ops convert where an int8 tensor feeds an int16 op and back; the model input and output stay int8 (what
the C entry point takes). Int16 conv/FC biases are int64 at input scale x weight scale, from the float bias.

`layer_gains` measures, for each candidate layer alone, how much the model output's SQNR against the float
model rises when that layer runs in int16: the report that says where int16 pays.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from mcucompress.errors import UnsupportedOpError
from mcucompress.ir import Graph, Op, QuantParams, Tensor
from mcucompress.ir import ops as irops
from mcucompress.ir.registry import spec

INT16_KINDS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MUL", "MAX_POOL_2D", "AVERAGE_POOL_2D",
               "SOFTMAX", "LOGISTIC", "TANH", "RESHAPE")
FIXED_INT16 = {"SOFTMAX": 1 / 32768, "LOGISTIC": 1 / 32768, "TANH": 1 / 32768}  # TFLite's int16 output scales
WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def _q16(scale: float) -> QuantParams:
    return QuantParams(np.array([scale], np.float32), np.array([0]))


def candidate_layers(graph: Graph) -> list[str]:
    """Names of the ops that may run in int16 and change precision (not RESHAPE, not pooling)."""
    return [op.name for op in graph.ops if op.kind in INT16_KINDS and op.kind not in ("RESHAPE", "MAX_POOL_2D")]


def int16_ops(graph: Graph, chosen: set[str]) -> set[str]:
    """The chosen ops and, transitively through shared-quantization ops, the int16-capable consumers of their outputs."""
    unknown = chosen - {op.name for op in graph.ops}
    if unknown:
        raise UnsupportedOpError(f"--int16-layers names no op called {', '.join(sorted(unknown))}; "
                                 f"layers: {', '.join(op.name for op in graph.ops)}")
    bad = [op for op in graph.ops if op.name in chosen and op.kind not in INT16_KINDS]
    if bad:
        raise UnsupportedOpError(f"op '{bad[0].name}' ({bad[0].kind}) has no int16 variant; int16 layers may be "
                                 f"{', '.join(INT16_KINDS)}")
    result = set(chosen)
    todo = [op for op in graph.ops if op.name in chosen]
    while todo:
        op = todo.pop()
        for consumer in graph.ops:
            if consumer.name not in result and consumer.kind in INT16_KINDS and op.outputs[0] in consumer.inputs:
                result.add(consumer.name)
                if spec(consumer.kind).shares_quant:  # a RESHAPE or pool passes the int16 tensor on
                    todo.append(consumer)
    return result


def _int16_scales(float_graph: Graph, ranges: dict) -> dict[str, QuantParams]:
    """tensor -> its int16 quantization: symmetric over its shared-quantization group's calibration range."""
    from mcucompress.quantize.quantizer import _shared_groups

    g = copy.deepcopy(float_graph)
    fixed = {op.outputs[0]: FIXED_INT16[op.kind] for op in g.ops if op.kind in FIXED_INT16}
    groups = _shared_groups(g, {n: (s, 0) for n, s in fixed.items()})
    amax: dict[str, float] = {}
    for name, (lo, hi) in ranges.items():
        amax[groups[name]] = max(amax.get(groups[name], 0.0), abs(float(lo)), abs(float(hi)))
    group_fixed = {groups[n]: s for n, s in fixed.items()}
    out = {}
    for name in g.tensors:
        root = groups[name]
        if root in group_fixed:
            out[name] = _q16(group_fixed[root])
        elif root in amax:
            out[name] = _q16(max(amax[root], 1e-8) / 32767.0)
    return out


def to_16x8(float_graph: Graph, q: Graph, ranges: dict, chosen: set[str] | None = None) -> Graph:
    """The int8 graph `q` with the `chosen` ops (None: every int16-capable op) and their consumers in 16x8."""
    ops16 = int16_ops(q, chosen) if chosen is not None else {op.name for op in q.ops if op.kind in INT16_KINDS}
    if not ops16:
        return q
    scales = _int16_scales(float_graph, ranges)
    q = copy.deepcopy(q)
    wide: set[str] = set()  # tensors now int16
    converted: dict[tuple[str, str], str] = {}
    new_ops: list[Op] = []

    def convert(name: str, dtype: str) -> str:
        key = (name, dtype)
        if key not in converted:
            src = q.t(name)
            new = f"{name}__{dtype}"
            quant = scales[name] if dtype == "int16" else int8_quant[name]
            q.add_tensor(Tensor(new, src.shape, dtype, quant))
            new_ops.append(Op("QUANTIZE", [name], [new], irops.NoAttrs(), f"quantize_{new}"))
            converted[key] = new
        return converted[key]

    int8_quant = {n: t.quant for n, t in q.tensors.items() if not t.is_const}
    for op in q.ops:
        if op.name in ops16:
            for k, name in enumerate(op.inputs):
                if not name:
                    continue
                t = q.t(name)
                if t.is_const:
                    continue
                if name not in wide:
                    op.inputs[k] = convert(name, "int16")
            out = q.t(op.outputs[0])
            out.dtype, out.quant = "int16", scales[op.outputs[0]]
            wide.add(op.outputs[0])
            _constants_16x8(float_graph, q, op)
        else:
            for k, name in enumerate(op.inputs):
                if name and name in wide:
                    op.inputs[k] = convert(name, "int8")
        new_ops.append(op)
    q.ops = new_ops
    for i, name in enumerate(q.outputs):
        if name in wide:
            new = convert(name, "int8")
            q.ops = new_ops
            q.outputs[i] = new
    return q


def _constants_16x8(float_graph: Graph, q: Graph, op: Op) -> None:
    """Int64 bias of a 16x8 conv/FC from the float bias; int16 constant operands of ADD and MUL."""
    if op.kind in WEIGHTED and len(op.inputs) > 2 and op.inputs[2]:
        b_float = float_graph.t(op.inputs[2]).data.astype(np.float64)
        w = q.t(op.inputs[1])
        in_scale = np.float64(q.t(op.inputs[0]).quant.s)
        bias_scale = (in_scale * w.quant.scale.astype(np.float64)).astype(np.float32)
        scale = np.broadcast_to(bias_scale.astype(np.float64), b_float.shape)
        data = np.clip(np.round(b_float / scale), -(2**40), 2**40).astype(np.int64)
        name = f"{op.inputs[2]}__int64"
        q.add_tensor(Tensor(name, b_float.shape, "int64",
                            QuantParams(bias_scale, np.zeros(bias_scale.size), 0 if bias_scale.size > 1 else None), data))
        op.inputs[2] = name
    if op.kind in ("ADD", "MUL"):
        for k, name in enumerate(op.inputs):
            t = q.t(name)
            if t.is_const:
                values = float_graph.t(name).data.astype(np.float64)
                scale = max(float(np.abs(values).max()), 1e-8) / 32767.0
                data = np.clip(np.round(values / np.float32(scale)), -32768, 32767).astype(np.int16)
                new = f"{name}__int16"
                q.add_tensor(Tensor(new, t.shape, "int16", _q16(scale), data))
                op.inputs[k] = new


def resolve_layers(spec_text: str | None, float_graph: Graph, ranges: dict, x: np.ndarray, q8: Graph, **quant):
    """--int16-layers: 'NAME,NAME' as given, or 'auto' / 'auto:K' -> the K layers of largest gain (K: a quarter
    of the candidates, at least 1); returns (set of names, gain rows or None)."""
    if not spec_text:
        return None, None
    if not spec_text.startswith("auto"):
        return {n.strip() for n in spec_text.split(",") if n.strip()}, None
    rows = layer_gains(float_graph, ranges, x, q8)
    k = int(spec_text.split(":", 1)[1]) if ":" in spec_text else max(1, math.ceil(len(rows) / 4))
    chosen = {r["op"] for r in sorted(rows, key=lambda r: -r["gain_db"])[:k] if r["gain_db"] > 0}
    for r in rows:
        r["chosen"] = r["op"] in chosen
    return chosen, rows


def layer_gains(float_graph: Graph, ranges: dict, x: np.ndarray, q8: Graph) -> list[dict]:
    """Per candidate layer: model output SQNR (dB, the logits when the model ends in SOFTMAX) with all int8,
    with that layer (and its consumers) in int16, and the gain."""
    from mcucompress.quantize.report import output_sqnr

    def score(g: Graph) -> float:
        s = output_sqnr(float_graph, g, x)
        return s["logits"] if s["logits"] is not None else s["output"]

    base = score(q8)
    rows = []
    for name in candidate_layers(q8):
        s16 = score(to_16x8(float_graph, q8, ranges, {name}))
        kind = next(op.kind for op in q8.ops if op.name == name)
        rows.append({"op": name, "kind": kind, "int8_db": base, "int16_db": s16, "gain_db": s16 - base})
    return rows


def format_gains(rows: list[dict]) -> str:
    """The per-layer int16 gain table, largest gain first."""
    lines = [f"{'op':<28} {'kind':<18} {'SQNR int8':>10} {'layer int16':>12} {'gain dB':>8}"]
    for r in sorted(rows, key=lambda r: -r["gain_db"]):
        mark = "  <- int16" if r.get("chosen") else ""
        lines.append(f"{r['op'][:28]:<28} {r['kind']:<18} {r['int8_db']:>10.1f} {r['int16_db']:>12.1f} "
                     f"{r['gain_db']:>8.2f}{mark}")
    return "\n".join(lines)
