"""A decoder-like chain (CONV_2D -> TRANSPOSE_CONV -> RELU -> TRANSPOSE_CONV), quantized by our PTQ, on QEMU
mps2-an386 (Cortex-M4: mcc_transpose_conv_s8's DSP path): bit-exact with the reference executor and TFLM."""

from __future__ import annotations

import numpy as np

import mcucompress
from mcucompress.codegen.project import compile_graph
from mcucompress.frontend import tflite_writer
from mcucompress.harness.qemu import run_on_qemu
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops
from mcucompress.reference import executor
from tests.conftest import TflmSession
from tests.e2e.helpers import needs_arm_toolchain_and_qemu

pytestmark = needs_arm_toolchain_and_qemu


def decoder_chain() -> Graph:
    rng = np.random.default_rng(12)
    g = Graph(name="tconv_chain")
    for name, shape in (("x", (1, 8, 8, 4)), ("c", (1, 4, 4, 8)), ("t", (1, 8, 8, 8)), ("r", (1, 8, 8, 8)),
                        ("y", (1, 8, 8, 3))):
        g.add_tensor(Tensor(name, shape, "float32"))
    for name, shape in (("cw", (8, 3, 3, 4)), ("tw", (8, 4, 4, 8)), ("uw", (3, 3, 3, 8))):
        g.add_tensor(Tensor(name, shape, "float32", None, (rng.standard_normal(shape) * 0.3).astype(np.float32)))
    for name, n in (("cb", 8), ("tb", 8), ("ub", 3)):
        g.add_tensor(Tensor(name, (n,), "float32", None, (rng.standard_normal(n) * 0.1).astype(np.float32)))
    g.ops = [
        Op("CONV_2D", ["x", "cw", "cb"], ["c"], irops.Conv2DAttrs(2, 2, pad_top=0, pad_bottom=1, pad_left=0,
                                                                   pad_right=1), "conv"),
        Op("TRANSPOSE_CONV", ["c", "tw", "tb"], ["t"], irops.TransposeConvAttrs(2, 2, 1, 1, 1, 1), "up"),
        Op("RELU", ["t"], ["r"], name="relu"),
        Op("TRANSPOSE_CONV", ["r", "uw", "ub"], ["y"], irops.TransposeConvAttrs(1, 1, 1, 1, 1, 1), "out"),
    ]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def test_decoder_chain_bit_exact_on_an386(tmp_path):
    rng = np.random.default_rng(13)
    qg = mcucompress.quantize(decoder_chain(), rng.standard_normal((16, 8, 8, 4)).astype(np.float32))
    assert [op.kind for op in qg.ops].count("TRANSPOSE_CONV") == 2
    x = rng.integers(-128, 128, (3, 8, 8, 4)).astype(np.int8)
    ref = np.stack([executor.run(qg, [xi[None]])[0] for xi in x])
    tflm = TflmSession(tflite_writer.to_bytes(qg))
    np.testing.assert_array_equal(ref, np.stack([tflm(xi[None]) for xi in x]))
    run = run_on_qemu(compile_graph(qg, "tconv"), x, qg.t(qg.outputs[0]).shape, board="mps2-an386", workdir=tmp_path)
    np.testing.assert_array_equal(run.outputs.reshape(3, -1), ref.reshape(3, -1))
    assert (run.ticks > 0).all()
    layers = (run.layer_ticks[0] * run.unit_per_tick).astype(int).tolist()
    print(f"instructions (QEMU): {int(run.ticks[0] * run.unit_per_tick)}; per layer {list(zip(run.layer_kinds, layers))}")
