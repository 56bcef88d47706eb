"""Pruning report: per weighted layer the kept channels, sparsity, MACs, weight bytes and output SQNR against
the unpruned model (on calibration samples); totals before and after."""

from __future__ import annotations

import numpy as np

from mcucompress.analysis import op_cost
from mcucompress.dataset import quantize_input
from mcucompress.ir import Graph
from mcucompress.prune.layers import weighted_ops
from mcucompress.quantize.report import sqnr_db
from mcucompress.reference import executor


def _values(graph: Graph, x: np.ndarray) -> dict:
    vals = executor.run(graph, [quantize_input(x, graph.t(graph.inputs[0]))], keep_all=True)
    out = {}
    for name, v in vals.items():
        t = graph.t(name)
        out[name] = v.astype(np.float64) if t.quant is None or t.is_const else (v.astype(np.float64) - t.quant.zp) * t.quant.s
    return out


def prune_report(dense: Graph, pruned: Graph, x: np.ndarray) -> dict:
    """x: float calibration samples. Layers are paired by position (pruning keeps the op order)."""
    dv, pv = _values(dense, x), _values(pruned, x)
    rows = []
    for od, op in zip(weighted_ops(dense), weighted_ops(pruned)):
        cd, cp = op_cost(dense, od), op_cost(pruned, op)
        w = pruned.t(op.inputs[1]).data
        a, b = dv[od.outputs[0]], pv[op.outputs[0]]
        rows.append({
            "op": op.name, "kind": op.kind,
            "out_channels": [int(dense.t(od.outputs[0]).shape[-1]), int(pruned.t(op.outputs[0]).shape[-1])],
            "in_channels": [int(dense.t(od.inputs[1]).shape[-1]), int(pruned.t(op.inputs[1]).shape[-1])],
            "sparsity": float(np.mean(w == 0)),
            "macs": [cd.macs, cp.macs], "weight_bytes": [cd.weight_bytes, cp.weight_bytes],
            "sqnr_db": sqnr_db(a, b) if a.shape == b.shape else None,  # channels removed: no pairing
        })
    td = [op_cost(dense, o) for o in dense.ops]
    tp = [op_cost(pruned, o) for o in pruned.ops]
    zeros = sum(int(np.sum(pruned.t(o.inputs[1]).data == 0)) for o in weighted_ops(pruned))
    weights = sum(pruned.t(o.inputs[1]).size for o in weighted_ops(pruned))
    return {"layers": rows, "total": {
        "macs": [sum(c.macs for c in td), sum(c.macs for c in tp)],
        "weight_bytes": [sum(c.weight_bytes for c in td), sum(c.weight_bytes for c in tp)],
        "zero_weights": zeros, "weights": weights,
        "output_sqnr_db": sqnr_db(dv[dense.outputs[0]], pv[pruned.outputs[0]]),
    }}


def format_report(rep: dict) -> str:
    def sq(v):
        return "-" if v is None else f"{v:.1f}"

    lines = [f"{'op':<24} {'kind':<18} {'out ch':>9} {'in ch':>9} {'sparsity':>8} {'MACs':>21} {'weight B':>17} "
             f"{'SQNR dB':>7}"]
    for r in rep["layers"]:
        lines.append(f"{r['op'][:24]:<24} {r['kind']:<18} {r['out_channels'][0]:>4}>{r['out_channels'][1]:<4} "
                     f"{r['in_channels'][0]:>4}>{r['in_channels'][1]:<4} {r['sparsity']:>8.1%} "
                     f"{r['macs'][0]:>10,}>{r['macs'][1]:<10,} {r['weight_bytes'][0]:>8,}>{r['weight_bytes'][1]:<8,} "
                     f"{sq(r['sqnr_db']):>7}")
    t = rep["total"]
    lines.append(f"total: MACs {t['macs'][0]:,} -> {t['macs'][1]:,} ({1 - t['macs'][1] / max(t['macs'][0], 1):.1%} removed), "
                 f"weight bytes {t['weight_bytes'][0]:,} -> {t['weight_bytes'][1]:,}, zero weights "
                 f"{t['zero_weights']:,}/{t['weights']:,}, output SQNR {sq(t['output_sqnr_db'])} dB")
    return "\n".join(lines)
