"""`run --report` of the digits CNN quantized for the run and measured on QEMU: the HTML report renders in
headless chromium with every chart, and the JSON holds the firmware breakdown and the validation."""

from __future__ import annotations

import json

import numpy as np

from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT, DIGITS_TEST
from tests.browser import chart_names, render
from tests.cli import run_cli
from tests.e2e.helpers import needs_arm_toolchain_and_qemu

CHARTS = ["latency", "latency_per_mac", "arena", "weights", "memory", "sqnr", "confusion"]


@needs_arm_toolchain_and_qemu
def test_qemu_run_report_renders_every_chart(tmp_path):
    d = np.load(DIGITS_TEST)
    data = tmp_path / "d.npz"
    np.savez(data, x=d["x"][:50], y=d["y"][:50])
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    out = run_cli("run", DIGITS_FLOAT, "--calibration", DIGITS_CALIBRATION, "--data", data, "--board", "mps2-an386",
                  "--report", html, "--json", js, check=True)
    assert "vs float" in out.stdout and "flash: weights" in out.stdout

    report = json.loads(js.read_text())
    mem = report["memory"]
    parts = mem["breakdown"]
    assert sum(parts["flash"].values()) == mem["flash_bytes"] and sum(parts["ram"].values()) == mem["ram_bytes"]
    assert parts["flash"]["weights"] == mem["weights_bytes"] and parts["ram"]["arena"] == mem["arena_bytes"]
    (val,) = report["validation"]["outputs"]
    assert val["cosine"] > 0.99 and val["top1_agreement"] >= 0.95
    assert report["toolchain"]["qemu-system-arm"].startswith("QEMU") and report["toolchain"]["arm-none-eabi-gcc"]

    text = html.read_text(encoding="utf-8")
    assert chart_names(text) == CHARTS
    assert "instructions counted by QEMU, not cycles" in text and report["toolchain"]["qemu-system-arm"] in text
    boxes, errors = render(html)
    assert errors == []
    assert sorted(boxes) == sorted(CHARTS)
    assert all(w > 0 and h > 0 for w, h in boxes.values()), boxes
