"""The reports' charts: one function per chart, each returning a matplotlib Figure (no pyplot state)."""

from __future__ import annotations

import math

import numpy as np

from mcucompress.report.page import matplotlib_figure

COLORS = {"weights": "#4e79a7", "tables": "#9c755f", "model": "#f28e2b", "arena": "#e15759", "state": "#d37295", "kernels": "#76b7b2",
          "harness": "#59a14f", "runtime": "#ff9da7", "libc": "#edc948", "stack": "#b07aa1", "padding": "#bab0ac"}


def _layer_labels(rows: list[dict]) -> list[str]:
    return [f"#{r['index']} {r['kind']}" for r in rows]


def _bars(labels: list[str], values: list[float], xlabel: str, title: str, color: str = "#4e79a7"):
    """Horizontal bars, first label on top (layers read in op order)."""
    fig = matplotlib_figure(8, max(2.2, 0.32 * len(labels) + 1))
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    ax.barh(y, values, color=color)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    if values and max(values) <= 0:
        ax.set_xlim(0, 1)  # all zero: an axis from 0, not matplotlib's symmetric default around it
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return fig


def latency_chart(per_layer: list[dict], unit: str, where: str):
    values = [float(r["latency"]) for r in per_layer]
    return _bars(_layer_labels(per_layer), values, f"{unit} per inference (median)", f"latency per layer ({where})")


def latency_per_mac_chart(per_layer: list[dict], unit: str):
    rows = [r for r in per_layer if r.get("latency_per_mac") is not None]
    return _bars(_layer_labels(rows), [float(r["latency_per_mac"]) for r in rows], f"{unit} per MAC",
                 f"{unit} per multiply-accumulate (layers with MACs)", color="#f28e2b")


def weights_chart(per_layer: list[dict]):
    rows = [r for r in per_layer if r.get("weight_bytes")]
    return _bars(_layer_labels(rows), [int(r["weight_bytes"]) for r in rows], "bytes of flash",
                 "weights per layer (filters, biases, requantization)", color="#59a14f")


