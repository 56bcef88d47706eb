"""A chain of data-movement ops (several outputs of one op inside the graph) on QEMU mps2-an386: bit-exact with
the reference executor."""

from __future__ import annotations

import numpy as np

from mcucompress.codegen.project import compile_graph
from mcucompress.harness.qemu import run_on_qemu
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.e2e.test_qemu import random_inputs, reference
from tests.movement_cases import movement_chain

pytestmark = needs_arm_toolchain_and_qemu


def test_movement_chain_bit_exact_on_an386(tmp_path):
    graph = movement_chain()
    x = random_inputs(graph, 3, seed=4)
    run = run_on_qemu(compile_graph(graph, "movement"), x, graph.t("y").shape, board="mps2-an386", workdir=tmp_path)
    np.testing.assert_array_equal(run.outputs.reshape(3, -1), reference(graph, x).reshape(3, -1))
    assert (run.ticks > 0).all()
