"""Quantization report: per layer the output scale, saturation rate and SQNR against the float model.

SQNR compares each int8 layer output (dequantized, computed end to end by the int8 graph, so errors
accumulate as they will on the device) with the float layer output on the same calibration samples.
`output_sqnr` does the same for the model output only, and for the logits feeding a final SOFTMAX.
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph
from mcucompress.reference import executor


def sqnr_db(reference: np.ndarray, approx: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - approx) ** 2))
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    if noise == 0:
        return float("inf")
    return 10 * np.log10(max(signal, 1e-30) / noise)


def layer_report(float_graph: Graph, int8_graph: Graph, x: np.ndarray) -> list[dict]:
    """x: float samples [N, ...]. One row per op of the int8 graph whose output exists in the float graph."""
    f_vals = executor.run(float_graph, [x], keep_all=True)
    q_in = _quantize_input(int8_graph, x)
    q_vals = executor.run(int8_graph, [q_in], keep_all=True)
    rows = []
    for index, op in enumerate(int8_graph.ops):
        name = op.outputs[0]
        t = int8_graph.t(name)
        if name not in f_vals or t.quant is None:
            continue
        scale, zp = t.quant.s, t.quant.zp
        ref = f_vals[name].astype(np.float32)
        deq = (q_vals[name].astype(np.float32) - zp) * scale
        qmin, qmax = (-32768, 32767) if t.dtype == "int16" else (-128, 127)
        lo, hi = (qmin - zp) * scale, (qmax - zp) * scale
        rows.append({
            "index": index,
            "op": op.name,
            "kind": op.kind,
            "scale": scale,
            "zero_point": zp,
            "saturation": float(np.mean((ref < lo - scale / 2) | (ref > hi + scale / 2))),
            "sqnr_db": sqnr_db(ref, deq),
        })
    return rows


def _logits(graph: Graph) -> str | None:
    """The tensor feeding a final SOFTMAX (a saturated softmax hides most of the error), behind any trailing
    QUANTIZE (a 16x8 model converts its int16 output back to int8)."""
    producers = {op.outputs[0]: op for op in graph.ops}
    last = graph.ops[-1]
    while last.kind == "QUANTIZE" and last.inputs[0] in producers:
        last = producers[last.inputs[0]]
    return last.inputs[0] if last.kind == "SOFTMAX" else None


def _dequantized(graph: Graph, values: dict, name: str) -> np.ndarray:
    t = graph.t(name)
    if t.dtype == "float32":
        return values[name].astype(np.float64)
    return (values[name].astype(np.float64) - t.quant.zp) * t.quant.s


def output_sqnr(float_graph: Graph, int8_graph: Graph, x: np.ndarray, batch: int = 64) -> dict[str, float | None]:
    """SQNR (dB) of the int8 graph's dequantized output, and of its pre-softmax logits, vs the float graph.

    The two graphs may come from different files (our quantizer vs TF's converter): tensors are matched
    by position (model output, input of the final SOFTMAX), not by name."""
    ref: dict[str, list] = {"output": [], "logits": []}
    got: dict[str, list] = {"output": [], "logits": []}
    f_logits, q_logits = _logits(float_graph), _logits(int8_graph)
    for start in range(0, len(x), batch):
        xb = x[start : start + batch]
        f_vals = executor.run(float_graph, [xb], keep_all=True)
        q_vals = executor.run(int8_graph, [_quantize_input(int8_graph, xb)], keep_all=True)
        ref["output"].append(_dequantized(float_graph, f_vals, float_graph.outputs[0]))
        got["output"].append(_dequantized(int8_graph, q_vals, int8_graph.outputs[0]))
        if f_logits and q_logits:
            ref["logits"].append(_dequantized(float_graph, f_vals, f_logits))
            got["logits"].append(_dequantized(int8_graph, q_vals, q_logits))
    return {k: sqnr_db(np.concatenate(ref[k]), np.concatenate(got[k])) if ref[k] else None for k in ref}


def _quantize_input(graph: Graph, x: np.ndarray) -> np.ndarray:
    from mcucompress.dataset import quantize_input

    return quantize_input(x, graph.t(graph.inputs[0]))


def format_report(rows: list[dict], worst: int = 3) -> str:
    finite = sorted((r for r in rows if np.isfinite(r["sqnr_db"])), key=lambda r: r["sqnr_db"])
    flagged = {r["index"] for r in finite[:worst]}
    lines = [f"{'#':>3} {'op':<24} {'kind':<18} {'scale':>10} {'zp':>5} {'saturated':>10} {'SQNR dB':>8}"]
    for r in rows:
        flag = "  <- loses most" if r["index"] in flagged else ""
        lines.append(f"{r['index']:>3} {r['op'][:24]:<24} {r['kind']:<18} {r['scale']:>10.4g} {r['zero_point']:>5} "
                     f"{r['saturation']:>10.2%} {r['sqnr_db']:>8.1f}{flag}")
    return "\n".join(lines)
