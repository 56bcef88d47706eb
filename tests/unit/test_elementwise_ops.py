"""Element-wise ops added for issue 10 (MAXIMUM, MINIMUM, ABS, PRELU, ...): random single-op models.

Each op is checked bit-exact with TFLM in the reference executor and in host-compiled C (built under
ASan/UBSan by the host harness), float32 against TFLM's float kernels and LiteRT (1e-5), a float graph
quantized by our PTQ against TFLM, and the ONNX import of what PyTorch exports against onnxruntime.
"""

from __future__ import annotations

import numpy as np
import pytest

import mcucompress
from mcucompress.errors import UnsupportedOpError
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, constraints
from mcucompress.reference import executor
from tests.conftest import TflmSession
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs
from tests.unit.test_reference_ops import assert_matches_tflm, graph, q, rand_q, rand_shape, tflm

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")  # torch.onnx.export

CONFIGS = 12


def cases(name: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("seed", range(CONFIGS), ids=lambda s: f"{name}{s}")


def broadcast_shape(rng: np.random.Generator, shape: tuple[int, ...], seed: int) -> tuple[int, ...]:
    """The full shape, a per-dimension broadcast of it, or a lower-rank trailing slice (numpy's rule)."""
    if seed % 3 == 0:
        return shape
    if seed % 3 == 1:
        return tuple(d if rng.random() < 0.5 else 1 for d in shape)
    return shape[-int(rng.integers(1, len(shape) + 1)):]


def assert_host_matches_reference(g: Graph, rng: np.random.Generator, tmp_path) -> None:
    xs = rng.integers(-128, 128, (3,) + g.t(g.inputs[0]).shape[1:], dtype=np.int8)
    assert_same(host_outputs(g, xs, tmp_path), reference_outputs(g, xs))


def assert_matches_litert(g: Graph, rng: np.random.Generator, atol: float = 1e-5) -> None:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite_writer.to_bytes(g))
    interp.allocate_tensors()
    x = (rng.standard_normal(g.t(g.inputs[0]).shape) * 4).astype(np.float32)
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    ref = interp.get_tensor(interp.get_output_details()[0]["index"])
    np.testing.assert_allclose(executor.run(g, [x])[0], ref, rtol=1e-5, atol=atol)


def assert_ptq_matches_tflm(g: Graph, rng: np.random.Generator) -> Graph:
    """Quantize float graph `g` with our PTQ on random calibration data; the int8 model runs bit-exact in TFLM."""
    shape = g.t(g.inputs[0]).shape
    cal = (rng.standard_normal((16,) + shape[1:]) * 2).astype(np.float32)
    qg = mcucompress.quantize(g, cal)
    constraints.check_graph(qg)
    tflm = TflmSession(tflite_writer.to_bytes(qg))
    for x in rng.integers(-128, 128, (4,) + shape[1:], dtype=np.int8):
        np.testing.assert_array_equal(executor.run(qg, [x[None]])[0], tflm(x[None]))
    return qg


# ---------------------------------------------------------------- MAXIMUM, MINIMUM


def max_min_graph(kind: str, rng: np.random.Generator, seed: int, dtype: str = "int8") -> Graph:
    shape = rand_shape(rng)
    other = broadcast_shape(rng, shape, seed)
    qq = rand_q(rng, 1e-3, 2.0) if dtype == "int8" else None
    data = rng.integers(-128, 128, other).astype(np.int8) if qq else rng.standard_normal(other).astype(np.float32)
    ins = [(shape, qq, None), (other, qq, data)]
    return graph(kind, ins[::-1] if seed % 4 == 3 else ins, (shape, qq))  # the constant first, too


@pytest.mark.parametrize("kind", ["MAXIMUM", "MINIMUM"])
@cases("max_min")
def test_maximum_minimum_int8(kind, seed, tmp_path):
    rng = np.random.default_rng(3000 + seed + 100 * (kind == "MINIMUM"))
    g = max_min_graph(kind, rng, seed)
    assert_matches_tflm(g, rng)
    if seed % 4 != 3:  # the C entry point's one input is input 0
        assert_host_matches_reference(g, rng, tmp_path)


