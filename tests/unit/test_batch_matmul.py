"""BATCH_MATMUL: random models bit-exact with TFLM (reference executor and host C), float32 against LiteRT and
TFLM, a float graph quantized by our PTQ, and a tiny attention block (also once on the Cortex-M4 in QEMU).

The C entry point and the TFLM helper take one input, so a model whose two operands are both activations
slices them out of one input tensor (SLICE -> RESHAPE each), the rhs requantized by a QUANTIZE to its own
scale and zero point.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.errors import UnsupportedOpError
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, Op, QuantParams, Tensor, constraints
from mcucompress.ir import ops as irops
from mcucompress.reference import executor
from mcucompress.reference.batch_matmul import output_shape
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs
from tests.unit.test_elementwise_ops import assert_ptq_matches_tflm
from tests.unit.test_reference_ops import assert_matches_tflm, q, rand_q, tflm

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

INT8_CASES = 27
FLOAT_CASES = 8


def random_shapes(rng: np.random.Generator, seed: int) -> tuple[tuple[int, ...], tuple[int, ...], bool, bool]:
    """lhs and rhs shapes of ranks 2..5 whose batch axes broadcast (some axes 1 on one side), random adj flags."""
    adj_x, adj_y = bool(seed & 1), bool(seed & 2)
    m, k, n = (int(d) for d in rng.integers(1, 10, 3))
    if seed % 5 == 0:
        n = int(rng.integers(4, 13))  # four columns or more: the widened-row loop of the FC kernel
    batch = tuple(int(d) for d in rng.integers(1, 4, int(rng.integers(0, 4))))

    def side() -> tuple[int, ...]:
        b = batch[len(batch) - int(rng.integers(0, len(batch) + 1)):]  # a trailing part of the batch axes
        return tuple(d if rng.random() < 0.7 else 1 for d in b)

    lb, rb = side(), side()
    lhs = (*lb, k, m) if adj_x else (*lb, m, k)
    rhs = (*rb, n, k) if adj_y else (*rb, k, n)
    return lhs, rhs, adj_x, adj_y


def _add(g: Graph, name: str, shape, qp, data=None, dtype="int8") -> str:
    g.add_tensor(Tensor(name, tuple(shape), dtype if qp is not None else "float32", qp, data))
    return name


def bmm_graph(rng: np.random.Generator, lhs_shape, rhs_shape, adj_x: bool, adj_y: bool, dtype: str = "int8",
              const_rhs: bool = False) -> Graph:
    """One BATCH_MATMUL; both operands activations (sliced from the one input) unless const_rhs."""
    int8 = dtype == "int8"
    ql = rand_q(rng, 1e-2, 0.5) if int8 else None
    qr = rand_q(rng, 1e-2, 0.5) if int8 else None
    out = output_shape(lhs_shape, rhs_shape, adj_x, adj_y)
    qo = q(1.0) if int8 else None  # replaced below by the range the product takes on a random input
    g = Graph(name="bmm")
    lsz, rsz = int(np.prod(lhs_shape)), int(np.prod(rhs_shape))
    ops = []
    if const_rhs:
        x = _add(g, "x", (1, lsz), ql)
        lhs = _add(g, "lhs", lhs_shape, ql)
        ops.append(Op("RESHAPE", [x], [lhs]))
        rdata = rng.integers(-128, 128, rhs_shape).astype(np.int8) if int8 else \
            rng.standard_normal(rhs_shape).astype(np.float32)
        rhs = _add(g, "rhs", rhs_shape, qr, rdata)
    else:
        x = _add(g, "x", (1, lsz + rsz), ql)
        _add(g, "lhs_flat", (1, lsz), ql)
        _add(g, "rhs_flat", (1, rsz), ql)
        lhs = _add(g, "lhs", lhs_shape, ql)
        rhs = _add(g, "rhs", rhs_shape, qr)
        ops += [Op("SLICE", [x], ["lhs_flat"], irops.SliceAttrs((0, 0), (1, lsz))),
                Op("SLICE", [x], ["rhs_flat"], irops.SliceAttrs((0, lsz), (1, rsz))),
                Op("RESHAPE", ["lhs_flat"], [lhs])]
        if int8:
            _add(g, "rhs_raw", rhs_shape, ql)
            ops += [Op("RESHAPE", ["rhs_flat"], ["rhs_raw"]), Op("QUANTIZE", ["rhs_raw"], [rhs])]
        else:
            ops += [Op("RESHAPE", ["rhs_flat"], [rhs])]
    _add(g, "out", out, qo)
    ops.append(Op("BATCH_MATMUL", [lhs, rhs], ["out"], irops.BatchMatMulAttrs(adj_x, adj_y)))
    result = "out"
    if out[0] != 1:  # the harnesses read axis 0 of the model's input and output as the sample axis
        result = _add(g, "out_flat", (1, int(np.prod(out))), qo)
        ops.append(Op("RESHAPE", ["out"], [result]))
    for i, op in enumerate(ops):
        op.name = f"{op.kind.lower()}_{i}"
    g.ops, g.inputs, g.outputs = ops, [x], [result]
    if int8:
        _fit_output_quant(g, rng)
    return g


def _fit_output_quant(g: Graph, rng: np.random.Generator) -> None:
    """Output scale and zero point spanning the real product on a random input, randomly wider or narrower."""
    (op,) = [o for o in g.ops if o.kind == "BATCH_MATMUL"]
    x = rng.integers(-128, 128, g.t(g.inputs[0]).shape, dtype=np.int8)
    values = executor.run(g, [x], keep_all=True)
    real = []
    for n in op.inputs:
        t = g.t(n)
        v = (values[n].astype(np.float64) - t.quant.zp) * t.quant.s
        real.append(v.reshape(t.shape))
    a = np.swapaxes(real[0], -1, -2) if op.attrs.adj_x else real[0]
    b = np.swapaxes(real[1], -1, -2) if op.attrs.adj_y else real[1]
    y = np.matmul(a, b)
    lo, hi = min(float(y.min()), 0.0), max(float(y.max()), 1e-3)
    s = (hi - lo) / 255 * float(np.exp(rng.uniform(-0.7, 0.7)))
    for name in g.outputs + ["out"]:
        g.t(name).quant = q(s, int(np.clip(round(-128 - lo / s), -128, 127)))


def case_graph(seed: int, dtype: str = "int8") -> Graph:
    rng = np.random.default_rng(7000 + seed)
    lhs, rhs, adj_x, adj_y = random_shapes(rng, seed)
    return bmm_graph(rng, lhs, rhs, adj_x, adj_y, dtype, const_rhs=seed % 3 == 2)


@pytest.mark.parametrize("seed", range(INT8_CASES), ids=lambda s: f"bmm{s}")
def test_batch_matmul_int8_bit_exact_with_tflm_and_host_c(seed, tmp_path):
    g = case_graph(seed)
    constraints.check_graph(g)
    rng = np.random.default_rng(seed)
    assert_matches_tflm(g, rng)
    xs = rng.integers(-128, 128, (3,) + g.t(g.inputs[0]).shape[1:], dtype=np.int8)
    host = host_outputs(g, xs, tmp_path)
    assert_same(host, reference_outputs(g, xs))
    assert len(np.unique(host)) > 2  # not saturated to one or two values


@pytest.mark.parametrize("adj_x", [False, True])
def test_batch_matmul_constant_lhs(adj_x, tmp_path):
    """A constant lhs times an activation rhs (the C lowering stores a constant adj_x lhs pre-transposed)."""
    rng = np.random.default_rng(7200 + adj_x)
    lhs_shape, rhs_shape = ((3, 7, 5) if adj_x else (3, 5, 7)), (2, 1, 7, 6)
    ql, qr = rand_q(rng, 1e-2, 0.5), rand_q(rng, 1e-2, 0.5)
    g = Graph(name="bmm_const_lhs")
    x = _add(g, "x", (1, int(np.prod(rhs_shape))), qr)
    lhs = _add(g, "lhs", lhs_shape, ql, rng.integers(-128, 128, lhs_shape).astype(np.int8))
    rhs = _add(g, "rhs", rhs_shape, qr)
    out = _add(g, "out", output_shape(lhs_shape, rhs_shape, adj_x, False), q(1.0))
    g.ops = [Op("RESHAPE", [x], [rhs], name="reshape_0"),
             Op("BATCH_MATMUL", [lhs, rhs], [out], irops.BatchMatMulAttrs(adj_x, False), name="batch_matmul_1")]
    g.inputs, g.outputs = [x], [out]
    _fit_output_quant(g, rng)
    constraints.check_graph(g)
    assert_matches_tflm(g, rng)
    xs = rng.integers(-128, 128, (3,) + g.t(x).shape[1:], dtype=np.int8)
    assert_same(host_outputs(g, xs, tmp_path), reference_outputs(g, xs))


def test_batch_matmul_cases_cover_the_parameter_space():
    """The random cases above hold every adj pair, constant and activation rhs, broadcast batch axes, ranks 2 to 5."""
    seen = set()
    for seed in range(INT8_CASES):
        rng = np.random.default_rng(7000 + seed)
        lhs, rhs, adj_x, adj_y = random_shapes(rng, seed)
        seen.add(("adj", adj_x, adj_y))
        seen.add(("const", seed % 3 == 2))
        seen.update(("rank", len(s)) for s in (lhs, rhs))
        if len(lhs) > 2 and len(rhs) > 2 and lhs[:-2] != rhs[:-2]:
            seen.add("broadcast")
    assert {("adj", a, b) for a in (False, True) for b in (False, True)} <= seen
    assert {("const", True), ("const", False), "broadcast"} <= seen
    assert {("rank", r) for r in (2, 3, 4, 5)} <= seen


@pytest.mark.parametrize("seed", range(FLOAT_CASES), ids=lambda s: f"bmm{s}")
def test_batch_matmul_float_matches_litert_and_tflm(seed):
    from ai_edge_litert.interpreter import Interpreter

    g = case_graph(seed, "float32")
    rng = np.random.default_rng(100 + seed)
    x = (rng.standard_normal(g.t(g.inputs[0]).shape) * 4).astype(np.float32)
    ours = executor.run(g, [x])[0]
    interp = Interpreter(model_content=tflite_writer.to_bytes(g))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    np.testing.assert_allclose(ours, interp.get_tensor(interp.get_output_details()[0]["index"]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours, tflm(g)(x), rtol=1e-5, atol=1e-5)


def test_batch_matmul_tflite_round_trip(tmp_path):
    """Export and import keep the adj flags, shapes and operands."""
    from mcucompress.frontend import load_model

    for seed in (1, 2, 3):
        g = case_graph(seed)
        path = tmp_path / f"bmm{seed}.tflite"
        tflite_writer.write(g, path)
        back = load_model(path)
        (op,) = [o for o in back.ops if o.kind == "BATCH_MATMUL"]
        assert op.attrs == next(o for o in g.ops if o.kind == "BATCH_MATMUL").attrs
        x = np.random.default_rng(seed).integers(-128, 128, g.t(g.inputs[0]).shape, dtype=np.int8)
        np.testing.assert_array_equal(executor.run(back, [x])[0], executor.run(g, [x])[0])


@pytest.mark.parametrize("const_rhs", [False, True], ids=["two_activations", "constant_rhs"])
def test_batch_matmul_quantized_by_ptq(const_rhs):
    rng = np.random.default_rng(7300)
    g = bmm_graph(rng, (1, 2, 5, 6), (2, 6, 7) if not const_rhs else (6, 7), False, False, "float32", const_rhs)
    qg = assert_ptq_matches_tflm(g, rng)
    (op,) = [o for o in qg.ops if o.kind == "BATCH_MATMUL"]
    assert all(qg.t(n).dtype == "int8" and qg.t(n).quant.scale.size == 1 for n in op.inputs)


def test_batch_matmul_rejects_per_channel_operand():
    g = case_graph(2)  # a constant rhs
    rhs = g.t(next(o for o in g.ops if o.kind == "BATCH_MATMUL").inputs[1])
    n = rhs.shape[-1]
    rhs.quant = QuantParams(np.full(n, 0.1, np.float32), np.zeros(n, np.int64), len(rhs.shape) - 1)
    with pytest.raises(UnsupportedOpError, match="BATCH_MATMUL.*per tensor"):
        constraints.check_graph(g)


# ---------------------------------------------------------------- a tiny attention block


def attention_graph(tokens: int = 6, dim: int = 8) -> Graph:
    """x [1, T, D] -> q, k, v FULLY_CONNECTED (keep_num_dims) -> BATCH_MATMUL q k^T (adj_y) -> MUL 1/sqrt(D) ->
    SOFTMAX -> BATCH_MATMUL with v, in float32 (quantized by our PTQ in the tests)."""
    rng = np.random.default_rng(7400)
    g = Graph(name="attention")
    t, d = tokens, dim
    _add(g, "x", (1, t, d), None)
    ops = []
    for name in ("q", "k", "v"):
        _add(g, f"w{name}", (d, d), None, (rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32))
        _add(g, f"b{name}", (d,), None, (rng.standard_normal(d) * 0.1).astype(np.float32))
        _add(g, name, (1, t, d), None)
        ops.append(Op("FULLY_CONNECTED", ["x", f"w{name}", f"b{name}"], [name],
                      irops.FullyConnectedAttrs("NONE", True)))
    for name, shape in (("scores", (1, t, t)), ("scaled", (1, t, t)), ("attn", (1, t, t)), ("out", (1, t, d))):
        _add(g, name, shape, None)
    _add(g, "scale", (1,), None, np.array([1 / np.sqrt(d)], np.float32))
    ops += [Op("BATCH_MATMUL", ["q", "k"], ["scores"], irops.BatchMatMulAttrs(False, True)),
            Op("MUL", ["scores", "scale"], ["scaled"], irops.ElementwiseAttrs()),
            Op("SOFTMAX", ["scaled"], ["attn"], irops.SoftmaxAttrs(1.0)),
            Op("BATCH_MATMUL", ["attn", "v"], ["out"], irops.BatchMatMulAttrs(False, False))]
    for i, op in enumerate(ops):
        op.name = f"{op.kind.lower()}_{i}"
    g.ops, g.inputs, g.outputs = ops, ["x"], ["out"]
    return g


def test_attention_block_float_matches_litert():
    from ai_edge_litert.interpreter import Interpreter

    g = attention_graph()
    x = np.random.default_rng(1).standard_normal((1, 6, 8)).astype(np.float32)
    interp = Interpreter(model_content=tflite_writer.to_bytes(g))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    ref = interp.get_tensor(interp.get_output_details()[0]["index"])
    np.testing.assert_allclose(executor.run(g, [x])[0], ref, rtol=1e-5, atol=1e-5)


def test_attention_block_int8_bit_exact_with_tflm_and_host_c(tmp_path):
    rng = np.random.default_rng(7500)
    qg = assert_ptq_matches_tflm(attention_graph(), rng)
    xs = rng.integers(-128, 128, (4, 6, 8), dtype=np.int8)
    host = host_outputs(qg, xs, tmp_path)
    assert_same(host, reference_outputs(qg, xs))
    assert len(np.unique(host)) > 8


def test_attention_block_bit_exact_on_qemu(tmp_path):
    """The quantized attention block on the default board (Cortex-M4 in QEMU): the firmware equals the reference."""
    import json
    import shutil

    from tests.unit.test_cli_errors import mcc

    if not shutil.which("qemu-system-arm") or not shutil.which("arm-none-eabi-gcc"):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    rng = np.random.default_rng(7600)
    g = attention_graph(tokens=8, dim=16)
    qg = assert_ptq_matches_tflm(g, rng)
    model = tmp_path / "attention.tflite"
    tflite_writer.write(qg, model)
    result = mcc("run", model, "--samples", "4", "--json", tmp_path / "run.json")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run.json").read_text())["bit_exact"] is True


# ---------------------------------------------------------------- the PyTorch bridge (finetune, QAT)


@pytest.mark.parametrize("seed", [2, 5, 11, 14], ids=lambda s: f"bmm{s}")  # constant rhs (the bridge has no SLICE)
def test_torch_bridge_matches_reference(seed):
    pytest.importorskip("torch")
    from tests.unit.test_torch_bridge import check_same

    g = case_graph(seed, "float32")
    check_same(g, np.random.default_rng(seed).normal(0, 2, g.t(g.inputs[0]).shape).astype(np.float32))


def test_torch_bridge_attention_block():
    pytest.importorskip("torch")
    from tests.unit.test_torch_bridge import check_same

    g = attention_graph()
    check_same(g, np.random.default_rng(3).normal(0, 1, (1, 6, 8)).astype(np.float32))
