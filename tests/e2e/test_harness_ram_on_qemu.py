"""The harness's protocol receive buffer inside the model's arena, on QEMU (mps2-an386).

When the arena has room outside the input and output (<prefix>_IO_SPARE_SIZE), the firmware receives frames
there instead of in RAM of its own; every invoke overwrites it. This checks that samples
stay bit-exact, that the target still resynchronises after garbage between invokes, that the fault report
(whose stack overlays the bottom of .bss) still arrives, and that the harness keeps no receive buffer.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.boards import load_board
from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.driver import reference_outputs
from mcucompress.harness.device import DeviceFault
from mcucompress.harness.firmware import build_firmware
from mcucompress.harness.qemu import QemuSession, run_on_qemu
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.graphs import q

pytestmark = needs_arm_toolchain_and_qemu
RX_BYTES = 8 + 512  # mcc_proto.h MCC_PROTO_RX_BYTES


def wide_hidden() -> Graph:
    """x [1, 24] -> FC 24->1024 -> FC 1024->6: a 1 KB hidden layer (and its 2 KB widened scratch) beside a
    small input and output, so the arena has room for the harness's buffers."""
    rng = np.random.default_rng(11)
    g = Graph(name="widehid")
    g.add_tensor(Tensor("x", (1, 24), "int8", q(0.05, 3)))
    g.add_tensor(Tensor("w1", (1024, 24), "int8", q(0.01), rng.integers(-127, 128, (1024, 24))))
    g.add_tensor(Tensor("b1", (1024,), "int32", q(0.0005), rng.integers(-300, 300, 1024)))
    g.add_tensor(Tensor("h", (1, 1024), "int8", q(0.1, -2)))
    g.add_tensor(Tensor("w2", (6, 1024), "int8", q(0.01), rng.integers(-127, 128, (6, 1024))))
    g.add_tensor(Tensor("b2", (6,), "int32", q(0.001), rng.integers(-300, 300, 6)))
    g.add_tensor(Tensor("y", (1, 6), "int8", q(0.5, 1)))
    g.ops = [Op("FULLY_CONNECTED", ["x", "w1", "b1"], ["h"], irops.FullyConnectedAttrs(), "fc1"),
             Op("FULLY_CONNECTED", ["h", "w2", "b2"], ["y"], irops.FullyConnectedAttrs(), "fc2")]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def spare_bytes(model) -> int:
    header = model.files[f"{model.prefix}_model.h"]
    line = next(ln for ln in header.splitlines() if ln.startswith(f"#define {model.prefix.upper()}_IO_SPARE_SIZE"))
    return int(line.split()[-1])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    graph = wide_hidden()
    model = compile_graph(graph, graph.name)
    workdir = tmp_path_factory.mktemp("widehid")
    project = write_project(model, workdir / "project", force=True)
    firmware = build_firmware(project, load_board("mps2-an386"), model.prefix, build_dir=workdir / "build")
    return graph, model, firmware


def test_buffers_in_the_arena_stay_bit_exact_and_resync(built):
    graph, model, firmware = built
    assert spare_bytes(model) >= RX_BYTES
    ram = firmware.breakdown["ram"]
    assert ram["harness"] < 256  # the reply buffer, ticks and counters: no receive buffer of its own
    x = np.random.default_rng(4).integers(-128, 128, (3, 1, 24)).astype(np.int8)
    expected = reference_outputs(graph, x).reshape(3, -1)
    with QemuSession("mps2-an386", firmware.elf, timeout=2) as device:
        info = device.hello()
        assert info.arena_bytes == model.plan.arena_bytes
        first = device.run_samples(x)
        # garbage and a false sync whose length swallows the next request, after an invoke used the buffer
        device._write(b"\x00\x13garbage\xa5\x5a\x01\x02\x00\x01")
        assert device.hello().board == "mps2-an386"
        again = device.run_samples(x[::-1])
        ticks, status, count, stack_used = device.read_timings()
    np.testing.assert_array_equal(first.outputs, expected)
    np.testing.assert_array_equal(again.outputs, expected[::-1])
    assert status == 0 and count == 6 and 0 < stack_used < firmware.stack_bytes


def test_fault_report_arrives_with_its_stack_over_bss(tmp_path):
    graph = wide_hidden()
    with pytest.raises(DeviceFault) as err:
        run_on_qemu(compile_graph(graph, graph.name), np.zeros((1, 1, 24), np.int8), graph.t("y").shape,
                    workdir=tmp_path, extra_cflags=("-DMCC_TEST_FAULT",))
    regs = err.value.fault.regs
    assert regs["cfsr"] & (1 << 16) and regs["flags"] == 1 and regs["ipsr"] == 3
