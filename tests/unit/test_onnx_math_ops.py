"""ONNX import of what PyTorch exports from transformer blocks, against onnxruntime (float32, 1e-4): MatMul of two
activations (BATCH_MATMUL, k.transpose as adj_y), Pow 2 and 0.5, Div by an activation (DIV), GELU (torch's erf
form fused into one GELU, and the opset-20 Gelu node, exact and tanh). GELU float32 against LiteRT; int8 GELU
bit-exact with LiteRT's table (TFLM has no GELU kernel) and host C; the PyTorch bridge's GELU and DIV.
int8 DIV: tests/unit/test_div.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.frontend import tflite_writer
from mcucompress.ir import constraints
from mcucompress.reference import executor
from tests.unit.test_reference_ops import graph, q
from tests.unit.test_reference_ops import tflm as tflm_run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
from torch import nn

from tests.unit.test_onnx_import import Net, compare, export, kinds


def load_model_bytes(data: bytes, tmp_path):
    from mcucompress.frontend import load_model

    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    return load_model(path)


def case(tmp_path, fn, shape, opset: int = 13, **mods):
    return compare(export(tmp_path, Net(fn, **mods), shape, opset=opset), shape, rtol=1e-4)


def test_matmul_of_two_activations_is_batch_matmul(tmp_path):
    """q k^T (torch's transpose of k becomes adj_y, no TRANSPOSE), softmax, times v; constant 2-D weights stay
    FULLY_CONNECTED."""
    def attention(m, x):
        q, k, v = m.q(x), m.k(x), m.v(x)
        return torch.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1) @ v

    g = case(tmp_path, attention, (1, 6, 8), q=nn.Linear(8, 8), k=nn.Linear(8, 8), v=nn.Linear(8, 8))
    assert kinds(g).count("FULLY_CONNECTED") == 3 and kinds(g).count("BATCH_MATMUL") == 2
    assert "TRANSPOSE" not in kinds(g)
    first = next(op for op in g.ops if op.kind == "BATCH_MATMUL")
    assert first.attrs.adj_y and not first.attrs.adj_x


def test_matmul_broadcast_and_adj_x(tmp_path):
    """A rank-4 head split times a rank-3 activation (batch broadcast), and x^T x (adj_x)."""
    g = case(tmp_path, lambda m, x: (x.transpose(-2, -1) @ x).unsqueeze(0) @ x.transpose(-2, -1).unsqueeze(1),
             (2, 5, 4))
    assert kinds(g).count("BATCH_MATMUL") == 2
    assert any(op.attrs.adj_x for op in g.ops if op.kind == "BATCH_MATMUL")


def test_matmul_by_constant_3d_tensor(tmp_path):
    w = torch.randn(2, 4, 3)
    g = case(tmp_path, lambda m, x: x @ w, (2, 5, 4))
    assert kinds(g) == ["BATCH_MATMUL"]


def test_pow_square_and_square_root(tmp_path):
    g = case(tmp_path, lambda m, x: x ** 2 + (x.abs() + 0.5) ** 0.5, (1, 3, 4, 5))
    assert {"MUL", "SQRT"} <= set(kinds(g)) and "POW" not in kinds(g)


def test_div_by_activation(tmp_path):
    g = case(tmp_path, lambda m, x: x / (x.abs() + 1.0) + x / 4.0, (1, 6, 7))
    assert "DIV" in kinds(g)


@pytest.mark.parametrize("opset,approximate", [(13, "none"), (20, "none"), (20, "tanh")])
def test_gelu_imports_as_one_op(tmp_path, opset, approximate):
    g = case(tmp_path, lambda m, x: m.act(m.fc(x)), (1, 4, 8), opset=opset, fc=nn.Linear(8, 8),
             act=nn.GELU(approximate=approximate))
    assert kinds(g) == ["FULLY_CONNECTED", "GELU"]
    assert g.ops[-1].attrs.approximate == (approximate == "tanh")


def test_gelu_written_by_hand_fuses_too(tmp_path):
    """The brief's form x * 0.5 * (1 + erf(x / sqrt 2)): the halving applies to x first."""
    g = case(tmp_path, lambda m, x: x * 0.5 * (1.0 + torch.erf(x / 1.4142135623730951)), (1, 3, 10))
    assert kinds(g) == ["GELU"]


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_float_matches_litert_and_round_trips(approximate, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from mcucompress.ir import ops as irops

    g = graph("GELU", [((1, 5, 40), None, None)], ((1, 5, 40), None), irops.GeluAttrs(approximate))
    back = load_model_bytes(tflite_writer.to_bytes(g), tmp_path)
    assert back.ops[0].kind == "GELU" and back.ops[0].attrs == g.ops[0].attrs
    x = (np.random.default_rng(approximate).standard_normal((1, 5, 40)) * 4).astype(np.float32)
    interp = Interpreter(model_content=tflite_writer.to_bytes(g))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    np.testing.assert_allclose(executor.run(g, [x])[0], interp.get_tensor(interp.get_output_details()[0]["index"]),
                               rtol=1e-5, atol=1e-6)


def test_div_float_matches_tflm_and_litert():
    g = graph("DIV", [((1, 4, 6), None, None), ((6,), None, np.linspace(0.5, 3, 6).astype(np.float32))],
              ((1, 4, 6), None))
    x = np.random.default_rng(0).standard_normal((1, 4, 6)).astype(np.float32)
    np.testing.assert_array_equal(executor.run(g, [x])[0], tflm_run(g)(x))


def _litert(g, x):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite_writer.to_bytes(g))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


@pytest.mark.parametrize("seed", range(8), ids=lambda s: f"gelu{s}")
def test_gelu_int8_bit_exact_with_litert_and_host_c(seed, tmp_path):
    """Every int8 input value through LiteRT's table (TFLM has no GELU kernel), and the host C lookup."""
    from mcucompress.ir import ops as irops
    from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs
    from tests.unit.test_reference_ops import rand_q

    rng = np.random.default_rng(9000 + seed)
    qin = q(float(rand_q(rng, 0.01, 0.2).s), int(rng.integers(-40, 41)))  # negative and positive inputs
    qout = q(float(qin.s * np.exp(rng.uniform(-0.5, 0.5))), int(rng.integers(-128, -20)))
    g = graph("GELU", [((1, 256), qin, None)], ((1, 256), qout), irops.GeluAttrs(seed % 2 == 1))
    constraints.check_graph(g)
    x = (np.arange(256) - 128).astype(np.int8).reshape(1, 256)
    ours = executor.run(g, [x])[0]
    np.testing.assert_array_equal(ours, _litert(g, x))
    assert len(np.unique(ours)) > 16
    xs = rng.integers(-128, 128, (3, 256), dtype=np.int8)
    assert_same(host_outputs(g, xs, tmp_path), reference_outputs(g, xs))


def test_gelu_quantized_by_ptq_bit_exact_with_litert():
    import mcucompress
    from mcucompress.ir import ops as irops

    rng = np.random.default_rng(9100)
    w = (rng.standard_normal((16, 8)) / 3).astype(np.float32)
    g = graph("FULLY_CONNECTED", [((1, 4, 8), None, None), ((16, 8), None, w)], ((1, 4, 16), None),
              irops.FullyConnectedAttrs("NONE", True))
    from mcucompress.ir import Op, Tensor

    g.add_tensor(Tensor("y", (1, 4, 16), "float32"))
    g.ops.append(Op("GELU", ["out"], ["y"], irops.GeluAttrs(), name="gelu_1"))
    g.outputs = ["y"]
    qg = mcucompress.quantize(g, (rng.standard_normal((16, 1, 4, 8)) * 2).astype(np.float32)[:, 0])
    constraints.check_graph(qg)
    for x in rng.integers(-128, 128, (4, 1, 4, 8), dtype=np.int8):
        np.testing.assert_array_equal(executor.run(qg, [x])[0], _litert(qg, x))


@pytest.mark.parametrize("kind", ["GELU", "DIV"])
def test_torch_bridge_matches_reference(kind):
    from mcucompress.ir import ops as irops
    from tests.unit.test_torch_bridge import check_same

    if kind == "GELU":
        g = graph("GELU", [((1, 3, 5), None, None)], ((1, 3, 5), None), irops.GeluAttrs(True))
    else:
        g = graph("DIV", [((1, 3, 5), None, None), ((5,), None, np.linspace(0.5, 2, 5).astype(np.float32))],
                  ((1, 3, 5), None), irops.ElementwiseAttrs("RELU"))
    check_same(g, np.random.default_rng(1).normal(0, 2, (1, 3, 5)).astype(np.float32))


def test_multi_head_attention_as_torch_writes_it(tmp_path):
    """Heads split by reshape and transpose (rank 4), q k^T scaled, softmax, times v, heads merged, GELU, Linear."""
    t, d, h = 6, 8, 2

    def mha(m, x):
        q, k, v = (p(x).reshape(1, t, h, d // h).transpose(1, 2) for p in (m.q, m.k, m.v))
        a = torch.softmax(q @ k.transpose(-2, -1) * (d // h) ** -0.5, dim=-1)
        return m.o(nn.functional.gelu((a @ v).transpose(1, 2).reshape(1, t, d)))

    g = case(tmp_path, mha, (1, t, d), q=nn.Linear(d, d), k=nn.Linear(d, d), v=nn.Linear(d, d), o=nn.Linear(d, d))
    assert kinds(g).count("BATCH_MATMUL") == 2 and "GELU" in kinds(g)


def test_multi_head_attention_quantized_bit_exact_with_tflm_and_host_c(tmp_path):
    """The torch multi-head attention (no GELU, which TFLM lacks) imported, quantized by our PTQ: bit-exact with TFLM
    and in host C."""
    import mcucompress
    from mcucompress.frontend import load_model
    from tests.conftest import TflmSession
    from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs

    t, d, h = 6, 8, 2

    def mha(m, x):
        q, k, v = (p(x).reshape(1, t, h, d // h).transpose(1, 2) for p in (m.q, m.k, m.v))
        a = torch.softmax(q @ k.transpose(-2, -1) * (d // h) ** -0.5, dim=-1)
        return m.o((a @ v).transpose(1, 2).reshape(1, t, d))

    path = export(tmp_path, Net(mha, q=nn.Linear(d, d), k=nn.Linear(d, d), v=nn.Linear(d, d), o=nn.Linear(d, d)),
                  (1, t, d))
    g = load_model(path)
    rng = np.random.default_rng(9200)
    qg = mcucompress.quantize(g, rng.standard_normal((32, t, d)).astype(np.float32))
    constraints.check_graph(qg)
    run = TflmSession(tflite_writer.to_bytes(qg))
    xs = rng.integers(-128, 128, (4, t, d), dtype=np.int8)
    for x in xs:
        np.testing.assert_array_equal(executor.run(qg, [x[None]])[0], run(x[None]))
    assert_same(host_outputs(qg, xs, tmp_path), reference_outputs(qg, xs))
