"""The per-sample state policy (harness/state_policy.py) end to end: "carry" (state persists across samples, as
consecutive TFLM invokes) and "reset" (state reset before every sample, as TFLM reset before each invoke) in the
reference executor, the host C runner, the firmware harness on QEMU (INVOKE's flags byte) and `mcucompress run
--state`. Random single-op int8 LSTM and SVDF models written with the TFLite writer; TFLM is the oracle.
"""

from __future__ import annotations

import json
import shutil
import struct

import numpy as np
import pytest

from mcucompress import cli
from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.dataset import random_samples
from mcucompress.driver import reference_outputs, run_graph_on_board
from mcucompress.errors import McuError
from mcucompress.frontend import tflite_writer
from mcucompress.harness import protocol as proto
from mcucompress.harness.host import build_runner, run_runner
from tests.unit.test_recurrent_ops import KINDS, lstm_graph, random_graph, random_inputs

SAMPLES = 4


def tflm_interpreter(g):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(tflite_writer.to_bytes(g), arena_size=1 << 20)


def tflm(g, xs: np.ndarray, state: str, interp=None) -> np.ndarray:
    """TFLM on consecutive samples: one interpreter (a fresh one, or `interp` continuing from where it is)
    invoked in a row ("carry"), or reset before each sample ("reset")."""
    interp = interp or tflm_interpreter(g)
    outs = []
    for x in xs:
        if state == "reset":
            interp.reset()
        interp.set_input(x, 0)
        interp.invoke()
        outs.append(interp.get_output(0).copy())
    return np.stack(outs)


def batch1_lstm(seed: int):
    """A batch-1 int8 LSTM with a few time steps (one sample per invoke, as the harnesses feed it)."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        g = lstm_graph(rng, True, time_major=False)
        if g.t("x").shape[0] == 1 and g.t("x").shape[1] > 1 and g.t("y").shape[-1] > 4:
            return g, rng
    raise AssertionError("no batch-1 LSTM drawn")


def carried_differs(g, xs: np.ndarray) -> None:
    """The two policies must give different outputs on these samples, else the tests below prove nothing."""
    assert not np.array_equal(tflm(g, xs, "carry"), tflm(g, xs, "reset"))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(3))
def test_host_c_and_reference_follow_the_policy(kind, seed, tmp_path):
    """One host runner, both policies (the runner's third argument), against TFLM; the reference likewise."""
    for attempt in range(20):  # a case whose state matters (an SVDF of memory size 1 carries nothing)
        g, rng = random_graph(kind, 5000 + 1000 * KINDS.index(kind) + 50 * seed + attempt)
        xs = np.stack(random_inputs(g, rng, SAMPLES))
        if not np.array_equal(tflm(g, xs, "carry"), tflm(g, xs, "reset")):
            break
    carried_differs(g, xs)
    runner = build_runner(write_project(compile_graph(g, g.name), tmp_path / "project"), g.name)
    shape = (1, *g.t(g.outputs[0]).shape)
    for state in ("carry", "reset"):
        expected = tflm(g, xs, state)
        np.testing.assert_array_equal(run_runner(runner, xs, shape, state=state), expected)
        if xs.shape[1] == 1:  # driver.reference_outputs feeds one batch-1 sample per run
            np.testing.assert_array_equal(reference_outputs(g, xs[:, 0], state), expected[:, 0])
    # carry is the default everywhere
    np.testing.assert_array_equal(run_runner(runner, xs, shape), tflm(g, xs, "carry"))


def test_run_graph_on_host_reports_bit_exact_under_both_policies(tmp_path):
    g, rng = batch1_lstm(6000)
    xs = np.stack(random_inputs(g, rng, SAMPLES))[:, 0]
    carried_differs(g, xs[:, None])
    for state in ("carry", "reset"):
        report, outputs = run_graph_on_board(g, xs, "host", workdir=tmp_path / state, state=state)
        assert report["bit_exact"], report
        expected = tflm(g, xs[:, None], state)[:, 0]
        np.testing.assert_array_equal(outputs, expected)
        np.testing.assert_array_equal(reference_outputs(g, xs, state), expected)


def test_policy_is_a_no_op_without_state(tmp_path):
    from tests.unit.test_reference_ops import graph, q

    g = graph("RELU", [((1, 8), q(0.05, 3), None)], ((1, 8), q(0.05, 3)))
    xs = np.random.default_rng(1).integers(-128, 128, (3, 8)).astype(np.int8)
    runner = build_runner(write_project(compile_graph(g, "relu"), tmp_path / "project"), "relu")
    outs = [run_runner(runner, xs, (1, 8), state=state) for state in ("carry", "reset")]
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], np.maximum(xs, 3))
    model = tmp_path / "relu.tflite"
    model.write_bytes(tflite_writer.to_bytes(g))
    assert cli.main(["run", str(model), "--board", "host", "--samples", "2", "--state", "reset",
                     "--json", str(tmp_path / "r.json")]) == 0
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["bit_exact"] and "state" not in saved  # nothing to say about a model without state