@pytest.mark.parametrize("kind", ["MAXIMUM", "MINIMUM"])
def test_maximum_minimum_float(kind):
    rng = np.random.default_rng(3200)
    for seed in range(3):
        g = max_min_graph(kind, rng, seed, dtype="float32")
        assert_matches_tflm(g, rng)
        assert_matches_litert(g, rng)


@pytest.mark.parametrize("kind", ["MAXIMUM", "MINIMUM"])
def test_maximum_minimum_quantized_by_ptq(kind):
    """MAXIMUM(x, c) with a per-channel float constant: the constant takes the output's quantization."""
    rng = np.random.default_rng(3300)
    c = rng.uniform(-1, 1, (1, 1, 1, 5)).astype(np.float32)
    qg = assert_ptq_matches_tflm(graph(kind, [((1, 4, 3, 5), None, None), ((1, 1, 1, 5), None, c)], ((1, 4, 3, 5), None)),
                                 rng)
    assert qg.t("in0").quant == qg.t("in1").quant == qg.t("out").quant


def test_maximum_rejects_rescaling():
    g = graph("MAXIMUM", [((1, 4), q(0.05, 3), None), ((1, 4), q(0.05, 3), np.zeros((1, 4), np.int8))], ((1, 4), q(0.1, 3)))
    with pytest.raises(UnsupportedOpError, match="compares int8 values without rescaling"):
        constraints.check_graph(g)


# ---------------------------------------------------------------- ONNX import (PyTorch exports) vs onnxruntime


def onnx_case(tmp_path, fn, shape, expected: list[str]):
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from tests.unit.test_onnx_import import Net, compare, export, kinds

    g = compare(export(tmp_path, Net(fn), shape), shape)
    assert kinds(g) == expected
    return g


def test_onnx_max_min(tmp_path):
    import torch

    c = torch.linspace(-1, 1, 3).view(1, 3, 1, 1)
    onnx_case(tmp_path, lambda m, x: torch.minimum(torch.maximum(x, c), x * 0.5), (1, 3, 4, 5),
              ["MAXIMUM", "MUL", "MINIMUM"])


# ---------------------------------------------------------------- ABS


@cases("abs")
def test_abs_int8(seed, tmp_path):
    """Output/input scale ratios from 1/300 to 300, and equal quantization (TFLM's no-rescale path)."""
    rng = np.random.default_rng(3400 + seed)
    qin = rand_q(rng)
    ratio = float(np.exp(rng.uniform(np.log(1 / 300), np.log(300))))
    qout = qin if seed % 4 == 0 else q(qin.s / ratio, int(rng.integers(-128, 128)))
    shape = rand_shape(rng)
    g = graph("ABS", [(shape, qin, None)], (shape, qout))
    assert_matches_tflm(g, rng)
    if seed < 4:
        assert_host_matches_reference(g, rng, tmp_path)


def test_abs_float():
    rng = np.random.default_rng(3500)
    g = graph("ABS", [((1, 5, 4, 3), None, None)], ((1, 5, 4, 3), None))
    assert_matches_tflm(g, rng)
    assert_matches_litert(g, rng)


# ---------------------------------------------------------------- PRELU


def prelu_graph(rng: np.random.Generator, seed: int, dtype: str = "int8") -> Graph:
    shape = rand_shape(rng, 4)
    alpha_shape = [(1, 1, 1, shape[-1]), (shape[-1],), tuple(d if rng.random() < 0.5 else 1 for d in shape)][seed % 3]
    if dtype == "int8":
        alpha = rng.integers(-128, 128, alpha_shape).astype(np.int8)
        ins = [(shape, rand_q(rng), None), (alpha_shape, rand_q(rng, 1e-3, 0.05), alpha)]
        return graph("PRELU", ins, (shape, rand_q(rng)))
    alpha = rng.uniform(-1, 1, alpha_shape).astype(np.float32)
    return graph("PRELU", [(shape, None, None), (alpha_shape, None, alpha)], (shape, None))


