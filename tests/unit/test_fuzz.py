"""A short seeded fuzz campaign in the default suite (issue 14): only the project's own errors come out.

The long campaign is `python -m tests.fuzz --cases 1000000 --jobs 2` (tests/fuzz). The tests below also
show that the campaign runner really finds what it looks for: an injected exception is reported with its
site, a worker that dies or hangs is recorded and the campaign goes on.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import tflite

from mcucompress import driver
from mcucompress.errors import GraphError
from mcucompress.examples import DIGITS_INT8
from tests.fuzz.campaign import BUNDLED, campaign, load_seeds, mutant, run_case

SEEDS = load_seeds(BUNDLED)


def test_seeds_cover_both_importers_and_mutants_are_reproducible():
    assert {s.kind for s in SEEDS} == {"tflite", "onnx"} and len(SEEDS) >= 8
    a, b = mutant(SEEDS, 7, 123), mutant(SEEDS, 7, 123)
    assert a[1] == b[1] and a[2] == b[2]
    assert len({mutant(SEEDS, 7, c)[1] for c in range(40)}) > 30


def test_short_campaign_gives_only_project_errors():
    report = campaign(SEEDS, cases=int(os.environ.get("MCC_FUZZ_CASES", 600)), jobs=2, campaign_seed=1234,
                      timeout=30, compile_every=7)
    print(report.summary())
    assert report.cases == int(os.environ.get("MCC_FUZZ_CASES", 600))
    assert not report.findings, report.summary()
    assert report.outcomes["ok"] > 0 and report.outcomes["error"] > 0  # mutants both load and fail


def test_campaign_reports_an_injected_bug_with_its_site(monkeypatch):
    def broken(path, *args, **kwargs):
        raise RuntimeError("injected")

    monkeypatch.setattr(driver, "load", broken)
    report = campaign(SEEDS, cases=4, jobs=1, campaign_seed=1)
    assert report.outcomes["uncaught"] == 4
    assert all("RuntimeError" in d and "test_fuzz.py" in d for _, _, d, _ in report.findings)


def test_campaign_records_a_dead_or_hung_worker_and_goes_on(monkeypatch):
    real = driver.load

    def flaky(path, *args, **kwargs):
        data = path.read_bytes()
        if data == mutant(SEEDS, 5, 1)[1]:
            os._exit(9)
        if data == mutant(SEEDS, 5, 3)[1]:
            time.sleep(30)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(driver, "load", flaky)
    report = campaign(SEEDS, cases=6, jobs=1, campaign_seed=5, timeout=1)
    assert report.cases == 6
    assert [(c, o) for c, o, _, _ in report.findings] == [(1, "death"), (3, "hang")]


def test_fully_connected_wider_than_its_weights_is_rejected(tmp_path):
    """The memory-safety mutant of issue 14, made here: the output of the FC 256 -> 10 stored as [1, 20]."""
    raw = bytearray(DIGITS_INT8.read_bytes())
    sg = tflite.Model.GetRootAs(bytes(raw), 0).Subgraphs(0)
    fc = next(sg.Operators(i) for i in range(sg.OperatorsLength()) if sg.Operators(i).InputsLength() == 3
              and sg.Tensors(sg.Operators(i).Inputs(1)).ShapeLength() == 2)
    out = sg.Tensors(fc.Outputs(0))
    tab = out._tab
    pos = tab.Vector(tab.Offset(4)) + 4 * (out.ShapeLength() - 1)
    raw[pos : pos + 4] = np.int32(2 * out.Shape(out.ShapeLength() - 1)).tobytes()
    path = tmp_path / "wide_fc.tflite"
    path.write_bytes(bytes(raw))
    with pytest.raises(GraphError, match=r"FULLY_CONNECTED.*has shape \[1, 20\].*give 1 rows of 10"):
        driver.load(path)


def test_campaign_findings_stay_fixed(tmp_path):
    """Findings of long campaigns, regenerated from the bundled seeds by (campaign seed, case number)."""
    found = [(14, 122475),  # ONNX input dimension name that is not UTF-8 (TypeError in _fix_input_shapes)
             (15, 92349), (15, 105119), (15, 184295),  # a scalar tensor given per-axis scales (IndexError)
             (15, 312994)]  # constant CONCATENATION without its options (was caught only by the backstop)
    for campaign_seed, case in found:
        outcome = run_case(SEEDS, campaign_seed, case, tmp_path, 30, 0)
        assert outcome[0] in ("ok", "error"), outcome
