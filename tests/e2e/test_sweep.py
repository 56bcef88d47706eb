"""`mcucompress sweep` end to end on the digits CNN (100 test samples): --jobs 2 and --ray local give the same
results.csv byte for byte, a sweep killed with SIGKILL resumes from its cache, QEMU rows carry instructions,
flash and RAM, and report.html has the Pareto charts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT, DIGITS_TEST
from tests.e2e.helpers import needs_arm_toolchain_and_qemu

REPO = Path(__file__).resolve().parents[2]
GRID = """calibration_method = ["minmax", "percentile"]
per_tensor = [false, true]
prune = ["none", "unstructured:0.5"]
"""
# Eight host builds: without AddressSanitizer each takes a fifth of the time. The generated C runs under the
# sanitizers in the codegen and kernel tests; here the subject is the scheduling, caching and reporting.
ENV = {**os.environ, "MCC_HOST_SANITIZE": "0"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep_inputs")
    with np.load(DIGITS_TEST) as f:
        np.savez(root / "test100.npz", x=f["x"][:100], y=f["y"][:100])
    (root / "grid.toml").write_text(GRID)
    return root


def _command(inputs: Path, out: Path, *extra, grid: Path | None = None) -> list[str]:
    return [sys.executable, "-m", "mcucompress.cli", "sweep", str(DIGITS_FLOAT), "--calibration",
            str(DIGITS_CALIBRATION), "--data", str(inputs / "test100.npz"), "--grid", str(grid or inputs / "grid.toml"),
            "-o", str(out), *extra]


def _sweep(inputs: Path, out: Path, *extra, grid: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(_command(inputs, out, *extra, grid=grid), capture_output=True, text=True, cwd=REPO,
                            env=ENV, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    return result


def _finished_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("[")]


@pytest.fixture(scope="module")
def jobs2(inputs, tmp_path_factory):
    """The uninterrupted sweep with two local worker processes: the reference the other runs must equal."""
    out = tmp_path_factory.mktemp("sweep_jobs2")
    result = _sweep(inputs, out, "--jobs", "2")
    assert "8 configurations; 0 reused" in result.stderr
    assert len(_finished_lines(result.stderr)) == 8
    return out


def test_jobs2_results_and_report(jobs2):
    lines = (jobs2 / "results.csv").read_text().splitlines()
    assert len(lines) == 9
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    # grid order: calibration_method, then per_tensor, then prune varies fastest
    assert [(r["calibration_method"], r["per_tensor"], r["prune"]) for r in rows[:3]] == [
        ("minmax", "false", "none"), ("minmax", "false", "unstructured:0.5"), ("minmax", "true", "none")]
    for r in rows:
        assert r["board"] == "host" and r["samples"] == "100" and r["error"] == ""
        assert r["bit_exact"] == "true" and r["instructions"] == "" and r["flash_bytes"] == ""
        assert 0.8 < float(r["top1"]) <= 1.0 and int(r["weights_bytes"]) > 0
    assert any(r["pareto"] == "true" for r in rows)
    page = (jobs2 / "report.html").read_text()
    assert 'data-chart="pareto-accuracy-size"' in page and "<svg" in page and 'data-table="configurations"' in page
    assert len(list((jobs2 / "cache").glob("*.json"))) == 8
    assert not (jobs2 / "work").exists()


def test_rerun_reuses_everything(jobs2, inputs, tmp_path):
    before = (jobs2 / "results.csv").read_bytes()
    result = _sweep(inputs, jobs2, "--jobs", "2")
    assert "8 configurations; 8 reused" in result.stderr and not _finished_lines(result.stderr)
    assert (jobs2 / "results.csv").read_bytes() == before


def test_ray_local_equals_jobs2(jobs2, inputs, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    result = _sweep(inputs, out, "--jobs", "2", "--ray", "local")
    assert "on a local Ray cluster" in result.stderr and len(_finished_lines(result.stderr)) == 8
    assert (out / "results.csv").read_bytes() == (jobs2 / "results.csv").read_bytes()


def _cached(out: Path) -> int:
    return len(list((out / "cache").glob("*.json")))


def _start_and_wait(inputs: Path, out: Path, cached: int) -> subprocess.Popen:
    """Start the sweep (one worker: configurations finish one at a time) and wait until `cached` are cached."""
    proc = subprocess.Popen(_command(inputs, out, "--jobs", "1"), cwd=REPO, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while _cached(out) < cached:
            assert proc.poll() is None, "the sweep ended before it could be stopped"
            assert time.monotonic() < deadline, f"{cached} configurations not cached within 300 s"
            time.sleep(0.05)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return proc


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_resume_after_sigterm_and_sigkill(jobs2, inputs, tmp_path):
    out = tmp_path / "killed"
    # SIGTERM to the CLI alone: it stops its workers at once (what they were running is lost, not waited for).
    proc = _start_and_wait(inputs, out, 1)
    try:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 143
        deadline = time.monotonic() + 20
        while _group_alive(proc.pid):  # the workers (a compiler they started may take a moment to finish)
            assert time.monotonic() < deadline, "the sweep's workers outlived it"
            time.sleep(0.1)
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
    after_term = _cached(out)
    # SIGKILL to the CLI and its workers: no chance to clean up anything.
    proc = _start_and_wait(inputs, out, after_term + 1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    cached = _cached(out)
    assert 2 <= cached < 8
    assert not (out / "results.csv").exists()
    result = _sweep(inputs, out, "--jobs", "2")
    assert f"8 configurations; {cached} reused" in result.stderr
    assert len(_finished_lines(result.stderr)) == 8 - cached
    assert (out / "results.csv").read_bytes() == (jobs2 / "results.csv").read_bytes()
    assert not list((out / "cache").glob(".*.part")) and not (out / "work").exists()


@needs_arm_toolchain_and_qemu
def test_qemu_rows_have_instructions_flash_and_ram(inputs, tmp_path):
    grid = tmp_path / "qemu.toml"
    grid.write_text('prune = ["none", "1:4"]\nboard = ["mps2-an386"]\n')
    out = tmp_path / "qemu"
    _sweep(inputs, out, "--jobs", "2", grid=grid)  # two QEMUs at once: each its own port and build folder
    lines = (out / "results.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    assert [r["prune"] for r in rows] == ["none", "1:4"]
    for r in rows:
        assert r["board"] == "mps2-an386" and r["bit_exact"] == "true" and r["error"] == ""
        assert int(r["instructions"]) > 10_000 and int(r["flash_bytes"]) > int(r["weights_bytes"])
        assert int(r["ram_bytes"]) > int(r["arena_bytes"])
    assert int(rows[1]["weights_bytes"]) < int(rows[0]["weights_bytes"])  # 1:4 in a sparse format
    assert 'data-chart="pareto-accuracy-latency"' in (out / "report.html").read_text()


@needs_arm_toolchain_and_qemu
def test_qemu_never_takes_another_runs_port(tmp_path, monkeypatch):
    """Parallel workers pick free ports independently: when another process already listens on the port a QEMU
    was given, that QEMU fails to bind and the session retries on another port, never talking to the stranger."""
    import socket

    from mcucompress.boards import load_board
    from mcucompress.codegen.project import compile_graph, write_project
    from mcucompress.harness import qemu
    from mcucompress.harness.firmware import build_firmware
    from tests.graphs import tiny_conv_fc

    model = compile_graph(tiny_conv_fc(), "tiny")
    project = write_project(model, tmp_path / "project", force=True)
    firmware = build_firmware(project, load_board("mps2-an386"), "tiny", build_dir=tmp_path / "build")
    with socket.socket() as stranger:  # another run's QEMU, as far as the port is concerned: listening, silent
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        taken = stranger.getsockname()[1]
        assert qemu.listens(os.getpid(), taken) is True
        given = [taken]
        free = qemu.free_port
        monkeypatch.setattr(qemu, "free_port", lambda: given.pop() if given else free())
        with qemu.QemuSession("mps2-an386", firmware.elf, timeout=5) as device:
            assert device.hello().model_hash == model.model_hash
        assert not given  # the taken port was offered first
