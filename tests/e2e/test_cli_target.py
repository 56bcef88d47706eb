"""The CLI on targets: `run --board mps2-an386` in QEMU, `flash` through QEMU's gdbstub, `run --port`, and the
one-line errors for hangs, ports, probes and boards."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from mcucompress.boards import load_board
from mcucompress.codegen.project import compile_graph
from mcucompress.errors import McuError
from mcucompress.examples import DIGITS_INT8, DIGITS_TEST
from mcucompress.harness.device import DeviceTimeout
from mcucompress.harness.qemu import QemuGdbTarget, run_on_qemu
from tests.cli import run_cli
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.graphs import tiny_conv_fc

pytestmark = needs_arm_toolchain_and_qemu
needs_gdb = pytest.mark.skipif(shutil.which("gdb-multiarch") is None, reason="needs gdb-multiarch (Debian package)")


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def digits_subset(tmp_path_factory):
    """The first 24 test digits with labels (enough for accuracy, fast on QEMU)."""
    data = np.load(DIGITS_TEST)
    path = tmp_path_factory.mktemp("data") / "digits24.npz"
    np.savez(path, x=data["x"][:24], y=data["y"][:24])
    return path


def assert_target_report(report: dict, board: str, samples: int, unit: str) -> None:
    assert report["board"] == board and report["samples"] == samples
    assert report["bit_exact"] is True and report["mismatches"] == 0
    lat = report["latency"]
    assert lat["unit"] == unit and 0 < lat["min"] <= lat["median"] <= lat["max"]
    layers = report["per_layer"]
    assert [row["kind"] for row in layers][:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert sum(row["macs"] for row in layers) == report["macs"] > 0
    # per-layer latencies add up to the whole invoke but for the timing hooks
    assert 0.97 * lat["median"] <= sum(row["latency"] for row in layers) <= 1.01 * lat["max"]
    assert all(row["latency_per_mac"] > 0 for row in layers if row["macs"])
    assert all(isinstance(row["latency"], int) for row in layers)  # median, in whole instructions or cycles
    clock = load_board(board).clock_hz
    assert lat["clock_hz"] == clock and lat["estimated_ms"] == round(1e3 * lat["median"] / clock, 3)
    assert all(row["estimated_us"] == round(1e6 * row["latency"] / clock, 1) for row in layers)
    mem = report["memory"]
    assert mem["flash_bytes"] > mem["weights_bytes"] > 0 and mem["ram_bytes"] > mem["arena_bytes"] > 0
    assert 0.9 <= report["accuracy"]["top1"] <= 1.0


def test_run_digits_on_qemu_reports_latency_accuracy_memory(digits_subset, tmp_path):
    out = cli("run", DIGITS_INT8, "--board", "mps2-an386", "--data", digits_subset, "--json", tmp_path / "r.json",
              "--save-outputs", tmp_path / "out.npy")
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert_target_report(report, "mps2-an386", 24, "instructions")
    ref = cli("run", DIGITS_INT8, "--board", "reference", "--data", digits_subset, "--save-outputs", tmp_path / "ref.npy")
    assert ref.returncode == 0, ref.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), np.load(tmp_path / "ref.npy"))
    assert "latency (instructions)" in out.stdout and "bit-exact vs reference: True" in out.stdout
    assert "time at 25 MHz" in out.stdout and "estimated at one cycle per instruction" in out.stdout


@needs_gdb
def test_flash_through_gdbstub_then_run_over_the_port(digits_subset, tmp_path):
    """QEMU stands in for a board behind a probe: an empty halted machine, flashed with gdb load + verify."""
    project = tmp_path / "proj"
    assert cli("compile", DIGITS_INT8, "-o", project).returncode == 0
    with QemuGdbTarget("mps2-an386") as (gdb, url):
        out = cli("flash", project, "--board", "mps2-an386", "--probe", "gdb", "--gdb-server", gdb)
        assert out.returncode == 0, out.stderr
        assert "flashed and verified" in out.stdout
        out = cli("run", DIGITS_INT8, "--board", "mps2-an386", "--port", url, "--no-flash", "--data", digits_subset,
                  "--json", tmp_path / "r.json")
        assert out.returncode == 0, out.stderr
    assert_target_report(json.loads((tmp_path / "r.json").read_text()), "mps2-an386", 24, "instructions")


@needs_gdb
def test_run_with_port_flashes_first(digits_subset, tmp_path):
    with QemuGdbTarget("mps2-an386") as (gdb, url):
        out = cli("run", DIGITS_INT8, "--board", "mps2-an386", "--port", url, "--probe", "gdb", "--gdb-server", gdb,
                  "--data", digits_subset, "--json", tmp_path / "r.json")
        assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "r.json").read_text())["bit_exact"] is True


@needs_gdb
def test_run_with_port_refuses_a_board_running_another_model(digits_subset, tmp_path):
    project = tmp_path / "proj"
    graph = tiny_conv_fc()
    from mcucompress.codegen.project import write_project

    write_project(compile_graph(graph, "tiny"), project)
    with QemuGdbTarget("mps2-an386") as (gdb, url):
        assert cli("flash", project, "--board", "mps2-an386", "--gdb-server", gdb).returncode == 0
        out = cli("run", DIGITS_INT8, "--board", "mps2-an386", "--port", url, "--no-flash", "--data", digits_subset)
    assert out.returncode == 2 and "reflash it" in out.stderr and len(out.stderr.splitlines()) == 1


@needs_gdb
def test_flash_without_a_gdb_server_is_one_line(tmp_path):
    project = tmp_path / "proj"
    assert cli("compile", DIGITS_INT8, "-o", project).returncode == 0
    out = cli("flash", project, "--board", "mps2-an386", "--gdb-server", "127.0.0.1:1")
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1
    assert "flashing mps2-an386 with gdb-multiarch failed" in out.stderr


@pytest.mark.parametrize("probe, expect", [("openocd", "openocd -f board/st_nucleo_l4.cfg -c 'program "),
                                           ("pyocd", "pyocd load --target stm32l4r5zitx "),
                                           ("gdb", "target remote localhost:3333")])
def test_flash_dry_run_prints_the_probe_command(tmp_path, probe, expect):
    project = tmp_path / "proj"
    assert cli("compile", DIGITS_INT8, "-o", project).returncode == 0
    out = cli("flash", project, "--board", "nucleo-l4r5zi", "--probe", probe, "--dry-run")
    assert out.returncode == 0, out.stderr
    assert expect in out.stdout and "fw.elf" in out.stdout


def test_flash_of_a_directory_without_a_project(tmp_path):
    out = cli("flash", tmp_path, "--board", "mps2-an386")
    assert out.returncode == 2 and "no <prefix>_model.h" in out.stderr and len(out.stderr.splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["--board", "nucleo-l4r5zi"], "is real hardware: give --port"),
    (["--board", "mps2-an999"], "unknown board 'mps2-an999'; known boards: reference, host, mps2-an385"),
    (["--board", "mps2-an386", "--port", "/dev/ttyNOSUCH0", "--no-flash"], "runs in QEMU, which takes no port"),
    (["--board", "nucleo-l4r5zi", "--port", "/dev/ttyNOSUCH0", "--no-flash"], "cannot open serial link /dev/ttyNOSUCH0"),
    (["--board", "host", "--port", "/dev/ttyNOSUCH0"], "--port needs a board of boards/"),
])
def test_board_and_port_errors_are_one_line(digits_subset, args, message):
    out = cli("run", DIGITS_INT8, "--data", digits_subset, *args)
    assert out.returncode == 2 and message in out.stderr and len(out.stderr.splitlines()) == 1, out.stderr


def test_busy_port_is_one_line(digits_subset):
    controller, device = os.openpty()
    name = os.ttyname(device)
    holder = os.open(name, os.O_RDWR | os.O_NOCTTY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what pyserial's exclusive open takes
        out = cli("run", DIGITS_INT8, "--board", "nucleo-l4r5zi", "--port", name, "--no-flash", "--data", digits_subset)
    finally:
        for fd in (holder, device, controller):
            os.close(fd)
    assert out.returncode == 2 and "Could not exclusively lock port" in out.stderr
    assert len(out.stderr.splitlines()) == 1


def test_hanging_firmware_times_out_with_the_last_bytes(tmp_path):
    graph = tiny_conv_fc()
    x = np.zeros((1, *graph.t(graph.inputs[0]).shape[1:]), np.int8)
    with pytest.raises(DeviceTimeout, match=r"INVOKE.*last \d+ of \d+ bytes received") as err:
        run_on_qemu(compile_graph(graph, "tiny"), x, graph.t("y").shape, workdir=tmp_path,
                    extra_cflags=("-DMCC_TEST_HANG",), invoke_timeout=1.0)
    assert "\n" not in str(err.value)


def test_model_too_big_for_a_real_board_is_refused_before_building(tmp_path):
    import dataclasses

    from mcucompress.harness.target import run_on_board

    graph = tiny_conv_fc()
    tiny_ram = dataclasses.replace(load_board("nucleo-f401re"), ram_size=64)
    with pytest.raises(McuError, match=r"activation arena needs [\d,]+ B but RAM is 64 B \([\d,]+ B too many\)"):
        run_on_board(compile_graph(graph, "tiny"), np.zeros((1, 6, 6, 2), np.int8), (1, 5), tiny_ram,
                     port="loop://", workdir=tmp_path)
