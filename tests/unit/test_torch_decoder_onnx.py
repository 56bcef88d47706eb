"""Issue 10's PyTorch check: a decoder with ConvTranspose, Resize (nn.Upsample, bilinear and nearest) and GELU as
torch.onnx.export writes it imports within 1e-4 of onnxruntime in float; quantized by our PTQ and written as a
.tflite it runs bit-exact with TFLM (the variant without GELU: TFLM has no GELU kernel) or with LiteRT's reference
kernels (with GELU), in our reference executor and in host C.
"""

from __future__ import annotations

import numpy as np
import pytest

import mcucompress
from mcucompress.frontend import tflite_writer
from mcucompress.ir import constraints
from mcucompress.reference import executor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
from torch import nn

from tests.conftest import TflmSession
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs
from tests.unit.test_onnx_import import Net, compare, export, kinds

SHAPE = (1, 2, 6, 6)


def decoder(activation: str) -> Net:
    act = nn.GELU() if activation == "gelu" else nn.ReLU()

    def forward(m, x):
        x = m.act(m.enc(x))
        x = m.act(m.up(x))  # ConvTranspose 2x
        x = m.bilinear(x)  # Resize linear, half-pixel
        x = m.nearest(m.mid(x))  # Resize nearest
        return m.head(x)

    torch.manual_seed(1)
    return Net(forward, enc=nn.Conv2d(2, 4, 3, padding=1), up=nn.ConvTranspose2d(4, 4, 2, stride=2), act=act,
               bilinear=nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
               mid=nn.Conv2d(4, 3, 1), nearest=nn.Upsample(scale_factor=2, mode="nearest"),
               head=nn.Conv2d(3, 2, 3, padding=1))


def litert_ref(g, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=tflite_writer.to_bytes(g),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_torch_decoder_float_then_int8(activation, tmp_path):
    graph = compare(export(tmp_path, decoder(activation), SHAPE, opset=17), SHAPE, rtol=1e-4)
    expected = {"TRANSPOSE_CONV", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"} | ({"GELU"} if activation == "gelu"
                                                                                   else set())
    assert expected <= set(kinds(graph)), kinds(graph)

    rng = np.random.default_rng(7)
    cal = rng.standard_normal((32,) + graph.t(graph.inputs[0]).shape[1:]).astype(np.float32)
    qg = mcucompress.quantize(graph, cal)
    constraints.check_graph(qg)
    assert expected <= set(kinds(qg))
    xs = rng.integers(-128, 128, (4,) + qg.t(qg.inputs[0]).shape[1:], dtype=np.int8)
    oracle = TflmSession(tflite_writer.to_bytes(qg)) if activation == "relu" else None
    for x in xs:
        ours = executor.run(qg, [x[None]])[0]
        theirs = oracle(x[None]) if oracle else litert_ref(qg, x[None])
        np.testing.assert_array_equal(ours, theirs)
    assert_same(host_outputs(qg, xs, tmp_path), reference_outputs(qg, xs))
