"""The HTML reports of `compile`, `quantize` and `prune`: what each step did to the model, per layer."""

from __future__ import annotations

import math
from pathlib import Path

from mcucompress import __version__
from mcucompress.report import charts, sections
from mcucompress.report.page import Page


def compile_page(model: str | Path, compiled, summary: dict, board: str | None) -> Page:
    """`summary` is compile --json's document; its `memory` (a board given) holds the firmware breakdown."""
    page = Page(f"mcucompress compile: {Path(model).name}" + (f" for {board}" if board else ""))
    mem = summary.get("memory") or {}
    macs = sum(r["macs"] for r in summary["per_layer"])
    items = [("model", str(model)), ("board", board or "none (give --board for the flash/RAM breakdown)"),
             ("symbol prefix", summary["prefix"]), ("layers", summary["layers"]), ("MACs", macs),
             ("weights (flash) B", summary["weights_bytes"]), ("arena (RAM) B", summary["arena_bytes"]),
             ("of which scratch B", summary["scratch_bytes"]), ("kernels", ", ".join(summary["kernels"])),
             ("model hash", summary["model_hash"])]
    if mem.get("flash_bytes") is not None:
        items += [("firmware flash B", f"{mem['flash_bytes']:,} of {mem['flash_size']:,}"),
                  ("firmware RAM B", f"{mem['ram_bytes']:,} of {mem['ram_size']:,}")]
    sections.summary(page, items + sections.toolchain_items(mem.get("toolchain") or {"mcucompress": __version__}))
    page.section("Memory")
    sections.arena(page, compiled.plan)
    page.figure(charts.weights_chart(summary["per_layer"]), "weights", f"weights {compiled.weights_bytes:,} B in flash")
    why = mem.get("why_no_breakdown") or "no --board given: the breakdown is of a board's linked firmware"
    sections.breakdown(page, mem.get("breakdown"), mem.get("flash_size"), mem.get("ram_size"), why)
    page.section("Layers")
    page.table(["#", "layer", "kind", "kernel", "MACs", "weight B", "weight format"],
               [[r["index"], r["name"], r["kind"], r["function"] or "(alias, no code)", r["macs"], r["weight_bytes"],
                 r.get("format")] for r in summary["per_layer"]], name="layers")
    return page


def quantize_page(model: str | Path, output: str | Path, rows: list[dict], options: dict, samples: int) -> Page:
    """`rows`: quantize/report.py layer_report; `options`: calibration, method, per_tensor, bias_correction."""
    page = Page(f"mcucompress quantize: {Path(model).name}")
    finite = [r for r in rows if math.isfinite(r["sqnr_db"])]
    worst = min(finite, key=lambda r: r["sqnr_db"]) if finite else None
    sections.summary(page, [
        ("model", str(model)), ("written", str(output)), ("calibration data", str(options.get("calibration"))),
        ("calibration method", options.get("method")),
        ("weights", "per-tensor" if options.get("per_tensor") else "per-channel (conv, FC)"),
        ("bias correction", bool(options.get("bias_correction"))), ("samples for the SQNR", samples),
        ("output SQNR dB", round(rows[-1]["sqnr_db"], 2) if rows and math.isfinite(rows[-1]["sqnr_db"]) else None),
        ("loses most", f"#{worst['index']} {worst['op']} ({worst['sqnr_db']:.1f} dB)" if worst else None),
        ("mcucompress version", __version__)])
    page.section("Quantization per layer")
    sections.sqnr(page, rows, "no layer of the int8 model matches one of the float model")
    if rows:
        page.figure(charts.saturation_chart(rows), "saturation",
                    "float values beyond the int8 range of the layer output are clipped (calibration ranges)")
    return page


def prune_page(model: str | Path, output: str | Path, rep: dict, options: dict, notes: list[str]) -> Page:
    """`rep`: prune/report.py prune_report; `options`: method, sparsity, recover, allocation."""
    page = Page(f"mcucompress prune: {Path(model).name}")
    t = rep["total"]
    sq = t["output_sqnr_db"]
    sections.summary(page, [
        ("model", str(model)), ("written", str(output)), *((k, options.get(k)) for k in
                                                          ("method", "sparsity", "recover", "allocation")),
        ("MACs", f"{t['macs'][0]:,} -> {t['macs'][1]:,} ({1 - t['macs'][1] / max(t['macs'][0], 1):.1%} removed)"),
        ("weight bytes", f"{t['weight_bytes'][0]:,} -> {t['weight_bytes'][1]:,}"),
        ("zero weights", f"{t['zero_weights']:,} of {t['weights']:,}"),
        ("output SQNR dB vs the unpruned model", round(sq, 2) if sq is not None and math.isfinite(sq) else "exact"),
        ("mcucompress version", __version__)])
    for note in notes:
        page.text(note, "note")
    layers = rep["layers"]
    page.section("Pruning per layer")
    if not layers:
        page.text("The model has no weighted layers (conv, depthwise, fully connected).", "note")
        return page
    page.figure(charts.sparsity_chart(layers), "sparsity")
    page.figure(charts.macs_chart(layers), "macs")
    paired = [r for r in layers if r["sqnr_db"] is not None]
    if paired:
        page.figure(charts.sqnr_chart(paired, "SQNR per layer vs the unpruned model"), "sqnr",
                    "SQNR of each layer's output against the unpruned model (layers whose channels were removed "
                    "have no counterpart and are left out)")
    page.table(["op", "kind", "out channels", "in channels", "sparsity", "MACs", "weight B", "SQNR dB"],
               [[r["op"], r["kind"], "{} -> {}".format(*r["out_channels"]), "{} -> {}".format(*r["in_channels"]),
                 f"{100 * r['sparsity']:.1f}%", "{:,} -> {:,}".format(*r["macs"]),
                 "{:,} -> {:,}".format(*r["weight_bytes"]),
                 _sqnr_cell(r["sqnr_db"])] for r in layers], name="layers")
    return page


def _sqnr_cell(db: float | None):
    if db is None:
        return None  # channels removed: no layer output to pair with
    return "exact" if not math.isfinite(db) else round(db, 2)