@cases("prelu")
def test_prelu_int8(seed, tmp_path):
    rng = np.random.default_rng(3600 + seed)
    g = prelu_graph(rng, seed)
    assert_matches_tflm(g, rng)
    if seed < 6:
        assert_host_matches_reference(g, rng, tmp_path)


def test_prelu_float():
    rng = np.random.default_rng(3700)
    for seed in range(3):
        g = prelu_graph(rng, seed, dtype="float32")
        assert_matches_tflm(g, rng)
        assert_matches_litert(g, rng)


def test_prelu_quantized_by_ptq(tmp_path):
    """alpha gets its own per-tensor int8 quantization; the output its calibrated range."""
    rng = np.random.default_rng(3800)
    alpha = rng.uniform(-0.5, 0.5, (1, 1, 1, 6)).astype(np.float32)
    g = graph("PRELU", [((1, 5, 5, 6), None, None), ((1, 1, 1, 6), None, alpha)], ((1, 5, 5, 6), None))
    qg = assert_ptq_matches_tflm(g, rng)
    assert qg.t("in1").dtype == "int8" and not qg.t("in1").quant.per_axis
    assert_host_matches_reference(qg, rng, tmp_path)


def test_prelu_rejects_per_channel_alpha_quantization():
    from mcucompress.ir import QuantParams

    alpha_q = QuantParams(np.array([0.01, 0.02], np.float32), np.array([0, 0]), axis=3)
    g = graph("PRELU", [((1, 2, 2, 2), q(0.05), None), ((1, 1, 1, 2), alpha_q, np.ones((1, 1, 1, 2), np.int8))],
              ((1, 2, 2, 2), q(0.05)))
    with pytest.raises(UnsupportedOpError, match="per tensor"):
        constraints.check_graph(g)


def test_onnx_abs_prelu(tmp_path):
    pytest.importorskip("torch")
    from torch import nn

    from tests.unit.test_onnx_import import Net, compare, export, kinds

    for num, shape in ((3, (1, 3, 4, 5)), (1, (1, 3, 4, 5)), (6, (1, 6))):
        prelu = nn.PReLU(num)
        prelu.weight.data.uniform_(-1, 1)
        g = compare(export(tmp_path, Net(lambda m, x: m.p(x.abs() - 1), p=prelu), shape, name=f"p{num}"), shape)
        assert kinds(g) == ["ABS", "SUB", "PRELU"]


# ---------------------------------------------------------------- SQUARED_DIFFERENCE


def squared_difference_graph(rng: np.random.Generator, seed: int) -> Graph:
    shape = rand_shape(rng)
    other = broadcast_shape(rng, shape, seed)
    q1 = rand_q(rng)
    q2 = q(q1.s * float(np.exp(rng.uniform(-3, 3))), int(rng.integers(-128, 128)))  # input scale ratios up to e^3
    top = 4 * max(q1.s, q2.s) ** 2 * 255  # the output range of the square in real units, roughly
    qo = q(top / 255 * float(np.exp(rng.uniform(-6, 0.5))), int(rng.integers(-128, 128)))
    return graph("SQUARED_DIFFERENCE", [(shape, q1, None), (other, q2, rng.integers(-128, 128, other).astype(np.int8))],
                 (shape, qo))


@cases("squared_difference")
def test_squared_difference_int8(seed, tmp_path):
    rng = np.random.default_rng(3900 + seed)
    g = squared_difference_graph(rng, seed)
    assert_matches_tflm(g, rng)
    if seed < 6:
        assert_host_matches_reference(g, rng, tmp_path)


def test_squared_difference_float():
    rng = np.random.default_rng(4000)
    b = rng.standard_normal((1, 1, 3)).astype(np.float32)
    g = graph("SQUARED_DIFFERENCE", [((1, 4, 4, 3), None, None), ((1, 1, 3), None, b)], ((1, 4, 4, 3), None))
    assert_matches_tflm(g, rng)
    assert_matches_litert(g, rng)