def arena_chart(buffers: list, arena_bytes: int):
    """Every arena buffer as a rectangle: its lifetime over the op order (x) and its place in the arena (y);
    the line is the bytes alive at each op, its peak marked."""
    steps = max((b.last_use for b in buffers), default=-1) + 1
    fig = matplotlib_figure(9, 4.2)
    ax = fig.add_subplot()
    cmap = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
    for i, b in enumerate(sorted((b for b in buffers if b.size), key=lambda b: (b.first_use, b.offset))):
        ax.add_patch(_rect(b, cmap[i % len(cmap)]))
        if b.size > 0.08 * max(arena_bytes, 1):
            ax.text((b.first_use + b.last_use) / 2, b.offset + b.size / 2, _short(b.name), ha="center", va="center",
                    fontsize=7, clip_on=True)
    live = [sum(b.size for b in buffers if b.first_use <= s <= b.last_use) for s in range(steps)]
    if live:
        ax.step(range(steps), live, where="mid", color="black", lw=1, label="bytes alive")
        peak = int(np.argmax(live))
        ax.plot([peak], [live[peak]], "v", color="black")
        ax.annotate(f"peak {live[peak]:,} B at op {peak}", (peak, live[peak]), textcoords="offset points",
                    xytext=(4, 6), fontsize=8)
    ax.axhline(arena_bytes, color="#b00020", ls="--", lw=1, label=f"arena {arena_bytes:,} B")
    ax.set_xlim(-0.6, steps - 0.4)
    ax.set_ylim(0, max(arena_bytes, max(live, default=0), 1) * 1.12)
    ax.set_xlabel("op (execution order)")
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title("activation arena over the op order: which tensor lives where", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    return fig


def _rect(b, color):
    from matplotlib.patches import Rectangle

    return Rectangle((b.first_use - 0.4, b.offset), b.last_use - b.first_use + 0.8, b.size, facecolor=color,
                     edgecolor="white", alpha=0.85)


def _short(name: str, n: int = 18) -> str:
    name = name.split(":", 1)[-1]
    return name if len(name) <= n else name[: n - 1] + "…"


def breakdown_chart(breakdown: dict, flash_size: int, ram_size: int):
    """Flash and RAM as stacked bars of the firmware's parts, as a percentage of the board's memory."""
    fig = matplotlib_figure(9, 2.8)
    ax = fig.add_subplot()
    rows = [("flash", breakdown.get("flash", {}), flash_size), ("RAM", breakdown.get("ram", {}), ram_size)]
    seen = set()
    for y, (label, parts, size) in enumerate(rows):
        left = 0.0
        for part, nbytes in parts.items():
            share = 100 * nbytes / size
            ax.barh(y, share, left=left, color=COLORS.get(part, "#999"), edgecolor="white",
                    label=part if part not in seen else None)
            seen.add(part)
            left += share
        ax.text(left, y, f"  {sum(parts.values()):,} B = {left:.2f}% of {size:,} B", va="center", fontsize=8)
    ax.set_yticks([0, 1], ["flash", "RAM"])
    ax.invert_yaxis()
    ax.set_xlabel("% of the board's memory")
    top = max((sum(p.values()) * 100 / s for _, p, s in rows), default=1)
    ax.set_xlim(0, top * 1.6 or 1)
    ax.legend(ncol=4, fontsize=8, loc="lower right")
    ax.set_title("firmware flash and RAM by part", fontsize=10)
    return fig


def sqnr_chart(rows: list[dict], title: str = "quantization SQNR per layer vs float"):
    """SQNR (dB) of each layer's output against float; an exact layer (infinite SQNR) is drawn at the top."""
    finite = [r["sqnr_db"] for r in rows if r["sqnr_db"] is not None and math.isfinite(r["sqnr_db"])]
    cap = max(finite, default=60.0) + 10
    values = [cap if r["sqnr_db"] is None or not math.isfinite(r["sqnr_db"]) else r["sqnr_db"] for r in rows]
    labels = [f"#{r['index']} {r['kind']}" if "index" in r else f"{r['op']} {r['kind']}" for r in rows]
    return _bars(labels, values, "SQNR (dB), higher is better", title, "#b07aa1")


def saturation_chart(rows: list[dict]):
    return _bars([f"#{r['index']} {r['kind']}" for r in rows], [100 * r["saturation"] for r in rows],
                 "% of float values outside the int8 range", "saturation per layer", "#e15759")


def sparsity_chart(layers: list[dict]):
    """Per weighted layer: the share of zero weights and of output channels removed."""
    labels = [f"{r['op']} {r['kind']}" for r in layers]
    zeros = [100 * r["sparsity"] for r in layers]
    removed = [100 * (1 - r["out_channels"][1] / max(r["out_channels"][0], 1)) for r in layers]
    fig = matplotlib_figure(8, max(2.2, 0.4 * len(labels) + 1))
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    ax.barh(y - 0.2, zeros, 0.4, label="weights that are zero", color="#76b7b2")
    ax.barh(y + 0.2, removed, 0.4, label="output channels removed", color="#e15759")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.legend(fontsize=8)
    ax.set_title("sparsity per weighted layer", fontsize=10)
    return fig


def macs_chart(layers: list[dict]):
    """MACs of each weighted layer before and after pruning."""
    labels = [f"{r['op']} {r['kind']}" for r in layers]
    fig = matplotlib_figure(8, max(2.2, 0.4 * len(labels) + 1))
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    ax.barh(y - 0.2, [r["macs"][0] for r in layers], 0.4, label="dense", color="#bab0ac")
    ax.barh(y + 0.2, [r["macs"][1] for r in layers], 0.4, label="pruned", color="#4e79a7")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("MACs per inference")
    ax.legend(fontsize=8)
    ax.set_title("MACs per weighted layer before and after pruning", fontsize=10)
    return fig


def confusion_chart(labels: np.ndarray, predicted: np.ndarray, classes: int):
    """Counts of (true label, predicted class), the diagonal being the correct ones."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (labels.astype(np.int64), predicted.astype(np.int64)), 1)
    fig = matplotlib_figure(5.2, 4.6)
    ax = fig.add_subplot()
    im = ax.imshow(m, cmap="Blues")
    if classes <= 20:
        ax.set_xticks(range(classes))
        ax.set_yticks(range(classes))
        for (i, j), v in np.ndenumerate(m):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                        color="white" if v > m.max() / 2 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true label")
    ax.set_title("confusion matrix", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig
