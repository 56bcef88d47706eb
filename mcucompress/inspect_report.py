"""Human-readable and JSON reports: `inspect` tables and `run` summaries."""

from __future__ import annotations

from mcucompress.analysis import describe_quant, op_cost, total_cost
from mcucompress.ir import Graph
from mcucompress.ir.constraints import problem


def _params_text(op) -> str:
    import dataclasses

    fields = dataclasses.asdict(op.attrs)
    return " ".join(f"{k}={v}" for k, v in fields.items() if v not in ("NONE", False) and v != ())


def inspect_rows(graph: Graph) -> list[dict]:
    rows = []
    for i, op in enumerate(graph.ops):
        first = next((n for n in op.inputs if n), None)  # an unsupported op may have no (or an empty) input 0
        inp, out = graph.t(first) if first else None, graph.t(op.outputs[0])
        cost = op_cost(graph, op)
        why = problem(graph, op)
        rows.append(
            {
                "index": i,
                "kind": op.kind,
                "input_shape": list(inp.shape) if inp else [],
                "output_shape": list(out.shape),
                "dtype": out.dtype,
                "input_quant": describe_quant(inp) if inp else "-",
                "output_quant": describe_quant(out),
                "weight_quant": describe_quant(graph.t(op.inputs[1])) if len(op.inputs) > 1 and op.inputs[1] else "-",
                "params_text": _params_text(op),
                "macs": cost.macs,
                "params": cost.params,
                "weight_bytes": cost.weight_bytes,
                "supported": why is None,
                "problem": why,
            }
        )
    return rows


def inspect_json(graph: Graph) -> dict:
    total = total_cost(graph)
    rows = inspect_rows(graph)
    return {
        "model": graph.name,
        "inputs": [{"name": n, "shape": list(graph.t(n).shape), "dtype": graph.t(n).dtype} for n in graph.inputs],
        "outputs": [{"name": n, "shape": list(graph.t(n).shape), "dtype": graph.t(n).dtype} for n in graph.outputs],
        "ops": rows,
        "totals": {
            "ops": len(rows),
            "macs": total.macs,
            "params": total.params,
            "weight_bytes": total.weight_bytes,
            "unsupported": [r["index"] for r in rows if not r["supported"]],
        },
    }


def inspect_table(graph: Graph) -> str:
    doc = inspect_json(graph)
    header = f"{'#':>3} {'op':<18} {'in':<16} {'out':<16} {'dtype':<7} {'out quant':<20} {'MACs':>11} {'params':>8}  attrs"
    lines = [f"model {graph.name}: inputs {doc['inputs']} outputs {doc['outputs']}", header, "-" * len(header)]
    for r in doc["ops"]:
        flag = "" if r["supported"] else f"  << UNSUPPORTED: {r['problem']}"
        lines.append(
            f"{r['index']:>3} {r['kind']:<18} {'x'.join(map(str, r['input_shape'])):<16} "
            f"{'x'.join(map(str, r['output_shape'])):<16} {r['dtype']:<7} {r['output_quant']:<20} "
            f"{r['macs']:>11,} {r['params']:>8,}  {r['params_text']}{flag}"
        )
    t = doc["totals"]
    lines.append("-" * len(header))
    lines.append(f"total: {t['ops']} ops, {t['macs']:,} MACs, {t['params']:,} params, {t['weight_bytes']:,} weight bytes")
    if t["unsupported"]:
        kinds = ", ".join(f"#{i} {doc['ops'][i]['kind']}" for i in t["unsupported"])
        lines.append(f"unsupported: {len(t['unsupported'])} of {t['ops']} ops ({kinds}); 'mcucompress compile' refuses "
                     "this model, 'mcucompress ops' lists what is supported")
    return "\n".join(lines)


def run_summary(report: dict, all_layers: bool = False, slowest: int = 3) -> str:
    lines = [f"board {report['board']}: {report['samples']} samples"]
    data = report.get("data") or {}
    if data.get("source") == "random":  # no --data: a benchmark, say so
        lines[0] += f" of random input ({data['distribution']}, seed {data['seed']}; no --data)"
    elif data.get("layout"):
        lines[0] += f" from {data['path']} ({data['format']}, {data['layout']}" + \
            (f", --normalize {data['normalize']})" if data.get("normalize") else ")")
    if report.get("state"):  # a recurrent model
        lines[0] += ("; state reset before every sample" if report["state"] == "reset"
                     else "; state carried from sample to sample")
    lat = report.get("latency")
    if lat:
        per_mac = f", {lat['per_mac']} per MAC ({report['macs']:,} MACs)" if lat.get("per_mac") else ""
        lines.append(f"latency ({lat['unit']}): min {lat['min']:,} median {lat['median']:,} max {lat['max']:,}{per_mac}")
        if lat.get("estimated_ms") is not None:
            basis = "" if lat["unit"] == "cycles" else ", estimated at one cycle per instruction"
            lines.append(f"time at {lat['clock_hz'] / 1e6:g} MHz: {lat['estimated_ms']:,} ms per inference{basis}")
    layers = report.get("per_layer") or []
    if layers:
        shown = layers if all_layers else sorted(layers, key=lambda r: -r["latency"])[:slowest]
        title = "per layer" if all_layers else f"slowest {len(shown)} of {len(layers)} layers (--per-layer: all)"
        lines.append(f"{title}, median {lat['unit']}")
        for row in shown:
            per_mac = f" ({row['latency_per_mac']}/MAC, {row['macs']:,} MACs)" if row["macs"] else ""
            time = f" ~{row['estimated_us']:,} us" if row.get("estimated_us") is not None else ""
            lines.append(f"  #{row['index']:<3} {row['kind']:<18} {row['latency']:>14,} {lat['unit']}{time}{per_mac}")
    acc = report.get("accuracy", {}).get("top1")
    why = "random inputs" if data.get("source") == "random" else "no labels 'y' in the data"
    lines.append(f"top-1 accuracy: {acc:.4f}" if acc is not None else f"top-1 accuracy: n/a ({why})")
    if "bit_exact" in report:
        lines.append(f"bit-exact vs reference: {report['bit_exact']} ({report['mismatches']} mismatching outputs)")
    for out in (report.get("validation") or {}).get("outputs", []):
        agree = f"top-1 agreement {out['top1_agreement']:.4f}, " if out["top1_agreement"] is not None else ""
        lines.append(f"vs float {report['validation']['float_model']} ({out['name']}): {agree}cosine "
                     f"{out['cosine']:.5f}, RMSE {out['rmse']:.4g}, max |error| {out['max_abs_error']:.4g}")
    mem = report.get("memory")
    if mem:
        lines.append("memory: " + ", ".join(f"{k} {v:,}" for k, v in mem.items() if isinstance(v, int)))
        parts = mem.get("breakdown")
        for memory, size in (("flash", mem.get("flash_size")), ("ram", mem.get("ram_size"))):
            if parts and size:
                used = sum(parts[memory].values())
                lines.append(f"  {memory}: " + ", ".join(f"{k} {v:,}" for k, v in parts[memory].items())
                             + f" = {used:,} B ({100 * used / size:.2f}% of {size:,})")
    return "\n".join(lines)
