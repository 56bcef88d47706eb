"""bench/instr_profile.py's engine on QEMU: the traced run stays bit-exact and its flat profile accounts for the
firmware's own per-layer instruction count (within the timer reads and the invoke loop)."""

from __future__ import annotations

import numpy as np

from mcucompress.boards import load_board
from mcucompress.codegen.project import compile_graph
from mcucompress.driver import count_mismatches, reference_outputs
from mcucompress.harness.profile import profile_on_qemu, split_harness
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.graphs import tiny_conv_fc

pytestmark = needs_arm_toolchain_and_qemu


def test_profile_accounts_for_the_layers_instructions():
    graph = tiny_conv_fc()
    x = np.random.default_rng(0).integers(-128, 128, (1, *graph.t(graph.inputs[0]).shape[1:]), dtype=np.int8)
    counts, run = profile_on_qemu(compile_graph(graph, "tiny"), x, graph.t(graph.outputs[0]).shape,
                                  load_board("mps2-an386"))
    assert count_mismatches(run.outputs, reference_outputs(graph, x)) == 0
    model, harness = split_harness(counts)
    layers = run.layer_latency.sum()
    assert layers > 0 and layers <= sum(model.values()) <= 1.02 * layers + 200  # 5,720 vs 5,811 (the invoke loop)
    assert harness["mcc_crc16"] > 0  # the harness's protocol is profiled too (outside the timed layers)
