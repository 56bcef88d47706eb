"""Single-op models, random seeded configurations: the numpy executor must equal TFLM bit for bit.

Each case builds a one-op IR graph (random shape, scales, zero points, attributes), writes it with the
TFLite writer, runs TFLM's reference kernels on random int8 inputs (plus one holding all 256 values
where the shape allows) and compares. Float32 graphs are compared to within 2 ulp (libm differs).
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.errors import UnsupportedOpError
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, Op, QuantParams, Tensor, constraints, registry
from mcucompress.ir import ops as irops
from mcucompress.reference import executor

CONFIGS = 16  # random configurations per op


def q(scale: float, zp: int = 0) -> QuantParams:
    return QuantParams(np.array([scale], np.float32), np.array([zp]))


def rand_q(rng: np.random.Generator, lo: float = 1e-3, hi: float = 1.0) -> QuantParams:
    return q(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), int(rng.integers(-128, 128)))


def rand_shape(rng: np.random.Generator, rank: int | None = None) -> tuple[int, ...]:
    rank = rank or int(rng.integers(2, 5))
    return (1,) + tuple(int(d) for d in rng.integers(1, 9, rank - 1))


def graph(kind: str, ins: list, out: tuple, attrs=None) -> Graph:
    """ins: (shape, quant or None for float32, constant data or None); out: (shape, quant or None)."""
    g = Graph(name=kind.lower())
    names = []
    for i, (shape, qp, data) in enumerate(ins):
        names.append(f"in{i}")
        g.add_tensor(Tensor(names[-1], shape, "float32" if qp is None else "int8", qp, data))
    g.add_tensor(Tensor("out", out[0], "float32" if out[1] is None else "int8", out[1]))
    g.ops = [Op(kind, names, ["out"], attrs if attrs is not None else registry.spec(kind).attrs(), kind.lower())]
    g.inputs = [n for n, (_, _, d) in zip(names, ins) if d is None]
    g.outputs = ["out"]
    return g


def unary(kind: str, shape, qin, qout, attrs=None) -> Graph:
    return graph(kind, [(shape, qin, None)], (shape, qout), attrs)


def inputs(t: Tensor, rng: np.random.Generator, n: int = 2) -> list[np.ndarray]:
    if t.dtype == "float32":
        return [(rng.standard_normal(t.shape) * 4).astype(np.float32) for _ in range(n)]
    xs = [rng.integers(-128, 128, t.shape, dtype=np.int8) for _ in range(n)]
    if t.size >= 256:  # one input holds every int8 value
        flat = xs[0].reshape(-1)
        flat[:256] = rng.permutation(256) - 128
    return xs


def tflm(g: Graph):
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(tflite_writer.to_bytes(g), arena_size=1 << 20)

    def run(x: np.ndarray) -> np.ndarray:
        interp.set_input(x, 0)
        interp.invoke()
        return interp.get_output(0).copy()

    return run


def assert_matches_tflm(g: Graph, rng: np.random.Generator) -> None:
    run = tflm(g)
    for x in inputs(g.t(g.inputs[0]), rng):
        ours = executor.run(g, [x])[0]
        ref = run(x)
        assert ours.dtype == ref.dtype and ours.shape == ref.shape
        if ref.dtype == np.float32:
            np.testing.assert_allclose(ours, ref, rtol=2.5e-7, atol=1e-30)
        else:
            np.testing.assert_array_equal(ours, ref)


def cases(name: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("seed", range(CONFIGS), ids=lambda s: f"{name}{s}")


# ---------------------------------------------------------------- activations


@cases("logistic")
def test_logistic(seed):
    rng = np.random.default_rng(100 + seed)
    assert_matches_tflm(unary("LOGISTIC", rand_shape(rng), rand_q(rng, 1e-3, 0.5), q(1 / 256, -128)), rng)


@cases("tanh")
def test_tanh(seed):
    rng = np.random.default_rng(200 + seed)
    assert_matches_tflm(unary("TANH", rand_shape(rng), rand_q(rng, 1e-3, 0.5), q(1 / 128, 0)), rng)


@cases("hard_swish")
def test_hard_swish(seed):
    rng = np.random.default_rng(300 + seed)
    qin = rand_q(rng)
    # Output/input scale ratios from just above TFLM's limit (1/128) to far beyond 512 (int16 shifts >= 16).
    ratio = float(np.exp(rng.uniform(np.log(1 / 120), np.log(2000))))
    assert_matches_tflm(unary("HARD_SWISH", rand_shape(rng), qin, q(qin.s * ratio, int(rng.integers(-128, 128)))), rng)


@cases("leaky_relu")
def test_leaky_relu(seed):
    rng = np.random.default_rng(400 + seed)
    alpha = [0.0, 0.2, -0.7][seed] if seed < 3 else float(rng.uniform(-2, 2))
    attrs = irops.LeakyReluAttrs(float(np.float32(alpha)))
    assert_matches_tflm(unary("LEAKY_RELU", rand_shape(rng), rand_q(rng), rand_q(rng), attrs), rng)


@cases("relu")
def test_relu(seed):
    rng = np.random.default_rng(500 + seed)
    assert_matches_tflm(unary("RELU", rand_shape(rng), rand_q(rng), rand_q(rng)), rng)


@cases("relu6")
def test_relu6(seed):
    rng = np.random.default_rng(600 + seed)
    qq = rand_q(rng, 1e-3, 0.1)
    assert_matches_tflm(unary("RELU6", rand_shape(rng), qq, qq), rng)


@cases("softmax")
def test_softmax(seed):
    rng = np.random.default_rng(700 + seed)
    attrs = irops.SoftmaxAttrs(float(np.float32(rng.uniform(0.5, 2.0))))
    assert_matches_tflm(unary("SOFTMAX", rand_shape(rng), rand_q(rng, 1e-3, 0.5), q(1 / 256, -128), attrs), rng)


# ---------------------------------------------------------------- (re/de)quantization


@cases("requantize")
def test_quantize_int8_to_int8(seed):
    rng = np.random.default_rng(800 + seed)
    assert_matches_tflm(unary("QUANTIZE", rand_shape(rng), rand_q(rng), rand_q(rng)), rng)


@cases("quantize")
def test_quantize_float_to_int8(seed):
    rng = np.random.default_rng(900 + seed)
    shape, qout = rand_shape(rng), rand_q(rng, 0.01, 0.2)
    assert_matches_tflm(graph("QUANTIZE", [(shape, None, None)], (shape, qout)), rng)


def test_quantize_float_rounding_edges():
    """std::round on the float32 quotient: halves away from zero, 0.49999997 down (not up, as float32 x + 0.5 would)."""
    half_below = float(np.nextafter(np.float32(0.5), np.float32(0)))
    x = np.array([[half_below, 0.5, 1.5, 2.5, -0.5, -2.5, -half_below, 300.0, -300.0]], np.float32)
    g = graph("QUANTIZE", [(x.shape, None, None)], (x.shape, q(1.0, 3)))
    ref = tflm(g)(x)
    np.testing.assert_array_equal(ref, [[3, 4, 5, 6, 2, 0, 3, 127, -128]])
    np.testing.assert_array_equal(executor.run(g, [x])[0], ref)


@cases("dequantize")
def test_dequantize(seed):
    rng = np.random.default_rng(1000 + seed)
    shape = rand_shape(rng)
    assert_matches_tflm(graph("DEQUANTIZE", [(shape, rand_q(rng), None)], (shape, None)), rng)


# ---------------------------------------------------------------- MEAN


def mean_graph(rng: np.random.Generator, axes: tuple[int, ...], keep_dims: bool, same_quant: bool, dtype="int8") -> Graph:
    shape = rand_shape(rng, 4)
    out = tuple(1 if i in axes else d for i, d in enumerate(shape)) if keep_dims else tuple(
        d for i, d in enumerate(shape) if i not in axes)
    qin = rand_q(rng) if dtype == "int8" else None
    qout = (qin if same_quant else rand_q(rng)) if dtype == "int8" else None
    return graph("MEAN", [(shape, qin, None)], (out, qout), irops.MeanAttrs(axes, keep_dims))


@pytest.mark.parametrize("keep_dims", [True, False])
@pytest.mark.parametrize("same_quant", [True, False], ids=["same_quant", "rescale"])
def test_mean_spatial(keep_dims, same_quant):
    rng = np.random.default_rng(1100 + 2 * keep_dims + same_quant)
    for _ in range(3):
        assert_matches_tflm(mean_graph(rng, (1, 2), keep_dims, same_quant), rng)


@cases("mean_axes")
def test_mean_other_axes(seed):
    rng = np.random.default_rng(1200 + seed)
    axes = [(1,), (2,), (3,), (0,), (1, 3), (2, 3), (0, 1), (1, 2, 3)][seed % 8]
    assert_matches_tflm(mean_graph(rng, axes, bool(seed % 2), seed % 3 == 0), rng)


def test_mean_large_window():
    """64 x 64 elements per output: the 1/count fold-in shift reaches its cap."""
    rng = np.random.default_rng(1300)
    g = graph("MEAN", [((1, 64, 64, 3), q(0.02, -10), None)], ((1, 3), q(0.003, 7)), irops.MeanAttrs((1, 2), False))
    assert_matches_tflm(g, rng)


# ---------------------------------------------------------------- ops that had kernels already


ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


@pytest.mark.parametrize("kind", ["MUL", "SUB", "ADD"])
@pytest.mark.parametrize("seed", range(6))
def test_binary(kind, seed):
    rng = np.random.default_rng(1400 + seed)
    shape = rand_shape(rng, 4)
    other = shape if seed % 2 else tuple(d if rng.random() < 0.5 else 1 for d in shape)  # broadcast half the time
    constant = rng.integers(-128, 128, other).astype(np.int8)
    g = graph(kind, [(shape, rand_q(rng), None), (other, rand_q(rng), constant)], (shape, rand_q(rng)),
              irops.ElementwiseAttrs(ACTIVATIONS[seed % 4]))
    assert_matches_tflm(g, rng)


def pool_attrs(rng: np.random.Generator, h: int, w: int, same: bool, activation: str):
    fh, fw, sh, sw = (int(v) for v in rng.integers(1, 4, 4))
    if not same:
        fh, fw = min(fh, h), min(fw, w)
        return irops.Pool2DAttrs(fh, fw, sh, sw, 0, 0, 0, 0, activation), ((h - fh) // sh + 1, (w - fw) // sw + 1)
    oh, ow = -(-h // sh), -(-w // sw)
    th, tw = max((oh - 1) * sh + fh - h, 0), max((ow - 1) * sw + fw - w, 0)
    return irops.Pool2DAttrs(fh, fw, sh, sw, th // 2, th - th // 2, tw // 2, tw - tw // 2, activation), (oh, ow)


@pytest.mark.parametrize("kind", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
@pytest.mark.parametrize("seed", range(6))
def test_pool(kind, seed):
    rng = np.random.default_rng(1500 + seed)
    _, h, w, c = rand_shape(rng, 4)
    attrs, (oh, ow) = pool_attrs(rng, h, w, bool(seed % 2), ACTIVATIONS[seed % 4])
    qq = rand_q(rng)
    assert_matches_tflm(graph(kind, [((1, h, w, c), qq, None)], ((1, oh, ow, c), qq), attrs), rng)


@cases("pad")
def test_pad(seed):
    rng = np.random.default_rng(1600 + seed)
    shape = rand_shape(rng, 4)
    pads = tuple((0, 0) if d == 0 else (int(rng.integers(0, 3)), int(rng.integers(0, 3))) for d in range(4))
    out = tuple(s + a + b for s, (a, b) in zip(shape, pads))
    qq = rand_q(rng)
    assert_matches_tflm(graph("PAD", [(shape, qq, None)], (out, qq), irops.PadAttrs(pads)), rng)


@cases("concat")
def test_concatenation(seed):
    rng = np.random.default_rng(1700 + seed)
    shape, qq = rand_shape(rng, 4), rand_q(rng)
    axis = int(rng.integers(1, 4))
    shapes = [tuple(int(rng.integers(1, 5)) if d == axis else s for d, s in enumerate(shape))
              for _ in range(int(rng.integers(2, 5)))]
    ins = [(shapes[0], qq, None)] + [(s, qq, rng.integers(-128, 128, s).astype(np.int8)) for s in shapes[1:]]
    out = tuple(sum(s[axis] for s in shapes) if d == axis else v for d, v in enumerate(shape))
    assert_matches_tflm(graph("CONCATENATION", ins, (out, qq), irops.ConcatenationAttrs(axis, "NONE")), rng)


# ---------------------------------------------------------------- float32 graphs


@pytest.mark.parametrize("kind", ["LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "RELU", "RELU6"])
def test_float_activations(kind):
    rng = np.random.default_rng(1800)
    attrs = irops.LeakyReluAttrs(float(np.float32(-0.3))) if kind == "LEAKY_RELU" else None
    assert_matches_tflm(unary(kind, (1, 8, 8, 8), None, None, attrs), rng)


@pytest.mark.parametrize("axes,keep_dims", [((1, 2), True), ((1, 2), False), ((3,), True), ((0, 2), False)])
def test_float_mean(axes, keep_dims):
    rng = np.random.default_rng(1900)
    assert_matches_tflm(mean_graph(rng, axes, keep_dims, True, dtype="float32"), rng)


# ---------------------------------------------------------------- what TFLM rejects, we reject


REJECTED = {
    "logistic_zero_point": lambda: unary("LOGISTIC", (1, 8), q(0.05), q(1 / 256, 0)),
    "logistic_scale": lambda: unary("LOGISTIC", (1, 8), q(0.05), q(1 / 128, -128)),
    "tanh_scale": lambda: unary("TANH", (1, 8), q(0.05), q(1 / 256, 0)),
    "softmax_zero_point": lambda: unary("SOFTMAX", (1, 8), q(0.05), q(1 / 256, 0)),
    "hard_swish_output_scale": lambda: unary("HARD_SWISH", (1, 8), q(0.5), q(0.001)),
    "relu6_rescale": lambda: unary("RELU6", (1, 8), q(0.05, 3), q(0.1, -20)),
    "pad_rescale": lambda: graph("PAD", [((1, 4), q(0.05, 3), None)], ((1, 6), q(0.1, 3)), irops.PadAttrs(((0, 0), (1, 1)))),
    "max_pool_zero_point": lambda: graph("MAX_POOL_2D", [((1, 4, 4, 2), q(0.05, 3), None)], ((1, 2, 2, 2), q(0.05, 4)),
                                         irops.Pool2DAttrs(2, 2, 2, 2)),
    "concat_activation": lambda: graph("CONCATENATION", [((1, 2), q(0.05), None), ((1, 2), q(0.05), np.ones((1, 2)))],
                                       ((1, 4), q(0.05)), irops.ConcatenationAttrs(1, "RELU")),
    "concat_scale": lambda: graph("CONCATENATION", [((1, 2), q(0.05), None), ((1, 2), q(0.02), np.ones((1, 2)))],
                                  ((1, 4), q(0.05)), irops.ConcatenationAttrs(1, "NONE")),
}
TFLM_REJECTS = {"logistic_zero_point", "softmax_zero_point", "hard_swish_output_scale", "max_pool_zero_point",
                "concat_activation", "concat_scale"}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_constraints_reject(name, monkeypatch):
    g = REJECTED[name]()
    with pytest.raises(UnsupportedOpError) as err:
        constraints.check_graph(g)
    assert "\n" not in str(err.value)
    if name in TFLM_REJECTS:  # and TFLM itself refuses the model (written past our own check)
        monkeypatch.setattr(tflite_writer, "verify", lambda graph: None)
        with pytest.raises(RuntimeError):
            tflm(g)


def test_constraints_accept_valid_configs():
    rng = np.random.default_rng(2000)
    qq = rand_q(rng)
    for g in [unary("LOGISTIC", (1, 8), qq, q(1 / 256, -128)), unary("TANH", (1, 8), qq, q(1 / 128, 0)),
              unary("RELU6", (1, 8), qq, qq), unary("HARD_SWISH", (1, 8), q(0.5), q(0.005))]:
        constraints.check_graph(g)