def test_squared_difference_rejects_a_tiny_output_scale():
    g = graph("SQUARED_DIFFERENCE", [((1, 4), q(0.5), None), ((1, 4), q(0.5), np.ones((1, 4), np.int8))],
              ((1, 4), q(1e-5)))
    with pytest.raises(UnsupportedOpError, match="too small"):
        constraints.check_graph(g)


# ---------------------------------------------------------------- ELU


@cases("elu")
def test_elu_int8(seed, tmp_path):
    """TFLM's float32 table: 256-value inputs (every int8 value) over input and output scales 1e-3..0.5."""
    rng = np.random.default_rng(4100 + seed)
    shape = (1, 16, 16) if seed % 2 else rand_shape(rng)
    g = graph("ELU", [(shape, rand_q(rng, 1e-3, 0.5), None)], (shape, rand_q(rng, 1e-3, 0.5)))
    assert_matches_tflm(g, rng)
    if seed < 4:
        assert_host_matches_reference(g, rng, tmp_path)


def test_elu_float():
    rng = np.random.default_rng(4200)
    g = graph("ELU", [((1, 6, 5, 4), None, None)], ((1, 6, 5, 4), None))
    assert_matches_tflm(g, rng)
    assert_matches_litert(g, rng)


def test_onnx_elu(tmp_path):
    pytest.importorskip("torch")
    from torch.nn import functional as F

    from tests.unit.test_onnx_import import Net, compare, export, kinds

    g = compare(export(tmp_path, Net(lambda m, x: F.elu(x * 2)), (1, 3, 4, 5)), (1, 3, 4, 5))
    assert kinds(g) == ["MUL", "ELU"]
    with pytest.raises(UnsupportedOpError, match="alpha"):
        compare(export(tmp_path, Net(lambda m, x: F.elu(x, alpha=0.5)), (1, 3, 4, 5), name="a"), (1, 3, 4, 5))


# ---------------------------------------------------------------- REDUCE_MAX, REDUCE_MIN, SUM

AXES = [(1,), (2,), (3,), (0,), (1, 3), (2, 3), (0, 1), (1, 2, 3), (1, 2)]


def reduce_graph(kind: str, rng: np.random.Generator, seed: int, dtype: str = "int8") -> Graph:
    from mcucompress.ir import ops as irops

    shape, axes, keep = rand_shape(rng, 4), AXES[seed % len(AXES)], bool(seed % 2)
    out = tuple(1 if a in axes else d for a, d in enumerate(shape)) if keep else tuple(
        d for a, d in enumerate(shape) if a not in axes)
    qin = rand_q(rng) if dtype == "int8" else None
    qout = qin
    if kind == "SUM" and qin is not None:  # a sum needs a larger scale: ratios from 1/4 to e^5
        qout = q(qin.s * float(np.exp(rng.uniform(np.log(0.25), 5))), int(rng.integers(-128, 128)))
    return graph(kind, [(shape, qin, None)], (out, qout), irops.MeanAttrs(axes, keep))


@pytest.mark.parametrize("kind", ["REDUCE_MAX", "REDUCE_MIN", "SUM"])
@cases("reduce")
def test_reductions_int8(kind, seed, tmp_path):
    rng = np.random.default_rng(4300 + seed + 100 * ["REDUCE_MAX", "REDUCE_MIN", "SUM"].index(kind))
    g = reduce_graph(kind, rng, seed)
    assert_matches_tflm(g, rng)
    if seed < 5:
        assert_host_matches_reference(g, rng, tmp_path)


def test_sum_large_window():
    """64 x 64 values per output: sums far beyond the int8 range before the rescale."""
    from mcucompress.ir import ops as irops

    rng = np.random.default_rng(4400)
    g = graph("SUM", [((1, 64, 64, 3), q(0.02, -10), None)], ((1, 3), q(20.0, 7)), irops.MeanAttrs((1, 2), False))
    assert_matches_tflm(g, rng)


