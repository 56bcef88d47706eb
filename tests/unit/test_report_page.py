"""The HTML page builder and the charts: escaping, number formatting and alignment, inline SVG with its
chart name, and charts drawn from hand-made rows (no model needed)."""

from __future__ import annotations

import numpy as np

from mcucompress.plan.greedy import GreedyPlanner
from mcucompress.report import charts
from mcucompress.report.page import Page
from tests.browser import chart_names


def test_table_escapes_formats_and_aligns():
    page = Page("a <b> & c")
    page.table(["name", "bytes", "share"], [["<x>", 12345, "1.5%"], ["y", None, True]], name="t")
    html = page.render()
    assert "<title>a &lt;b&gt; &amp; c</title>" in html and "&lt;x&gt;" in html and "<x>" not in html
    assert "<td>12,345</td>" in html and "<td>-</td>" in html and "<td>yes</td>" in html
    assert '<td class="t">y</td>' in html and "<td>1.5%</td>" in html  # words left, numbers right
    assert "<th class=t>name</th><th>bytes</th><th>share</th>" in html and 'data-table="t"' in html


def test_figures_are_inline_svg_named_and_written_atomically(tmp_path):
    planner = GreedyPlanner()
    for name, size, first, last in (("t:a", 100, 0, 1), ("t:b", 50, 1, 2), ("scratch:c", 30, 2, 2)):
        planner.add_buffer(name, size, first, last)
    arena = planner.plan()
    rows = [{"index": 0, "kind": "CONV_2D", "latency": 1000, "latency_per_mac": 2.5, "weight_bytes": 10, "op": "c",
             "sqnr_db": float("inf"), "saturation": 0.0},
            {"index": 1, "kind": "FULLY_CONNECTED", "latency": 300, "latency_per_mac": None, "weight_bytes": 0,
             "op": "f", "sqnr_db": 31.5, "saturation": 0.01}]
    page = Page("charts")
    page.figure(charts.arena_chart(planner.buffers, arena), "arena")
    page.figure(charts.latency_chart(rows, "instructions", "QEMU"), "latency")
    page.figure(charts.latency_per_mac_chart(rows, "instructions"), "per_mac")
    page.figure(charts.sqnr_chart(rows), "sqnr")
    page.figure(charts.saturation_chart(rows), "saturation")
    page.figure(charts.confusion_chart(np.array([0, 1, 1]), np.array([0, 1, 0]), 2), "confusion")
    page.figure(charts.breakdown_chart({"flash": {"weights": 10, "kernels": 30}, "ram": {"arena": 5}}, 1000, 100),
                "memory")
    page.pre("A|B <c>")
    out = tmp_path / "r.html"
    page.write(out)
    html = out.read_text()
    names = ["arena", "latency", "per_mac", "sqnr", "saturation", "confusion", "memory"]
    assert chart_names(html) == page.charts() == names
    assert html.count("<svg") == len(names) and "<?xml" not in html and "<pre>A|B &lt;c&gt;</pre>" in html
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary left
