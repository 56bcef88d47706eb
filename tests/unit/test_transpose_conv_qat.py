"""QAT on a graph with TRANSPOSE_CONV: the bridge's fake quantization covers its weights and bias (per channel,
axis 0), training steps run, and the exported int8 model runs bit-exact in TFLM and the reference executor."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mcucompress.frontend import tflite_writer
from mcucompress.reference import executor
from mcucompress.torch import prepare_qat
from mcucompress.torch.bridge import GraphModule
from mcucompress.torch.convert import export_graph
from tests.conftest import TflmSession
from tests.e2e.test_transpose_conv_on_qemu import decoder_chain


def test_qat_decoder_chain_exports_bit_exact():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 8, 8, 4)).astype(np.float32)
    module = prepare_qat(GraphModule(decoder_chain()), torch.from_numpy(x), calibration=x, observe_steps=5)
    before = {k: p.detach().clone() for k, p in module.params.items()}
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    for _ in range(3):
        opt.zero_grad()
        (module(torch.from_numpy(x)) ** 2).mean().backward()
        opt.step()
    module.eval()
    assert all(not torch.equal(before[k], p) for k, p in module.params.items())  # transpose conv weights train too
    q = export_graph(module)
    tconvs = [op for op in q.ops if op.kind == "TRANSPOSE_CONV"]
    assert len(tconvs) == 2 and all(q.t(op.inputs[1]).quant.axis == 0 for op in tconvs)
    tflm = TflmSession(tflite_writer.to_bytes(q))
    for xi in rng.integers(-128, 128, (3, 1, 8, 8, 4)).astype(np.int8):
        np.testing.assert_array_equal(executor.run(q, [xi])[0], tflm(xi))