@pytest.mark.parametrize("kind", ["REDUCE_MAX", "REDUCE_MIN", "SUM"])
def test_reductions_float(kind):
    rng = np.random.default_rng(4500)
    for seed in range(3):
        g = reduce_graph(kind, rng, seed + 4, dtype="float32")
        assert_matches_tflm(g, rng)
        assert_matches_litert(g, rng)


def test_reduce_max_quantized_by_ptq():
    from mcucompress.ir import ops as irops

    rng = np.random.default_rng(4600)
    g = graph("REDUCE_MAX", [((1, 5, 4, 3), None, None)], ((1, 1, 1, 3), None), irops.MeanAttrs((1, 2), True))
    qg = assert_ptq_matches_tflm(g, rng)
    assert qg.t("in0").quant == qg.t("out").quant


def test_onnx_reductions(tmp_path):
    pytest.importorskip("torch")
    import torch

    onnx_case(tmp_path, lambda m, x: torch.amax(x, dim=(2, 3)) - torch.amin(x, dim=1, keepdim=True).sum(dim=(2, 3)),
              (1, 3, 4, 5), ["REDUCE_MAX", "REDUCE_MIN", "SUM", "SUB"])


# ---------------------------------------------------------------- RSQRT


@cases("rsqrt")
def test_rsqrt_int8(seed, tmp_path):
    """Every input value from the zero point up (TFLM refuses values below it at run time), scales 1e-3..1."""
    rng = np.random.default_rng(4700 + seed)
    qin, qout = rand_q(rng, 1e-3, 1.0), rand_q(rng, 1e-3, 1.0)
    x = np.arange(qin.zp, 128).astype(np.int8)[None]
    g = graph("RSQRT", [(x.shape, qin, None)], (x.shape, qout))
    np.testing.assert_array_equal(executor.run(g, [x])[0], tflm(g)(x))
    if seed < 3:
        assert_host_matches_reference(g, rng, tmp_path)  # below the zero point too: 127 on both


def test_rsqrt_float():
    rng = np.random.default_rng(4800)
    g = graph("RSQRT", [((1, 6, 5), None, None)], ((1, 6, 5), None))
    x = np.abs(rng.standard_normal((1, 6, 5)) * 4).astype(np.float32) + np.float32(1e-3)
    np.testing.assert_allclose(executor.run(g, [x])[0], tflm(g)(x), rtol=2.5e-7)
    assert_matches_litert(g, rng)  # negative inputs: NaN on both


# ---------------------------------------------------------------- SQRT, EXP, NEG (float32 only in TFLM)


@pytest.mark.parametrize("kind", ["SQRT", "EXP", "NEG"])
def test_float_only_ops(kind):
    rng = np.random.default_rng(4900)
    g = graph(kind, [((1, 7, 6), None, None)], ((1, 7, 6), None))
    x = (rng.standard_normal((1, 7, 6)) * 4).astype(np.float32)
    if kind == "SQRT":
        x = np.abs(x)
    np.testing.assert_allclose(executor.run(g, [x])[0], tflm(g)(x), rtol=2.5e-7)
    assert_matches_litert(g, rng)
    with pytest.raises(UnsupportedOpError, match=f"no int8 {kind}"):
        constraints.check_graph(graph(kind, [((1, 4), q(0.05), None)], ((1, 4), q(0.05))))


def test_onnx_sqrt_exp(tmp_path):
    pytest.importorskip("torch")
    import torch

    onnx_case(tmp_path, lambda m, x: -torch.exp(torch.sqrt(x.abs()) - 2), (1, 3, 4, 5),
              ["ABS", "SQRT", "SUB", "EXP", "NEG"])


# ---------------------------------------------------------------- L2_NORMALIZATION


