"""results.csv (one row per configuration, grid order, no wall-clock times: identical whatever ran it) and
report.html (accuracy / latency / size Pareto charts and the table of every row).

Pareto-optimal means: among the configurations on the same board (a host run and a QEMU run are not
comparable), no other one is at least as good in top-1 (higher), instructions (lower, where measured) and
size (lower: firmware flash on a board, weight bytes on host/reference) and better in one of them.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from mcucompress.fileio import write_text
from mcucompress.sweep.evaluate import METRICS
from mcucompress.sweep.grid import KEYS, SPECIAL_BOARDS, Config

COLUMNS = (*KEYS, *METRICS, "pareto", "error")


def size_of(result: dict) -> int | None:
    return result["flash_bytes"] if result["flash_bytes"] is not None else result["weights_bytes"]


def pareto_flags(rows: list[tuple[Config, dict]]) -> list[bool]:
    """True for each row no other row of its board dominates; failed rows and rows without top-1 are never."""
    def objectives(result: dict) -> tuple:  # all minimized
        return (-result["top1"], result["instructions"] if result["instructions"] is not None else 0, size_of(result))

    ok = [r["error"] is None and r["top1"] is not None for _, r in rows]
    flags = []
    for i, (config, result) in enumerate(rows):
        if not ok[i]:
            flags.append(False)
            continue
        mine = objectives(result)
        dominated = False
        for j, (other_config, other) in enumerate(rows):
            if j == i or not ok[j] or other_config.board != config.board:
                continue
            theirs = objectives(other)
            if all(t <= m for t, m in zip(theirs, mine)) and theirs != mine:
                dominated = True
                break
        flags.append(not dominated)
    return flags


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def results_csv(rows: list[tuple[Config, dict]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for (config, result), pareto in zip(rows, pareto_flags(rows)):
        values = {**config.as_dict(), **result, "pareto": pareto}
        writer.writerow([_cell(values.get(c)) for c in COLUMNS])
    return out.getvalue()


def write_results(path: str | Path, rows: list[tuple[Config, dict]]) -> None:
    write_text(path, results_csv(rows))


def _chart(rows, flags, x_of, x_label, title: str):
    """top-1 against x_of(result), one panel per board (their x scales differ: host weight bytes vs firmware
    flash); Pareto-optimal points filled and joined, the others hollow, each labelled with its table row."""
    from mcucompress.report.page import matplotlib_figure

    points: dict[str, list] = {}
    for number, ((config, result), flag) in enumerate(zip(rows, flags), start=1):
        if result["error"] is None and result["top1"] is not None and x_of(result) is not None:
            points.setdefault(config.board, []).append((x_of(result), result["top1"], number, flag))
    boards = sorted(points)
    fig = matplotlib_figure(min(4.2 * max(len(boards), 1) + 1.0, 11.0), 3.8)
    axes = fig.subplots(1, max(len(boards), 1), sharey=True, squeeze=False)[0]
    for ax, board in zip(axes, boards):
        front = sorted((p for p in points[board] if p[3]), key=lambda p: (p[0], -p[1]))
        rest = [p for p in points[board] if not p[3]]
        ax.scatter([p[0] for p in rest], [p[1] for p in rest], facecolors="none", edgecolors="tab:gray", s=36,
                   label="dominated")
        ax.plot([p[0] for p in front], [p[1] for p in front], "o-", color="tab:blue", markersize=7,
                label="Pareto-optimal")
        for x, y, number, _ in points[board]:
            ax.annotate(str(number), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.set_title(board, fontsize=10)
        ax.set_xlabel(x_label(board))
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("top-1 accuracy")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    return fig


def build_page(rows: list[tuple[Config, dict]], inputs):
    from mcucompress.report.page import Page

    flags = pareto_flags(rows)
    failed = sum(r["error"] is not None for _, r in rows)
    samples = sorted({r["samples"] for _, r in rows if r["samples"] is not None})
    page = Page(f"Sweep of {inputs.model.name}")
    page.text(f"{len(rows)} configurations ({failed} failed); calibration {inputs.calibration.name}, test data "
              f"{inputs.data.name} ({', '.join(map(str, samples)) or '?'} samples). Numbers in the charts are the "
              "rows of the table below.")
    page.section("Pareto front")
    page.text("Pareto-optimal (filled, joined): no configuration on the same board has at least its top-1, at most "
              "its instructions and at most its size, and is better in one. A point that looks dominated in one "
              "chart can be optimal through the measure the chart leaves out.", css="note")
    page.figure(_chart(rows, flags, size_of,
                       lambda b: "weight bytes" if b in SPECIAL_BOARDS else "firmware flash bytes",
                       "accuracy vs size"), "pareto-accuracy-size")
    if any(r["instructions"] is not None for _, r in rows):
        page.figure(_chart(rows, flags, lambda r: r["instructions"], lambda b: "instructions per inference (median)",
                           "accuracy vs latency (QEMU)"), "pareto-accuracy-latency")
    else:
        page.text("No configuration ran on a QEMU board, so there is no latency to chart (host runs are not timed).",
                  css="note")
    page.section("All configurations")
    headers = ["#", *KEYS, "top-1", "instructions", "flash B", "RAM B", "weights B", "arena B", "bit-exact",
               "Pareto", "error"]
    table = [[i + 1, *c.as_dict().values(), r["top1"], r["instructions"], r["flash_bytes"], r["ram_bytes"],
              r["weights_bytes"], r["arena_bytes"], r["bit_exact"], flag, r["error"]]
             for i, ((c, r), flag) in enumerate(zip(rows, flags))]
    page.table(headers, table, name="configurations")
    return page


def write_report(path: str | Path, rows: list[tuple[Config, dict]], inputs) -> None:
    build_page(rows, inputs).write(path)
