"""End to end on QEMU: generated C + firmware harness on emulated Cortex-M boards, driven over the protocol.

Outputs must be bit-exact with the numpy reference executor; latency is SysTick ticks (instructions under
-icount shift=0) and the per-layer ticks must add up to about the total. Also: the target's fault report,
its resynchronisation after garbage, and that no QEMU outlives its session. Boards other than the
default mps2-an386 are marked slow.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from mcucompress.boards import load_board
from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.driver import reference_outputs
from mcucompress.errors import McuError
from mcucompress.harness import protocol as proto
from mcucompress.harness.device import DeviceFault
from mcucompress.harness.firmware import build_firmware
from mcucompress.harness.protocol import Msg
from mcucompress.harness.qemu import QemuSession, run_on_qemu
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops
from tests.conftest import INT8_MODELS, lcg_input, shared_model
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.graphs import q, tiny_conv_fc

pytestmark = needs_arm_toolchain_and_qemu


def wide_maxpool() -> Graph:
    """One MAX_POOL_2D with 1,536-byte input and output: both cross several protocol chunks."""
    g = Graph(name="wide")
    g.add_tensor(Tensor("x", (1, 32, 48, 1), "int8", q(0.05, 3)))
    g.add_tensor(Tensor("y", (1, 32, 48, 1), "int8", q(0.05, 3)))
    g.ops = [Op("MAX_POOL_2D", ["x"], ["y"], irops.Pool2DAttrs(filter_h=2, filter_w=2, pad_bottom=1, pad_right=1),
                "pool")]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


reference = reference_outputs  # the executor sample by sample, as `run` checks the firmware


def random_inputs(graph: Graph, n: int, seed: int = 0) -> np.ndarray:
    shape = graph.t(graph.inputs[0]).shape[1:]
    return np.random.default_rng(seed).integers(-128, 128, (n, *shape)).astype(np.int8)


def build(graph: Graph, board: str, workdir: Path, extra_cflags=()):
    model = compile_graph(graph, graph.name)
    project = write_project(model, workdir / "project", force=True)
    return model, build_firmware(project, load_board(board), model.prefix, build_dir=workdir / "build",
                                 extra_cflags=extra_cflags)


@pytest.fixture(scope="module")
def tiny_an386(tmp_path_factory):
    graph = tiny_conv_fc()
    model, firmware = build(graph, "mps2-an386", tmp_path_factory.mktemp("tiny"))
    return graph, model, firmware


def check_tiny_on(board: str, workdir: Path) -> None:
    graph = tiny_conv_fc()
    x = random_inputs(graph, 4, seed=1)
    target = load_board(board)  # the board's core decides the kernels' filter layouts (no dual rows on Helium)
    run = run_on_qemu(compile_graph(graph, "tiny", dsp=target.dsp, mve=target.mve), x, graph.t("y").shape, board=board,
                      workdir=workdir)
    np.testing.assert_array_equal(run.outputs, reference(graph, x))
    assert run.unit == "instructions" and (run.ticks > 0).all()
    assert run.report()["memory"]["flash_bytes"] > 0


def test_tiny_model_bit_exact_with_timings_on_an386(tiny_an386):
    graph, model, firmware = tiny_an386
    x = random_inputs(graph, 5)
    with QemuSession("mps2-an386", firmware.elf) as device:
        info = device.hello()
        assert (info.board, info.timer, info.clock_hz) == ("mps2-an386", "systick", 25_000_000)
        assert info.model_hash == model.model_hash and info.num_layers == len(model.calls) == 3
        assert (info.input_size, info.output_size, info.arena_bytes) == (72, 5, model.plan.arena_bytes)
        runs = device.run_samples(x)
        again = device.run_samples(x[:1])
    np.testing.assert_array_equal(runs.outputs, reference(graph, x).reshape(5, -1))
    assert (runs.ticks > 0).all() and (runs.statuses == 0).all()
    # per-layer ticks add up to the total, up to the hooks' cost and one tick of rounding per layer
    gap = runs.ticks - runs.layer_ticks.sum(axis=1)
    assert ((gap >= -3) & (gap <= 3 + 0.05 * runs.ticks)).all(), (runs.ticks, runs.layer_ticks)
    assert runs.layer_ticks[:, 0].min() > 0  # the convolution does measurable work
    # -icount shift=0 and a start synchronised to the tick edge (to within the few instructions of the polling
    # loop): the same input costs the same ticks, each layer boundary to within one tick
    assert abs(int(again.ticks[0]) - int(runs.ticks[0])) <= 1
    assert (np.abs(again.layer_ticks[0] - runs.layer_ticks[0]) <= 1).all()


def test_run_on_qemu_reports_instructions_per_layer_and_memory(tmp_path):
    graph = tiny_conv_fc()
    x = random_inputs(graph, 2, seed=3)
    run = run_on_qemu(compile_graph(graph, "tiny"), x, graph.t("y").shape, board="mps2-an386", workdir=tmp_path)
    np.testing.assert_array_equal(run.outputs, reference(graph, x))
    assert run.unit == "instructions" and run.unit_per_tick == 40.0
    report = run.report()
    assert [layer["kind"] for layer in report["layers"]] == ["CONV_2D", "RESHAPE", "FULLY_CONNECTED"]
    assert report["latency"]["mean"] == float(run.ticks.mean() * 40)
    memory = report["memory"]
    assert 0 < memory["flash_bytes"] < 64 * 1024
    assert memory["ram_bytes"] >= memory["stack_bytes"] + model_arena(graph)
    assert 0 < memory["stack_used_bytes"] < memory["stack_bytes"]  # the static bound held at run time
    assert memory["stack_bytes"] < 1024  # sized from the call graph's bound, not the 2 KB default


def model_arena(graph: Graph) -> int:
    return compile_graph(graph, "tiny").plan.arena_bytes


def test_large_input_and_output_go_in_chunks(tmp_path):
    graph = wide_maxpool()
    x = random_inputs(graph, 2, seed=2)
    run = run_on_qemu(compile_graph(graph, "wide"), x, graph.t("y").shape, workdir=tmp_path)
    np.testing.assert_array_equal(run.outputs, reference(graph, x))


def test_target_resyncs_after_garbage_and_rejects_bad_frames(tiny_an386):
    _, _, firmware = tiny_an386
    with QemuSession("mps2-an386", firmware.elf, timeout=1) as device:
        device.hello()
        damaged = bytearray(proto.encode_frame(Msg.HELLO, 77))
        damaged[-1] ^= 0xFF
        device._write(b"\x00\x13garbage\xa5\xa5" + bytes(damaged))
        errors = []
        for frame in device._frames(deadline=float("inf"), what="ERROR"):
            errors.append(frame)
            break
        assert errors[0].type == Msg.ERROR and errors[0].seq == 77
        assert proto.decode_error(errors[0].payload)[:2] == (proto.ErrorCode.BAD_CRC, Msg.HELLO)
        # a false sync whose length swallows the next request: the Device resynchronises and retries
        device._write(b"\xa5\x5a\x01\x02\x00\x01")
        assert device.hello().board == "mps2-an386"
        with pytest.raises(McuError, match="OUT_OF_RANGE"):
            device.request(Msg.SET_INPUT, struct.pack("<I", 70) + b"abc")
        with pytest.raises(McuError, match="UNKNOWN_TYPE"):
            device.request(0x33)


def test_fault_is_reported_with_registers(tmp_path):
    graph = tiny_conv_fc()
    with pytest.raises(DeviceFault) as err:
        run_on_qemu(compile_graph(graph, "tiny"), random_inputs(graph, 1), graph.t("y").shape, workdir=tmp_path,
                    extra_cflags=("-DMCC_TEST_FAULT",))
    regs = err.value.fault.regs
    assert regs["cfsr"] & (1 << 16)  # UNDEFINSTR
    assert regs["hfsr"] & (1 << 30)  # FORCED
    assert regs["flags"] == 1 and regs["ipsr"] == 3  # a valid stacked frame, in the HardFault handler
    message = str(err.value)
    assert "UNDEFINSTR" in message and "do_invoke" in message and f"pc=0x{regs['pc']:08x}" in message


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("ending", ["normal", "exception", "keyboard_interrupt"])
def test_no_qemu_left_behind(tiny_an386, ending):
    _, _, firmware = tiny_an386
    session = QemuSession("mps2-an386", firmware.elf)
    errors = {"exception": RuntimeError, "keyboard_interrupt": KeyboardInterrupt}
    try:
        with session as device:
            pid = session.proc.pid
            assert alive(pid)
            device.hello()
            if ending in errors:
                raise errors[ending]("stop")
    except (RuntimeError, KeyboardInterrupt):
        pass
    assert session.proc is None and not alive(pid)
    assert not any(alive(int(p)) and b"qemu-system-arm" in Path(f"/proc/{p}/cmdline").read_bytes()
                   and str(firmware.elf).encode() in Path(f"/proc/{p}/cmdline").read_bytes()
                   for p in os.listdir("/proc") if p.isdigit() and Path(f"/proc/{p}/cmdline").exists())


def test_qemu_dying_is_named_in_the_error(tiny_an386, tmp_path):
    """An image linked for mps2-an505 (code at 0x10000000) locks up an mps2-an386: say so, in one line."""
    _, model, firmware = tiny_an386
    other = build_firmware(firmware.elf.parents[1] / "project", load_board("mps2-an505"), model.prefix,
                           build_dir=tmp_path)
    with pytest.raises(McuError, match=r"QEMU had stopped: qemu: fatal: Lockup") as err, \
            QemuSession("mps2-an386", other.elf, timeout=2) as device:
        device.hello()
    assert "\n" not in str(err.value)


def test_qemu_killed_by_a_signal_is_named(tiny_an386):
    _, _, firmware = tiny_an386
    session = QemuSession("mps2-an386", firmware.elf, timeout=2)
    with pytest.raises(McuError, match=r"QEMU had stopped: killed by SIGKILL") as err, session as device:
        device.hello()
        session.proc.kill()
        session.proc.wait()
        device.hello()
    assert "\n" not in str(err.value)


def test_model_too_big_for_the_board_says_by_how_much(tmp_path):
    import dataclasses

    graph = tiny_conv_fc()
    model = compile_graph(graph, "tiny")
    project = write_project(model, tmp_path / "project")
    small = dataclasses.replace(load_board("mps2-an386"), flash_size=4096, ram_size=16384)
    with pytest.raises(McuError, match=r"does not fit board mps2-an386: the firmware overflows flash by [\d,]+ B "
                                       r"\(of 4,096 B\)") as err:
        build_firmware(project, small, "tiny", build_dir=tmp_path / "build")
    assert "\n" not in str(err.value)


def test_missing_toolchain_names_the_debian_packages(monkeypatch):
    from mcucompress.harness import firmware as fw
    from mcucompress.harness import qemu

    monkeypatch.setattr(fw.shutil, "which", lambda name: None)
    with pytest.raises(McuError, match="gcc-arm-none-eabi libnewlib-arm-none-eabi"):
        fw.find_arm_gcc()
    monkeypatch.setattr(qemu.shutil, "which", lambda name: None)
    with pytest.raises(McuError, match="apt-get install qemu-system-arm"):
        qemu.find_qemu()


@pytest.mark.parametrize("board", ["nucleo-f401re", "nucleo-f746zg", "nucleo-l4r5zi"])
def test_hardware_boards_build(tiny_an386, tmp_path, board):
    """No hardware here: the STM32 UART and DWT paths must at least compile warning-free and fit."""
    _, model, firmware = tiny_an386
    project = firmware.elf.parents[1] / "project"
    image = build_firmware(project, load_board(board), model.prefix, build_dir=tmp_path)
    assert 0 < image.flash_bytes < load_board(board).flash_size and image.ram_bytes < load_board(board).ram_size


@pytest.mark.slow
@pytest.mark.parametrize("board", ["mps2-an385", "mps2-an500", "mps2-an505", "mps3-an547"])
def test_tiny_model_on_other_boards(board, tmp_path):
    check_tiny_on(board, tmp_path)


# TFLM's outputs for the anchors' LCG input (../shared/anchors/tflm_cmsis_nn_qemu.md); ad01 by its first bytes.
ANCHOR_OUTPUTS = {"kws_ref_model": "8080808080808080809a8066", "vww_96_int8": "7888",
                  "ic_pretrainedResnet_quant": "8080828380807b808080", "ad01_int8": "e405051e2f3e2e312f302c30322d272b"}


def test_cortex_m55_runs_bit_exact_in_qemu(tmp_path):
    """mps3-an547 (Cortex-M55, Helium): the default suite boots it in QEMU; kws on it is among the slow tests."""
    check_tiny_on("mps3-an547", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", INT8_MODELS)
def test_mlperf_tiny_models_bit_exact_on_qemu(name, tmp_path):
    from mcucompress.driver import load

    graph = load(shared_model(name))
    x_info = graph.t(graph.inputs[0])
    x = np.concatenate([lcg_input(x_info.size).reshape(1, *x_info.shape[1:]), random_inputs(graph, 1)])
    run = run_on_qemu(compile_graph(graph, "m"), x, graph.t(graph.outputs[0]).shape, workdir=tmp_path)
    np.testing.assert_array_equal(run.outputs.reshape(2, -1), reference(graph, x).reshape(2, -1))
    anchor = ANCHOR_OUTPUTS[name]
    assert run.outputs[0].reshape(-1).view(np.uint8).tobytes().hex()[:len(anchor)] == anchor
    gap = run.ticks - run.layer_ticks.sum(axis=1)
    assert ((gap >= 0) & (gap <= 0.001 * run.ticks + 3 * len(run.layer_kinds))).all()


@pytest.mark.slow
@pytest.mark.parametrize("board", ["mps2-an385", "mps2-an500", "mps2-an505", "mps3-an547"])
def test_mlperf_kws_bit_exact_on_m3_m7_m33_m55(board, tmp_path):
    from mcucompress.driver import load

    graph = load(shared_model("kws_ref_model"))
    x_info = graph.t(graph.inputs[0])
    x = lcg_input(x_info.size).reshape(1, *x_info.shape[1:])
    target = load_board(board)
    run = run_on_qemu(compile_graph(graph, "kws", dsp=target.dsp, mve=target.mve), x, graph.t(graph.outputs[0]).shape,
                      board=board, workdir=tmp_path)
    assert run.outputs[0].reshape(-1).view(np.uint8).tobytes().hex() == ANCHOR_OUTPUTS["kws_ref_model"]
    # at least one instruction per MAC; Helium (mps3-an547) does up to 16 per VMLADAVA: at least a quarter there
    assert run.unit == "instructions" and run.latency[0] > 2_656_768 * (0.25 if board == "mps3-an547" else 1)