@cases("l2_normalization")
def test_l2_normalization_int8(seed, tmp_path):
    """Rows of 1 to 300 values (sums of squares across the inverse square root's renormalisation steps)."""
    rng = np.random.default_rng(5000 + seed)
    shape = (1, int(rng.integers(1, 300))) if seed % 3 == 0 else rand_shape(rng)
    g = graph("L2_NORMALIZATION", [(shape, rand_q(rng), None)], (shape, q(1 / 128, 0)))
    assert_matches_tflm(g, rng)
    if seed < 4:
        assert_host_matches_reference(g, rng, tmp_path)


def test_l2_normalization_float():
    rng = np.random.default_rng(5100)
    g = graph("L2_NORMALIZATION", [((1, 4, 5, 6), None, None)], ((1, 4, 5, 6), None))
    assert_matches_tflm(g, rng)
    assert_matches_litert(g, rng)


def test_l2_normalization_quantized_by_ptq():
    rng = np.random.default_rng(5200)
    qg = assert_ptq_matches_tflm(graph("L2_NORMALIZATION", [((1, 3, 8), None, None)], ((1, 3, 8), None)), rng)
    assert (qg.t("out").quant.s, qg.t("out").quant.zp) == (float(np.float32(1 / 128)), 0)


# ---------------------------------------------------------------- LOG_SOFTMAX


@cases("log_softmax")
def test_log_softmax_int8(seed, tmp_path):
    """Rows of 1 to 300 values, input scales 1e-3..0.5 (the valid-range bound and saturated rows)."""
    rng = np.random.default_rng(5300 + seed)
    shape = (1, int(rng.integers(1, 300))) if seed % 3 == 0 else rand_shape(rng)
    g = graph("LOG_SOFTMAX", [(shape, rand_q(rng, 1e-3, 0.5), None)], (shape, q(16 / 256, 127)))
    assert_matches_tflm(g, rng)
    if seed < 5:
        assert_host_matches_reference(g, rng, tmp_path)


def test_log_softmax_float():
    rng = np.random.default_rng(5400)
    g = graph("LOG_SOFTMAX", [((1, 4, 5, 6), None, None)], ((1, 4, 5, 6), None))
    assert_matches_tflm(g, rng)
    assert_matches_litert(g, rng)


def test_log_softmax_quantized_by_ptq():
    rng = np.random.default_rng(5500)
    qg = assert_ptq_matches_tflm(graph("LOG_SOFTMAX", [((1, 10), None, None)], ((1, 10), None)), rng)
    assert (qg.t("out").quant.s, qg.t("out").quant.zp) == (float(np.float32(16 / 256)), 127)


def test_onnx_log_softmax(tmp_path):
    pytest.importorskip("torch")
    import torch

    onnx_case(tmp_path, lambda m, x: torch.log_softmax(x * 2, dim=1), (1, 6), ["MUL", "LOG_SOFTMAX"])
    onnx_case(tmp_path, lambda m, x: torch.log_softmax(x, dim=1), (1, 5, 3, 4), ["LOG_SOFTMAX"])


# ---------------------------------------------------------------- every new int8 kernel on QEMU


