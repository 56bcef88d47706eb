"""conv -> RESIZE_NEAREST_NEIGHBOR -> conv -> RESIZE_BILINEAR (x2) -> conv on QEMU mps2-an386: bit-exact with the
reference executor, which is bit-exact with TFLM on the same inputs."""

from __future__ import annotations

import numpy as np

from mcucompress.codegen.project import compile_graph
from mcucompress.frontend import tflite_writer
from mcucompress.harness.qemu import run_on_qemu
from tests.conftest import TflmSession
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.e2e.test_qemu import random_inputs, reference
from tests.resize_chain import resize_chain

pytestmark = needs_arm_toolchain_and_qemu


def test_resize_chain_bit_exact_on_an386(tmp_path):
    graph = resize_chain()
    x = random_inputs(graph, 3, seed=4)
    ref = reference(graph, x)
    tflm = TflmSession(tflite_writer.to_bytes(graph))
    for xi, yi in zip(x, ref):
        np.testing.assert_array_equal(tflm(xi[None]).reshape(-1), yi.reshape(-1))
    run = run_on_qemu(compile_graph(graph, "resize"), x, graph.t("y").shape, board="mps2-an386", workdir=tmp_path)
    np.testing.assert_array_equal(run.outputs.reshape(3, -1), ref.reshape(3, -1))
    assert (run.ticks > 0).all()
