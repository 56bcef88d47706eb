"""Hardware-in-the-loop tests through the pytest plugin's `mcu_target` fixture.

By default they run on mps2-an386 in QEMU; `pytest tests/e2e/test_hil.py --mcu-board nucleo-l4r5zi
--mcu-port /dev/ttyACM0` runs the same tests on a real board (flashed through its probe).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mcucompress.examples import DIGITS_INT8, DIGITS_TEST
from tests.conftest import INT8_MODELS, lcg_input, shared_model


def test_digits_cnn_on_the_target(mcu_target):
    data = np.load(DIGITS_TEST)
    run = mcu_target.run(DIGITS_INT8, data["x"][:16])
    report = run.report
    assert report["bit_exact"] and report["mismatches"] == 0 and run.outputs.shape == (16, 10)
    assert report["latency"]["unit"] in ("instructions", "cycles") and report["latency"]["min"] > 0
    assert report["memory"]["flash_bytes"] > report["memory"]["weights_bytes"]
    assert (run.outputs.argmax(axis=1) == data["y"][:16]).mean() >= 0.85


@pytest.mark.slow
@pytest.mark.parametrize("name", INT8_MODELS)
def test_mlperf_tiny_model_on_the_target(mcu_target, name):
    from mcucompress.driver import load

    graph = load(shared_model(name))
    shape = graph.t(graph.inputs[0]).shape
    x = np.stack([lcg_input(int(np.prod(shape))).reshape(shape[1:]),
                  np.random.default_rng(0).integers(-128, 128, shape[1:]).astype(np.int8)])
    run = mcu_target.run(graph, x)
    assert run.report["bit_exact"], run.report["mismatches"]


PLUGIN_PROBE = """
def test_board(mcu_target):
    print("BOARD", mcu_target.board, mcu_target.port)
"""


def run_pytest(tmp_path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_probe.py").write_text(PLUGIN_PROBE)
    return subprocess.run([sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "--rootdir",
                           str(tmp_path), str(tmp_path / "test_probe.py"), *args], capture_output=True, text=True,
                          check=False, cwd=tmp_path, timeout=120)


def test_plugin_options_reach_the_fixture(tmp_path):
    out = run_pytest(tmp_path, "--mcu-board", "mps2-an505")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BOARD mps2-an505 None" in out.stdout and "mcucompress: board mps2-an505 (QEMU)" in out.stdout


@pytest.mark.parametrize("args, message", [(["--mcu-board", "nope"], "unknown board 'nope'; known boards"),
                                           (["--mcu-board", "nucleo-f746zg"], "is real hardware: give --mcu-port")])
def test_plugin_rejects_bad_boards(tmp_path, args, message):
    out = run_pytest(tmp_path, *args)
    assert out.returncode == 4 and message in out.stderr