def chain_graph() -> Graph:
    """ABS -> ELU -> PRELU -> MAXIMUM -> MINIMUM -> SQUARED_DIFFERENCE -> RSQRT -> L2_NORMALIZATION -> LOG_SOFTMAX
    -> REDUCE_MAX -> REDUCE_MIN -> SUM, quantized so that TFLM accepts every op (RSQRT's input is >= its zp)."""
    from mcucompress.ir import Op, QuantParams, Tensor
    from mcucompress.ir import ops as irops

    rng = np.random.default_rng(6000)
    g = Graph(name="elem_chain")
    s = (1, 4, 4, 32)
    for name, shape, qq in [("x", s, q(0.05, 3)), ("ab", s, q(1 / 128)), ("el", s, q(1 / 128)), ("pr", s, q(1 / 128)),
                            ("mx", s, q(1 / 128)), ("mi", s, q(1 / 128)), ("sd", s, q(1 / 128)), ("rs", s, q(0.1, -128)),
                            ("l2", s, q(1 / 128)), ("ls", s, q(16 / 256, 127)), ("rmx", (1, 1, 4, 32), q(16 / 256, 127)),
                            ("rmn", (1, 1, 1, 32), q(16 / 256, 127)), ("su", (1, 1, 1, 32), q(1 / 16))]:
        g.add_tensor(Tensor(name, shape, "int8", qq))
    for name, shape, scale in [("alpha", (32,), 0.01), ("lo", (1, 1, 1, 32), 1 / 128), ("hi", (1, 1, 1, 32), 1 / 128),
                               ("mid", (1, 1, 1, 32), 1 / 128)]:
        g.add_tensor(Tensor(name, shape, "int8", QuantParams(np.array([scale], np.float32), np.zeros(1)),
                            rng.integers(-100, 100, shape)))
    g.ops = [Op("ABS", ["x"], ["ab"]), Op("ELU", ["ab"], ["el"]), Op("PRELU", ["el", "alpha"], ["pr"]),
             Op("MAXIMUM", ["pr", "lo"], ["mx"]), Op("MINIMUM", ["mx", "hi"], ["mi"]),
             Op("SQUARED_DIFFERENCE", ["mi", "mid"], ["sd"]), Op("RSQRT", ["sd"], ["rs"]),
             Op("L2_NORMALIZATION", ["rs"], ["l2"]), Op("LOG_SOFTMAX", ["l2"], ["ls"]),
             Op("REDUCE_MAX", ["ls"], ["rmx"], irops.MeanAttrs((1,), True)),
             Op("REDUCE_MIN", ["rmx"], ["rmn"], irops.MeanAttrs((2,), True)),
             Op("SUM", ["rmn"], ["su"], irops.MeanAttrs((1,), True))]
    for i, op in enumerate(g.ops):
        op.name = f"{op.kind.lower()}_{i}"
    g.inputs, g.outputs = ["x"], ["su"]
    return g


def test_new_kernels_bit_exact_on_qemu(tmp_path):
    """The chain through TFLM equals the reference; on the default board (Cortex-M4 in QEMU) the firmware does too."""
    import json
    import shutil

    from tests.unit.test_cli_errors import mcc

    if not shutil.which("qemu-system-arm") or not shutil.which("arm-none-eabi-gcc"):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    g = chain_graph()
    rng = np.random.default_rng(6100)
    assert_matches_tflm(g, rng)
    model = tmp_path / "elem_chain.tflite"
    tflite_writer.write(g, model)
    result = mcc("run", model, "--samples", "4", "--json", tmp_path / "run.json")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run.json").read_text())["bit_exact"] is True


# ---------------------------------------------------------------- the verifier's shape rules


@pytest.mark.parametrize("name", ["prelu_alpha", "maximum_broadcast", "reduce_axes", "reduce_out", "abs_out",
                                  "prelu_dtype"])
def test_verifier_rejects_inconsistent_shapes(name):
    from mcucompress.errors import GraphError
    from mcucompress.ir import ops as irops
    from mcucompress.ir.verify import verify

    qq = q(0.05)
    alpha = np.ones((1, 1, 3), np.int8)
    g = {
        "prelu_alpha": lambda: graph("PRELU", [((1, 2, 2, 4), qq, None), ((1, 1, 3), qq, alpha)], ((1, 2, 2, 4), qq)),
        "prelu_dtype": lambda: graph("PRELU", [((1, 2, 2, 3), qq, None), ((3,), None, np.ones(3, np.float32))],
                                     ((1, 2, 2, 3), qq)),
        "maximum_broadcast": lambda: graph("MAXIMUM", [((1, 4), qq, None), ((1, 3), qq, np.ones((1, 3), np.int8))],
                                           ((1, 4), qq)),
        "reduce_axes": lambda: graph("REDUCE_MAX", [((1, 4, 3), qq, None)], ((1, 4), qq), irops.MeanAttrs((5,), False)),
        "reduce_out": lambda: graph("SUM", [((1, 4, 3), qq, None)], ((1, 3), qq), irops.MeanAttrs((2,), False)),
        "abs_out": lambda: graph("ABS", [((1, 4), qq, None)], ((1, 5), qq)),
    }[name]()
    with pytest.raises(GraphError) as err:
        verify(g)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- the PyTorch bridge (finetune, QAT)

