"""The HTML report of `mcucompress run`: summary, validation against float, latency per layer, memory,
quantization SQNR per layer and the confusion matrix, built from the run report and driver.run's details."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcucompress.report import charts, sections
from mcucompress.report.page import Page

SQNR_SAMPLES = 256  # per-layer SQNR runs both graphs with every intermediate kept: a subset is plenty


def run_page(model: str | Path, report: dict, outputs: np.ndarray, details: dict) -> Page:
    page = Page(f"mcucompress run: {Path(model).name} on {report['board']}")
    sections.summary(page, _summary_items(model, report))
    if report.get("validation"):
        sections.validation(page, report["validation"])
    _latency(page, report)
    _memory(page, report, details)
    _quantization(page, details)
    _accuracy(page, report, outputs, details.get("labels"))
    return page


def _summary_items(model, report: dict) -> list[tuple[str, object]]:
    acc = report.get("accuracy", {}).get("top1")
    lat = report.get("latency")
    items: list[tuple[str, object]] = [
        ("model", str(model)), ("board", report["board"]), ("engine", report["engine"]), ("samples", report["samples"]),
        ("top-1 accuracy", f"{acc:.4f}" if acc is not None else "n/a (no labels 'y' in the data)"),
    ]
    if "bit_exact" in report:
        items.append(("bit-exact vs the reference executor",
                      f"{'yes' if report['bit_exact'] else 'NO'} ({report['mismatches']} mismatching samples)"))
    if lat:
        items += [(f"latency median ({_unit_text(lat['unit'])})", lat["median"]),
                  ("latency min / max", f"{lat['min']:,} / {lat['max']:,}"), ("MACs", report.get("macs")),
                  (f"{lat['unit']} per MAC", lat.get("per_mac"))]
        if lat.get("estimated_ms") is not None:
            basis = "" if lat["unit"] == "cycles" else ", one cycle per instruction"
            items.append((f"time at {lat['clock_hz'] / 1e6:g} MHz{basis}", f"{lat['estimated_ms']:,} ms"))
    items.append(("wall time (s)", report.get("wall_seconds")))
    return items + sections.toolchain_items(report.get("toolchain", {}))


def _unit_text(unit: str) -> str:
    return "instructions counted by QEMU, not cycles" if unit == "instructions" else "cycles on the hardware"


def _latency(page: Page, report: dict) -> None:
    page.section("Latency per layer")
    layers, lat = report.get("per_layer"), report.get("latency")
    if not layers or not lat:
        page.text(f"No per-layer latency: board '{report['board']}' does not measure time; run on a board of "
                  "boards/ (QEMU counts instructions, hardware counts cycles).", "note")
        return
    unit = lat["unit"]
    page.text(f"Median over {report['samples']} samples, in {_unit_text(unit)}.")
    page.figure(charts.latency_chart(layers, unit, "QEMU" if unit == "instructions" else "hardware"), "latency")
    if any(r.get("latency_per_mac") is not None for r in layers):
        page.figure(charts.latency_per_mac_chart(layers, unit), "latency_per_mac")
    page.table(["#", "layer", "kind", "MACs", unit, f"{unit}/MAC", "~ us", "weight format", "weight B"],
               [[r["index"], r["name"], r["kind"], r["macs"], r["latency"], r["latency_per_mac"], r.get("estimated_us"),
                 r.get("format"), r.get("weight_bytes")] for r in layers], name="per_layer")


def _memory(page: Page, report: dict, details: dict) -> None:
    from mcucompress.codegen.project import compile_graph
    from mcucompress.driver import default_prefix

    page.section("Memory")
    compiled, graph = details.get("compiled"), details.get("graph")
    if compiled is None and graph is not None and graph.is_quantized:
        compiled = compile_graph(graph, default_prefix(graph))  # the reference board compiles nothing itself
    if compiled is None:
        page.text("No memory plan: the graph run here is not int8 (a float32 model, or the float32 I/O edges of "
                  "an int8 model, run on the reference executor only).", "note")
    else:
        sections.arena(page, compiled.plan)
        page.figure(charts.weights_chart(compiled.summary()["per_layer"]), "weights",
                    f"weights {compiled.weights_bytes:,} B in flash")
    mem = report.get("memory") or {}
    why = ("the firmware was flashed elsewhere (--no-flash)" if report.get("latency") else
           f"board '{report['board']}' builds no firmware; run on a board of boards/")
    sections.breakdown(page, mem.get("breakdown"), mem.get("flash_size"), mem.get("ram_size"), why)


def _quantization(page: Page, details: dict) -> None:
    page.section("Quantization")
    twin, x, graph = details.get("float_graph"), details.get("float_x"), details.get("graph")
    if twin is None or x is None:
        page.text("No per-layer SQNR: there is no float model to compare with (run a float model with "
                  "--calibration, or give an int8 model's float twin with --float-model).", "note")
        return
    from mcucompress.quantize.report import layer_report

    rows = layer_report(twin, graph, x[:SQNR_SAMPLES])
    sections.sqnr(page, rows, "no layer output of the int8 model has a tensor of the same name in the float model")


def _accuracy(page: Page, report: dict, outputs: np.ndarray, labels: np.ndarray | None) -> None:
    page.section("Accuracy")
    flat = outputs.reshape(len(outputs), -1)
    if labels is None or flat.shape[1] < 2:
        page.text("No confusion matrix: " + ("the data have no labels 'y'." if labels is None
                                             else "the model has a single output value."), "note")
        return
    acc = report["accuracy"]["top1"]
    page.text(f"top-1 accuracy {acc:.4f} on {len(labels)} labelled samples.")
    page.figure(charts.confusion_chart(labels, flat.argmax(axis=1), flat.shape[1]), "confusion")
