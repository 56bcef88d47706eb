"""Quantization report: per layer the output scale, saturation rate and SQNR against the float model.

SQNR compares each int8 layer output (dequantized, computed end to end by the int8 graph, so errors
accumulate as they will on the device) with the float layer output on the same calibration samples.
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
        lo, hi = (-128 - zp) * scale, (127 - zp) * scale
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