def bridge_graph(kind: str, rng: np.random.Generator) -> Graph:
    """A float single-op graph of `kind` for the bridge test."""
    if kind in ("MAXIMUM", "MINIMUM"):
        return max_min_graph(kind, rng, 1, "float32")
    if kind == "PRELU":
        return prelu_graph(rng, 0, "float32")
    if kind == "SQUARED_DIFFERENCE":
        b = rng.standard_normal(4).astype(np.float32)
        return graph(kind, [((1, 3, 4), None, None), ((4,), None, b)], ((1, 3, 4), None))
    if kind in ("REDUCE_MAX", "REDUCE_MIN", "SUM"):
        return reduce_graph(kind, rng, 4, "float32")
    return graph(kind, [((1, 3, 5), None, None)], ((1, 3, 5), None))


BRIDGE_KINDS = ["ABS", "ELU", "EXP", "L2_NORMALIZATION", "LOG_SOFTMAX", "MAXIMUM", "MINIMUM", "NEG", "PRELU",
                "REDUCE_MAX", "REDUCE_MIN", "RSQRT", "SQRT", "SQUARED_DIFFERENCE", "SUM"]


@pytest.mark.parametrize("kind", BRIDGE_KINDS)
def test_torch_bridge_matches_reference(kind):
    pytest.importorskip("torch")
    from tests.unit.test_torch_bridge import check_same

    rng = np.random.default_rng(6200)
    g = bridge_graph(kind, rng)
    x = rng.normal(0, 2, g.t(g.inputs[0]).shape).astype(np.float32)
    if kind in ("SQRT", "RSQRT"):
        x = np.abs(x) + np.float32(0.1)
    check_same(g, x)


def test_channel_pruning_slices_prelu_alpha():
    """conv(2 -> 8) -> PRELU(alpha per channel) -> conv(8 -> 3): removing conv0's odd channels slices alpha too."""
    from mcucompress.ir import Op, Tensor
    from mcucompress.ir import ops as irops
    from mcucompress.ir.verify import verify
    from mcucompress.prune import channels

    rng = np.random.default_rng(6300)
    g = Graph(name="prelu_prune")
    for name, shape in (("x", (1, 5, 5, 2)), ("c", (1, 5, 5, 8)), ("p", (1, 5, 5, 8)), ("y", (1, 5, 5, 3))):
        g.add_tensor(Tensor(name, shape, "float32"))
    for name, shape in (("w0", (8, 1, 1, 2)), ("b0", (8,)), ("alpha", (8,)), ("w1", (3, 1, 1, 8)), ("b1", (3,))):
        g.add_tensor(Tensor(name, shape, "float32", None, rng.standard_normal(shape).astype(np.float32)))
    g.ops = [Op("CONV_2D", ["x", "w0", "b0"], ["c"], irops.Conv2DAttrs(), "conv0"),
             Op("PRELU", ["c", "alpha"], ["p"], irops.NoAttrs(), "prelu"),
             Op("CONV_2D", ["p", "w1", "b1"], ["y"], irops.Conv2DAttrs(), "conv1")]
    g.inputs, g.outputs = ["x"], ["y"]
    x = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    ch = channels.analyse(g)
    kept = {r: np.arange(0, ch.sizes[r], 2) for r in ch.prunable()}
    assert kept, "conv0's channels are prunable across PRELU"
    alpha = g.t("alpha").data.copy()
    channels.apply(g, ch, kept)
    verify(g)
    np.testing.assert_array_equal(g.t("alpha").data, alpha[::2])
    assert g.t("p").shape == (1, 5, 5, 4)
    executor.run(g, [x])
