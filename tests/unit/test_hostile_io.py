"""Defence in depth and operating-system failures (issue 14).

`compile --checks` builds assert every tensor extent before each kernel; host builds in the tests run under
ASan and UBSan; labels are checked like inputs; a missing or unwritable destination is one line and leaves
nothing written; temporary names never collide with a user's files; two `compile --force` runs on one
folder both succeed; SIGTERM removes the temporary build folder; a runner killed by a signal is named.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from mcucompress import cli, driver
from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.examples import DIGITS_INT8, DIGITS_TEST
from mcucompress.harness.host import build_runner, run_runner, runner_failure, sanitize_default
from mcucompress.reference import executor
from tests.conftest import REPO


def _one_line(capsys, argv, *needles) -> str:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("mcucompress: error: "), (code, err)
    for n in needles:
        assert n in err, (n, err)
    return err


def test_checked_build_runs_bit_exact_under_sanitizers_and_stops_on_a_bad_extent(tmp_path):
    assert sanitize_default()  # tests/conftest.py: host builds here use ASan + UBSan
    graph = driver.load(DIGITS_INT8)
    compiled = compile_graph(graph, "dg", checks=True)
    model_c = compiled.files["dg_model.c"]
    assert model_c.count("MCC_CHECK_IN(") >= 2 * len(compiled.calls) and "MCC_BOUNDS_ERROR" in model_c
    x = np.load(DIGITS_TEST)["x"][:8]
    from mcucompress.dataset import quantize_input

    xq = quantize_input(x, graph.t(graph.inputs[0])).reshape(8, *graph.t(graph.inputs[0]).shape[1:])
    project = write_project(compiled, tmp_path / "ok")
    out = run_runner(build_runner(project, "dg"), xq, graph.t(graph.outputs[0]).shape)
    assert np.array_equal(out, np.stack([executor.run(graph, [xi[None]])[0][0] for xi in xq]))
    # An inconsistency the verifier would have caught, slipped into the C: the last layer claims 4x its output.
    bad = dict(compiled.files)
    last = compiled.calls[-1]
    dims = next(s for s in last.statics if s.name.endswith("_out_dims") or s.name.endswith("_params"))
    text = bad["dg_model.c"]
    if dims.name.endswith("_out_dims"):
        text = text.replace(f"{dims.name} = {{\n    .n = 1,", f"{dims.name} = {{\n    .n = 4,", 1)
    else:  # softmax: (p, rows, depth, in, out), one argument per line
        rows, depth = last.int_arg(1), last.int_arg(2)
        argument = f"    {rows},  /* rows */"
        assert argument in text
        text = text.replace(argument, f"    4 * {rows},  /* rows */", 1)
        check = f"(size_t){rows} * {depth}"  # the kernel's run-time extent, in its check too
        assert check in text
        text = text.replace(check, f"(size_t)(4 * {rows}) * {depth}", 1)
    assert text != bad["dg_model.c"]
    compiled.files["dg_model.c"] = text
    project = write_project(compiled, tmp_path / "bad")
    with pytest.raises(Exception, match="status -3"):
        run_runner(build_runner(project, "dg"), xq[:1], graph.t(graph.outputs[0]).shape)


@pytest.mark.parametrize("y, needle", [
    (np.array(["a"] * 540), "dtype"),
    (np.full(540, np.nan), "NaN"),
    (np.full(540, 10), "label 10"),
    (np.zeros(7, np.int64), "7 labels"),
    (np.full(540, -1), "negative"),
    (np.full(540, 0.5), "fractional"),
])
def test_bad_labels_are_one_line(tmp_path, capsys, y, needle):
    data = tmp_path / "d.npz"
    np.savez(data, x=np.load(DIGITS_TEST)["x"], y=y)
    _one_line(capsys, ["run", DIGITS_INT8, "--data", data], str(data), needle)


def test_inputs_beyond_float32_are_one_line(tmp_path, capsys):
    data = tmp_path / "d.npz"
    np.savez(data, x=np.full((2, 8, 8, 1), 1e300))
    _one_line(capsys, ["run", DIGITS_INT8, "--data", data], "float32 range")


def test_unwritable_json_fails_first_and_leaves_nothing(tmp_path, capsys):
    _one_line(capsys, ["compile", DIGITS_INT8, "-o", tmp_path / "proj", "--json", tmp_path / "missing" / "s.json"],
              "missing")
    assert not (tmp_path / "proj").exists()
    _one_line(capsys, ["run", DIGITS_INT8, "--data", DIGITS_TEST, "--save-outputs", tmp_path / "o.npy",
                       "--json", tmp_path / "missing" / "r.json"], "missing")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("errno, text", [(28, "No space left on device"), (13, "Permission denied")])
def test_disk_full_or_permission_denied_is_one_line(tmp_path, capsys, monkeypatch, errno, text):
    """Simulated: the tests run as root, which no file permission stops."""
    import pathlib

    def refuse(self, *args, **kwargs):
        raise OSError(errno, text, str(self))

    monkeypatch.setattr(pathlib.Path, "write_text", refuse)
    _one_line(capsys, ["compile", DIGITS_INT8, "-o", tmp_path / "proj"], text)
    assert os.listdir(tmp_path) == []


def test_temporary_names_never_touch_a_users_file(tmp_path, capsys):
    (tmp_path / "r.json.tmp").write_text("mine")
    assert cli.main(["run", str(DIGITS_INT8), "--board", "reference", "--data", str(DIGITS_TEST), "--json", str(tmp_path / "r.json")]) == 0
    capsys.readouterr()
    assert (tmp_path / "r.json.tmp").read_text() == "mine"
    assert sorted(os.listdir(tmp_path)) == ["r.json", "r.json.tmp"]


def test_two_forced_compiles_of_one_folder_both_succeed(tmp_path):
    out = tmp_path / "proj"
    cmd = [sys.executable, "-m", "mcucompress.cli", "compile", str(DIGITS_INT8), "-o", str(out), "--force"]
    for _ in range(2):
        procs = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
        results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
        assert all(code == 0 for _, _, code in results), results
    assert (out / "digits_cnn_int8_model.c").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]  # no leftovers


def test_sigterm_removes_the_temporary_build_folder(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "mcucompress.cli", "run", str(DIGITS_INT8), "--board", "host",
                             "--data", str(DIGITS_TEST)], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(tmp_path.iterdir()), "the run never made its temporary folder"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "terminated" in err, (proc.returncode, err)
    assert list(tmp_path.iterdir()) == []


def test_a_runner_killed_by_a_signal_is_named():
    assert runner_failure(-signal.SIGSEGV, "") == "killed by SIGSEGV"
    assert runner_failure(1, "==1==ERROR: AddressSanitizer: x\nmore\nSUMMARY: AddressSanitizer: global-buffer-overflow m.c:3\n") \
        == "SUMMARY: AddressSanitizer: global-buffer-overflow m.c:3"


def test_sigterm_handler_is_installed_only_in_the_main_thread():
    codes = []
    t = threading.Thread(target=lambda: codes.append(cli.main(["inspect", str(REPO / "nope.tflite")])))
    t.start()
    t.join()
    assert codes == [2]
