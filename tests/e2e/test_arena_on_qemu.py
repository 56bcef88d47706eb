"""The firmware harness runs projects generated with `--arena caller` (the harness supplies the buffer) and
`--arena-section` (an unplaced section still lands in RAM) on QEMU, bit-exact with the reference executor."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from mcucompress.codegen.project import compile_graph
from mcucompress.dataset import quantize_input
from mcucompress.driver import prepare, reference_outputs
from mcucompress.examples import DIGITS_INT8, DIGITS_TEST
from mcucompress.harness.firmware import elf_sections
from mcucompress.harness.target import run_on_board
from tests.e2e.helpers import needs_arm_toolchain_and_qemu


@needs_arm_toolchain_and_qemu
@pytest.mark.parametrize("options", [{"arena": "caller"}, {"arena_section": ".sram2"}], ids=["caller", "section"])
def test_harness_runs_arena_variants_bit_exact(tmp_path, options):
    graph = prepare(DIGITS_INT8)
    t = graph.t(graph.inputs[0])
    x = np.load(DIGITS_TEST)["x"][:24]
    x = quantize_input(x.reshape((len(x),) + t.shape[1:]), t)
    compiled = compile_graph(graph, "digits", dsp=True, **options)
    run = run_on_board(compiled, x, graph.t(graph.outputs[0]).shape, "mps2-an386", workdir=tmp_path)
    np.testing.assert_array_equal(run.outputs, reference_outputs(graph, x))
    elf = next(tmp_path.rglob("fw.elf"))
    sections = {name: size for name, _, _, size in elf_sections(elf)}
    symbols = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout.split()
    if "arena_section" in options:
        assert sections[".sram2"] == compiled.plan.arena_bytes and "digits_arena" in symbols
    else:  # the harness's own buffer, and no static arena of the model
        assert "model_arena" in symbols and "digits_arena" not in symbols and ".sram2" not in sections
