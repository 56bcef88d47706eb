"""HTML reports of compile, quantize, prune and run (reference board): each has its charts, writes nothing
when its destination is unwritable, and one loads in headless chromium without errors. The QEMU run's
report is tested in tests/e2e/test_run_report.py."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from mcucompress import cli
from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT, DIGITS_INT8, DIGITS_TEST
from tests.browser import chart_names, render

HAS_ARM_GCC = shutil.which("arm-none-eabi-gcc") is not None


def _charts(path) -> list[str]:
    return chart_names(path.read_text(encoding="utf-8"))


def test_compile_report_with_a_board_has_the_arena_weights_and_firmware_breakdown(tmp_path):
    html, js = tmp_path / "c.html", tmp_path / "c.json"
    assert cli.main(["compile", str(DIGITS_INT8), "-o", str(tmp_path / "p"), "--board", "mps2-an386",
                     "--report", str(html), "--json", str(js)]) == 0
    memory = json.loads(js.read_text())["memory"]
    text = html.read_text()
    if HAS_ARM_GCC:
        assert _charts(html) == ["arena", "weights", "memory"]
        assert sum(memory["breakdown"]["flash"].values()) == memory["flash_bytes"]
        assert "arm-none-eabi-gcc" in text and 'data-table="breakdown"' in text
    else:
        assert _charts(html) == ["arena", "weights"] and memory["breakdown"] is None
        assert "arm-none-eabi-gcc not found" in text
    assert "<script" not in text and "http" not in text.split("<svg", 1)[0]  # nothing to fetch or run


def test_compile_report_without_a_board_says_why_there_is_no_breakdown(tmp_path):
    html = tmp_path / "c.html"
    assert cli.main(["compile", str(DIGITS_INT8), "-o", str(tmp_path / "p"), "--report", str(html)]) == 0
    assert _charts(html) == ["arena", "weights"] and "no --board given" in html.read_text()


def test_quantize_report_and_layers_table(tmp_path, capsys):
    html, out = tmp_path / "q.html", tmp_path / "q.tflite"
    assert cli.main(["quantize", str(DIGITS_FLOAT), "--calibration", str(DIGITS_CALIBRATION), "-o", str(out),
                     "--report", str(html)]) == 0
    assert _charts(html) == ["sqnr", "saturation"] and "SQNR dB" not in capsys.readouterr().out
    assert cli.main(["quantize", str(DIGITS_FLOAT), "--calibration", str(DIGITS_CALIBRATION), "-o", str(out),
                     "--layers"]) == 0
    assert "SQNR dB" in capsys.readouterr().out


def test_prune_report(tmp_path):
    html = tmp_path / "p.html"
    assert cli.main(["prune", str(DIGITS_FLOAT), "-o", str(tmp_path / "p.tflite"), "--method", "unstructured",
                     "--sparsity", "0.5", "--calibration", str(DIGITS_CALIBRATION), "--report", str(html)]) == 0
    assert _charts(html) == ["sparsity", "macs", "sqnr"]
    assert 'data-table="layers"' in html.read_text()


@pytest.mark.parametrize("command", [
    ["quantize", str(DIGITS_FLOAT), "--calibration", str(DIGITS_CALIBRATION), "-o", "{tmp}/out.tflite"],
    ["compile", str(DIGITS_INT8), "-o", "{tmp}/project"],
    ["prune", str(DIGITS_FLOAT), "-o", "{tmp}/out.tflite", "--method", "2:4", "--calibration",
     str(DIGITS_CALIBRATION), "--json", "{tmp}/p.json"],
    ["run", str(DIGITS_INT8), "--board", "reference", "--data", str(DIGITS_TEST), "--json", "{tmp}/r.json"],
])
def test_an_unwritable_report_fails_before_the_work_and_leaves_nothing(tmp_path, capsys, command):
    args = [a.format(tmp=tmp_path) for a in command] + ["--report", str(tmp_path / "missing" / "r.html")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing" in err
    assert list(tmp_path.iterdir()) == []


def test_reference_run_report_loads_in_chromium(tmp_path):
    d = np.load(DIGITS_TEST)
    data = tmp_path / "d.npz"
    np.savez(data, x=d["x"][:40], y=d["y"][:40])
    html = tmp_path / "r.html"
    assert cli.main(["run", str(DIGITS_FLOAT), "--board", "reference", "--calibration", str(DIGITS_CALIBRATION),
                     "--data", str(data),
                     "--report", str(html)]) == 0
    expected = ["arena", "weights", "sqnr", "confusion"]  # no latency, no firmware on the reference board
    assert _charts(html) == expected
    assert "Validation against the float model" in html.read_text()
    boxes, errors = render(html)
    assert errors == []
    assert sorted(boxes) == sorted(expected) and all(w > 0 and h > 0 for w, h in boxes.values()), boxes


def test_compile_quantize_and_prune_reports_load_in_chromium(tmp_path):
    pages = {tmp_path / "c.html": ["arena", "weights"], tmp_path / "q.html": ["sqnr", "saturation"],
             tmp_path / "p.html": ["sparsity", "macs", "sqnr"]}
    assert cli.main(["compile", str(DIGITS_INT8), "-o", str(tmp_path / "proj"), "--report",
                     str(tmp_path / "c.html")]) == 0
    assert cli.main(["quantize", str(DIGITS_FLOAT), "--calibration", str(DIGITS_CALIBRATION), "-o",
                     str(tmp_path / "q.tflite"), "--report", str(tmp_path / "q.html")]) == 0
    assert cli.main(["prune", str(DIGITS_FLOAT), "-o", str(tmp_path / "p.tflite"), "--method", "1:4", "--calibration",
                     str(DIGITS_CALIBRATION), "--report", str(tmp_path / "p.html")]) == 0
    for html, expected in pages.items():
        boxes, errors = render(html)
        assert errors == [], html.name
        assert sorted(boxes) == sorted(expected) and all(w > 0 and h > 0 for w, h in boxes.values()), (html, boxes)
