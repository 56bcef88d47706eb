"""Sections several reports share: the summary table, memory (arena plan and firmware breakdown),
quantization SQNR per layer, validation against the float model."""

from __future__ import annotations

import math

from mcucompress.report import charts
from mcucompress.report.page import Page

PART_NOTES = {"weights": "the generated weights file", "tables": "layer parameters of the generated code",
              "model": "generated model code", "arena": "activation arena",
              "state": "recurrent state (LSTM, SVDF)", "kernels": "firmware/kernels",
              "harness": "measurement harness: protocol, sample loop", "runtime": "startup, timer, fault handler, UART",
              "libc": "libc, libgcc", "stack": "stack", "padding": "alignment"}


def summary(page: Page, items: list[tuple[str, object]]) -> None:
    page.section("Summary")
    page.table(["", "value"], [[k, v] for k, v in items if v is not None], name="summary")


def toolchain_items(tools: dict) -> list[tuple[str, object]]:
    return [(f"{tool} version", version or "not found") for tool, version in tools.items()]


def arena(page: Page, plan) -> None:
    """The memory plan: a chart of buffers over the op order, and its ASCII picture."""
    where = ("the model input and output are planned into the arena (compile --io arena)" if plan.io_in_arena
             else "the model input and output live in the caller's buffers, not in the arena")
    page.figure(charts.arena_chart(plan.planner.buffers, plan.arena_bytes), "arena",
                f"arena {plan.arena_bytes:,} B, of which the largest scratch buffer {plan.scratch_bytes:,} B; {where}")
    page.pre(plan.picture())


def breakdown(page: Page, parts: dict | None, flash_size: int | None, ram_size: int | None, why_not: str) -> None:
    """Flash and RAM of the linked firmware by part, with each part's share of the board."""
    if not parts or not flash_size or not ram_size:
        page.text(f"No flash/RAM breakdown: {why_not}.", "note")
        return
    page.figure(charts.breakdown_chart(parts, flash_size, ram_size), "memory",
                "read from the firmware's linker map: every input section attributed to the file it came from")
    rows = []
    for part, note in PART_NOTES.items():
        f, r = parts["flash"].get(part), parts["ram"].get(part)
        if f or r:
            rows.append([part, note, f or 0, _pct(f, flash_size), r or 0, _pct(r, ram_size)])
    tf, tr = sum(parts["flash"].values()), sum(parts["ram"].values())
    rows.append(["total", "", tf, _pct(tf, flash_size), tr, _pct(tr, ram_size)])
    page.table(["part", "what", "flash B", "% of flash", "RAM B", "% of RAM"], rows, name="breakdown")
    if parts.get("kernels"):
        page.table(["kernel file", "flash B"], [[k, v] for k, v in parts["kernels"].items()], name="kernels")


def _pct(n: int | None, size: int) -> str:
    return f"{100 * (n or 0) / size:.3f}%"


def sqnr(page: Page, rows: list[dict], what: str) -> None:
    """Per-layer SQNR against float (quantize/report.py layer_report rows)."""
    if not rows:
        page.text(f"No per-layer SQNR: {what}.", "note")
        return
    page.figure(charts.sqnr_chart(rows), "sqnr", "SQNR of each layer's int8 output (dequantized, errors accumulated "
                "end to end) against the float layer output; exact layers are drawn at the top of the scale")
    page.table(["#", "op", "kind", "scale", "zero point", "saturated", "SQNR dB"],
               [[r["index"], r["op"], r["kind"], r["scale"], r["zero_point"], f"{100 * r['saturation']:.2f}%",
                 "exact" if not math.isfinite(r["sqnr_db"]) else round(r["sqnr_db"], 2)] for r in rows], name="sqnr")


def validation(page: Page, val: dict) -> None:
    page.section("Validation against the float model")
    page.text(f"Our int8 outputs, dequantized with the output scale and zero point, against {val['float_model']} "
              f"({val['engine']}) on the same {val['samples']} samples.")
    page.table(["output", "RMSE", "max |error|", "mean |error|", "cosine", "top-1 agreement"],
               [[o["name"], o["rmse"], o["max_abs_error"], o["mean_abs_error"], f"{o['cosine']:.6f}",
                 None if o["top1_agreement"] is None else f"{o['top1_agreement']:.4f}"] for o in val["outputs"]],
               name="validation")