def test_unknown_policy_is_refused(tmp_path):
    g, rng = batch1_lstm(6000)
    xs = np.stack(random_inputs(g, rng, 1))[:, 0]
    with pytest.raises(McuError, match="state policy 'fresh'.*carry.*reset"):
        reference_outputs(g, xs, "fresh")
    with pytest.raises(McuError, match="state policy 'fresh'"):
        run_graph_on_board(g, xs, "host", workdir=tmp_path, state="fresh")


def test_invoke_sends_the_reset_flag_only_when_asked():
    from mcucompress.harness.device import Device
    from tests.unit.test_protocol import FakeTarget

    fake = FakeTarget(input_size=4, output_size=4, layers=0)
    with Device(fake.url) as device:
        device.hello()
        device.run_samples(np.zeros((2, 4), np.int8), state="reset")
        device.run_samples(np.zeros((1, 4), np.int8))
    invokes = [f.payload for f in fake.requests if f.type == proto.Msg.INVOKE]
    assert invokes == [bytes([proto.INVOKE_RESET_STATE])] * 2 + [b""]


@pytest.mark.parametrize("state", ["carry", "reset"])
def test_cli_run_state_option(state, tmp_path, capsys):
    g, _ = batch1_lstm(6000)
    model = tmp_path / "lstm.tflite"
    model.write_bytes(tflite_writer.to_bytes(g))
    out, report = tmp_path / "out.npy", tmp_path / "r.json"
    assert cli.main(["run", str(model), "--board", "host", "--samples", str(SAMPLES), "--state", state,
                     "--save-outputs", str(out), "--json", str(report)]) == 0
    saved = json.loads(report.read_text())
    assert saved["bit_exact"] and saved["state"] == state
    said = "state reset before every sample" if state == "reset" else "state carried from sample to sample"
    assert said in capsys.readouterr().out
    xs = random_samples(g.t("x"), SAMPLES, 0).x  # what --samples feeds (seed 0)
    carried_differs(g, xs[:, None])
    np.testing.assert_array_equal(np.load(out).reshape(SAMPLES, -1), tflm(g, xs[:, None], state).reshape(SAMPLES, -1))


def test_cli_run_refuses_an_unknown_state(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "m.tflite", "--board", "host", "--state", "fresh"])
    assert exc.value.code == 2
    assert "--state" in capsys.readouterr().err


def test_cli_run_help_explains_the_policies(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--state {carry,reset}" in text and "independent sequences" in text and "SVDF" in text


@pytest.mark.skipif(not shutil.which("qemu-system-arm") or not shutil.which("arm-none-eabi-gcc"),
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_firmware_on_qemu_follows_the_policy(tmp_path):
    """One firmware image on mps2-an386: the same samples carried, then reset, each equal to TFLM's."""
    from mcucompress.boards import load_board
    from mcucompress.harness.firmware import build_firmware
    from mcucompress.harness.qemu import QemuSession

    g, rng = batch1_lstm(6000)
    xs = np.stack(random_inputs(g, rng, SAMPLES))
    carried_differs(g, xs)
    board = load_board("mps2-an386")
    compiled = compile_graph(g, g.name, dsp=board.dsp, mve=board.mve)
    project = write_project(compiled, tmp_path / "project")
    firmware = build_firmware(project, board, g.name, build_dir=tmp_path / "build")
    interp = tflm_interpreter(g)  # follows the same sequence of runs as the board
    with QemuSession(board, firmware.elf) as device:
        device.hello()
        for state in ("carry", "reset", "carry"):  # the last carry continues from the state the resets left
            runs = device.run_samples(xs, layer_timings=False, state=state)
            expected = tflm(g, xs, state, interp)
            np.testing.assert_array_equal(runs.outputs.reshape(SAMPLES, -1), expected.reshape(SAMPLES, -1))
        with pytest.raises(McuError, match="INVOKE takes at most a flags byte"):
            device.request(proto.Msg.INVOKE, struct.pack("<BB", 1, 0))
