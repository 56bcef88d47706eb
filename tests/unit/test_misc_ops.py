"""TILE, GATHER_ND, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, ADD_N, CUMSUM, L2_POOL_2D and LOG: random single-op
models, bit-exact with TFLM (TILE: LiteRT's reference kernels, TFLM has no TILE) in the reference executor and in
host-compiled C (ASan/UBSan), float32 against TFLM and LiteRT; TFLite export and re-import; int8 refusals.

TFLM's SPACE_TO_BATCH_ND pads with an uninitialised byte (its Prepare never sets the pad value): its copied
elements are compared bit for bit, and the whole output against LiteRT, which pads with the zero point.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.errors import UnsupportedOpError
from mcucompress.frontend import tflite as tflite_import
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, constraints
from mcucompress.ir import ops as irops
from mcucompress.ir.index_maps import index_maps
from mcucompress.ir.verify import verify
from mcucompress.reference import executor
from tests.misc_cases import KINDS
from tests.misc_cases import graph as move_graph
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs
from tests.unit.test_reference_ops import graph, q, rand_q, tflm

CONFIGS = 12


def cases(name: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("seed", range(CONFIGS), ids=lambda s: f"{name}{s}")


def _x(g: Graph, rng, n: int | None = None) -> np.ndarray:
    shape = g.t(g.inputs[0]).shape if n is None else (n,) + g.t(g.inputs[0]).shape[1:]
    if g.t(g.inputs[0]).dtype == "int8":
        return rng.integers(-128, 128, shape, dtype=np.int8)
    return (rng.standard_normal(shape) * 4).astype(np.float32)


def litert(g: Graph, x: np.ndarray, resolver: str = "BUILTIN_REF") -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=tflite_writer.to_bytes(g),
                         experimental_op_resolver_type=getattr(OpResolverType, resolver))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"]).copy()


def assert_close(ours: np.ndarray, ref: np.ndarray, rtol: float = 1e-5, sums: bool = False) -> None:
    """int8: equal; float32: within rtol (sums: of the output's largest magnitude, since a convolution's float
    sums in another order differ by absolute, not relative, rounding)."""
    assert ours.dtype == ref.dtype and ours.shape == ref.shape, (ours.dtype, ref.dtype, ours.shape, ref.shape)
    if ref.dtype == np.float32:
        atol = rtol * float(np.abs(ref).max()) if sums and ref.size else 1e-30
        np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol)
    else:
        np.testing.assert_array_equal(ours, ref)


def assert_host(g: Graph, rng, tmp_path) -> None:
    """Three samples through the host runner (a whole tensor each when its batch is not 1)."""
    shape = g.t(g.inputs[0]).shape
    xs = _x(g, rng, 3) if shape[0] == 1 else np.stack([_x(g, rng) for _ in range(3)])
    assert_same(host_outputs(g, xs, tmp_path), reference_outputs(g, xs))


# ---------------------------------------------------------------- index maps: TILE, GATHER_ND, S2B, B2S


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("kind", KINDS)
def test_movement_matches_oracle(kind, dtype, tmp_path):
    """12 random configurations per kind and dtype; int8 ones also in host C."""
    rng = np.random.default_rng(7100 + 10 * KINDS.index(kind) + (dtype == "float32"))
    for i in range(CONFIGS):
        g = move_graph(kind, rng, dtype)
        verify(g)
        x = _x(g, rng)
        ours = executor.run(g, [x])[0]
        if kind == "TILE":  # TFLM has no TILE
            np.testing.assert_array_equal(ours, litert(g, x))
        elif kind == "SPACE_TO_BATCH_ND":
            copied = index_maps(kind, g.ops[0].attrs, g.t("in0").shape, [None])[0] >= 0
            np.testing.assert_array_equal(ours[copied], tflm(g)(x)[copied])
            np.testing.assert_array_equal(ours, litert(g, x))
        else:
            assert_close(ours, tflm(g)(x), rtol=0)
        if dtype == "int8":
            assert_host(g, rng, tmp_path / str(i))


def test_space_to_batch_pads_with_the_zero_point():
    g = move_graph("SPACE_TO_BATCH_ND", np.random.default_rng(1), "int8")
    g.ops[0].attrs = irops.SpaceBatchAttrs((2, 2), ((1, 1), (1, 1)))
    g.t("in0").shape = (1, 2, 2, 1)
    g.t("out0").shape = (4, 2, 2, 1)
    y = executor.run(g, [np.full((1, 2, 2, 1), 7, np.int8)])[0]
    assert sorted(np.unique(y).tolist()) == sorted({7, g.t("out0").quant.zp})
    assert (y == 7).sum() == 4


@pytest.mark.parametrize("kind", KINDS)
def test_movement_round_trips_through_tflite(kind, tmp_path):
    rng = np.random.default_rng(7200 + KINDS.index(kind))
    for i in range(4):
        g = move_graph(kind, rng)
        path = tmp_path / f"{kind}{i}.tflite"
        tflite_writer.write(g, path)
        back = tflite_import.load(path)
        assert [op.kind for op in back.ops] == [kind]
        assert back.ops[0].attrs == g.ops[0].attrs
        x = _x(g, rng)
        np.testing.assert_array_equal(executor.run(g, [x])[0], executor.run(back, [x])[0])


@pytest.mark.parametrize("kind,attrs,shape", [
    ("TILE", irops.TileAttrs((1, 0)), (1, 3)),
    ("TILE", irops.TileAttrs((2,)), (1, 3)),
    ("GATHER_ND", irops.GatherNdAttrs((0, 3), (1, 2)), (1, 3)),
    ("GATHER_ND", irops.GatherNdAttrs((0, 0, 0), (1, 3)), (1, 3)),
    ("SPACE_TO_BATCH_ND", irops.SpaceBatchAttrs((2, 2), ((0, 0), (0, 1))), (1, 3, 3, 1)),
    ("BATCH_TO_SPACE_ND", irops.SpaceBatchAttrs((2, 2), ((0, 0), (0, 0))), (2, 3, 3, 1)),
    ("BATCH_TO_SPACE_ND", irops.SpaceBatchAttrs((2,), ((4, 2),)), (2, 3, 1)),
])
def test_verifier_rejects_out_of_range_attributes(kind, attrs, shape):
    from mcucompress.errors import GraphError
    from mcucompress.ir import Op

    g = move_graph("TILE", np.random.default_rng(0))
    g.t("in0").shape = shape
    g.t("out0").shape = shape
    g.ops = [Op(kind, ["in0"], ["out0"], attrs, "bad")]
    with pytest.raises(GraphError) as err:
        verify(g)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- ADD_N


def add_n_graph(rng, seed: int, dtype: str = "int8") -> Graph:
    """2 to 5 inputs of one shape: the first runs, the others are constants (the C entry takes one input)."""
    shape = (1,) + tuple(int(d) for d in rng.integers(1, 7, int(rng.integers(1, 4))))
    n = 2 + seed % 4
    qin = rand_q(rng, 1e-3, 1.0) if dtype == "int8" else None
    qout = q(float(qin.s) * float(np.exp(rng.uniform(-1, 2.5))), int(rng.integers(-128, 128))) if qin else None
    def data():
        return rng.integers(-128, 128, shape).astype(np.int8) if qin else rng.standard_normal(shape).astype(np.float32)
    ins = [(shape, qin, None)] + [(shape, qin, data()) for _ in range(n - 1)]
    return graph("ADD_N", ins, (shape, qout))


@cases("add_n")
def test_add_n_int8(seed, tmp_path):
    rng = np.random.default_rng(7300 + seed)
    g = add_n_graph(rng, seed)
    constraints.check_graph(g)
    run = tflm(g)
    for x in (_x(g, rng), _x(g, rng)):
        assert_close(executor.run(g, [x])[0], run(x))
    assert_host(g, rng, tmp_path)


def test_add_n_float():
    rng = np.random.default_rng(7350)
    for seed in range(CONFIGS):
        g = add_n_graph(rng, seed, "float32")
        x = _x(g, rng)
        ours = executor.run(g, [x])[0]
        assert_close(ours, tflm(g)(x), rtol=2.5e-7)
        assert_close(ours, litert(g, x))


def test_add_n_rejects_mixed_input_quantization():
    shape = (1, 4)
    g = graph("ADD_N", [(shape, q(0.05, 1), None), (shape, q(0.05, 2), np.zeros(shape, np.int8))], (shape, q(0.1)))
    with pytest.raises(UnsupportedOpError, match="one quantization for every input"):
        constraints.check_graph(g)


# ---------------------------------------------------------------- CUMSUM


def cumsum_graph(rng, seed: int, dtype: str = "int8") -> Graph:
    shape = (1,) + tuple(int(d) for d in rng.integers(1, 7, int(rng.integers(1, 4))))
    axis = int(rng.integers(0, len(shape)))
    axis = axis - len(shape) if seed % 3 == 2 else axis
    attrs = irops.CumsumAttrs(axis, bool(seed & 1), bool(seed & 2))
    qin = rand_q(rng, 1e-3, 1.0) if dtype == "int8" else None
    qout = q(float(qin.s) * float(np.exp(rng.uniform(-1, 3))), int(rng.integers(-128, 128))) if qin else None
    return graph("CUMSUM", [(shape, qin, None)], (shape, qout), attrs)


@cases("cumsum")
def test_cumsum_int8(seed, tmp_path):
    """Every (exclusive, reverse) pair three times, negative axes too."""
    rng = np.random.default_rng(7400 + seed)
    g = cumsum_graph(rng, seed)
    constraints.check_graph(g)
    run = tflm(g)
    for x in (_x(g, rng), _x(g, rng)):
        assert_close(executor.run(g, [x])[0], run(x))
    assert_host(g, rng, tmp_path)


def test_cumsum_float():
    rng = np.random.default_rng(7450)
    for seed in range(CONFIGS):
        g = cumsum_graph(rng, seed, "float32")
        x = _x(g, rng)
        ours = executor.run(g, [x])[0]
        assert_close(ours, tflm(g)(x), rtol=2.5e-7)
        assert_close(ours, litert(g, x))


@pytest.mark.parametrize("kind", ["ADD_N", "CUMSUM"])
def test_accumulate_round_trips_through_tflite(kind, tmp_path):
    rng = np.random.default_rng(7460)
    for seed in range(4):
        g = add_n_graph(rng, seed) if kind == "ADD_N" else cumsum_graph(rng, seed)
        path = tmp_path / f"{kind}{seed}.tflite"
        tflite_writer.write(g, path)
        back = tflite_import.load(path)
        assert [op.kind for op in back.ops] == [kind] and back.ops[0].attrs == g.ops[0].attrs
        x = _x(g, rng)
        np.testing.assert_array_equal(executor.run(g, [x])[0], executor.run(back, [x])[0])


# ---------------------------------------------------------------- L2_POOL_2D and LOG (float32 only in TFLM)


def l2_pool_graph(rng) -> Graph:
    from mcucompress.frontend.tflite import _same_or_valid_pads

    n, h, w, c = 1, int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 5))
    fh, fw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
    sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    same = bool(rng.integers(0, 2))
    oh, ow = (-(-h // sh), -(-w // sw)) if same else ((h - fh) // sh + 1, (w - fw) // sw + 1)
    padding = 0 if same else 1  # tflite.Padding.SAME / VALID
    (pt, pb), (pl, pr) = (_same_or_valid_pads(padding, h, oh, fh, sh, 1), _same_or_valid_pads(padding, w, ow, fw, sw, 1))
    act = str(rng.choice(["NONE", "RELU6", "RELU_N1_TO_1"]))
    attrs = irops.Pool2DAttrs(fh, fw, sh, sw, pt, pb, pl, pr, act)
    return graph("L2_POOL_2D", [((n, h, w, c), None, None)], ((n, oh, ow, c), None), attrs)


def test_l2_pool_float():
    rng = np.random.default_rng(7500)
    for _ in range(CONFIGS):
        g = l2_pool_graph(rng)
        verify(g)
        x = _x(g, rng)
        ours = executor.run(g, [x])[0]
        assert_close(ours, tflm(g)(x), rtol=2.5e-7)
        assert_close(ours, litert(g, x))


def test_log_float():
    rng = np.random.default_rng(7600)
    for _ in range(CONFIGS):
        shape = (1,) + tuple(int(d) for d in rng.integers(1, 7, int(rng.integers(1, 4))))
        g = graph("LOG", [(shape, None, None)], (shape, None))
        x = np.abs(_x(g, rng)) + np.float32(1e-3)
        ours = executor.run(g, [x])[0]
        assert_close(ours, tflm(g)(x), rtol=2.5e-7)
        assert_close(ours, litert(g, x))


@pytest.mark.parametrize("kind", ["L2_POOL_2D", "LOG"])
def test_float_only_refuses_int8(kind):
    attrs = irops.Pool2DAttrs(2, 2, 2, 2) if kind == "L2_POOL_2D" else None
    g = graph(kind, [((1, 4, 4, 2), q(0.05), None)], ((1, 2, 2, 2) if attrs else (1, 4, 4, 2), q(0.05)), attrs)
    with pytest.raises(UnsupportedOpError, match=f"no int8 {kind}"):
        constraints.check_graph(g)


# ---------------------------------------------------------------- the TF converter's dilated convolution


def dilated_pattern(rng, depthwise: bool, dtype: str = "int8") -> tuple[Graph, tuple[int, int, int, int]]:
    """SPACE_TO_BATCH_ND -> CONV_2D/DEPTHWISE_CONV_2D (VALID) -> BATCH_TO_SPACE_ND as the TF converter writes a
    dilated convolution, with random block, pads and the converter's alignment padding (cropped after); and the
    pads of the equivalent dilated convolution."""
    from mcucompress.ir import Op, QuantParams, Tensor

    int8 = dtype == "int8"
    dh, dw = (int(d) for d in rng.integers(1, 4, 2))
    kh, kw = (int(k) for k in rng.integers(1, 4, 2))
    h, w, cin = int(rng.integers(3, 10)), int(rng.integers(3, 10)), int(rng.integers(1, 5))
    mult = int(rng.integers(1, 3)) if depthwise else 1
    cout = cin * mult if depthwise else int(rng.integers(1, 6))
    pads, s2b, crops = [], [], []
    for size, d, k in ((h, dh, kh), (w, dw, kw)):
        while True:
            before, after = (int(p) for p in rng.integers(0, (k - 1) * d + 2, 2))
            extra = (-(size + before + after)) % d + d * int(rng.integers(0, 2))
            crop_before = int(rng.integers(0, min(before, 1) + 1)) if rng.random() < 0.3 else 0
            if (size + before + after + extra) // d >= k and size + before - crop_before + after - (k - 1) * d >= 1:
                break
        pads += [before - crop_before, after]
        s2b.append((before, after + extra))
        crops.append((crop_before, extra))
    g = Graph(name="dilated")
    qx = QuantParams(np.array([0.04], np.float32), np.array([int(rng.integers(-20, 20))])) if int8 else None
    qy = QuantParams(np.array([0.1], np.float32), np.array([int(rng.integers(-20, 20))])) if int8 else None
    hp, wp = h + sum(s2b[0]), w + sum(s2b[1])
    ph, pw = hp // dh - kh + 1, wp // dw - kw + 1
    oh, ow = ph * dh - sum(crops[0]), pw * dw - sum(crops[1])
    dt = "int8" if int8 else "float32"
    for name, shape, qq in (("x", (1, h, w, cin), qx), ("s", (dh * dw, hp // dh, wp // dw, cin), qx),
                            ("c", (dh * dw, ph, pw, cout), qy), ("y", (1, oh, ow, cout), qy)):
        g.add_tensor(Tensor(name, shape, dt, qq))
    wshape = (1, kh, kw, cout) if depthwise else (cout, kh, kw, cin)
    if int8:
        ws = rng.uniform(0.005, 0.02, cout).astype(np.float32)
        g.add_tensor(Tensor("w", wshape, "int8", QuantParams(ws, np.zeros(cout), 3 if depthwise else 0),
                            rng.integers(-127, 128, wshape).astype(np.int8)))
        g.add_tensor(Tensor("b", (cout,), "int32", QuantParams(ws * np.float32(0.04), np.zeros(cout), 0),
                            rng.integers(-500, 500, cout).astype(np.int32)))
    else:
        g.add_tensor(Tensor("w", wshape, "float32", None, rng.standard_normal(wshape).astype(np.float32)))
        g.add_tensor(Tensor("b", (cout,), "float32", None, rng.standard_normal(cout).astype(np.float32)))
    act = str(rng.choice(["NONE", "RELU"]))
    conv = irops.DepthwiseConv2DAttrs(activation=act, depth_multiplier=mult) if depthwise else \
        irops.Conv2DAttrs(activation=act)
    g.ops = [Op("SPACE_TO_BATCH_ND", ["x"], ["s"], irops.SpaceBatchAttrs((dh, dw), tuple(s2b)), "s2b"),
             Op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", ["s", "w", "b"], ["c"], conv, "conv"),
             Op("BATCH_TO_SPACE_ND", ["c"], ["y"], irops.SpaceBatchAttrs((dh, dw), tuple(crops)), "b2s")]
    g.inputs, g.outputs = ["x"], ["y"]
    return g, tuple(pads)


def _unpadded(pads, shape_x, shape_y, kernel, dilation) -> np.ndarray:
    """Output positions whose window reads no padding (where TFLM's uninitialised padding cannot matter)."""
    masks = []
    for axis in range(2):
        rows = np.arange(shape_y[1 + axis])[:, None] - pads[2 * axis] + np.arange(kernel[axis]) * dilation[axis]
        masks.append(((rows >= 0) & (rows < shape_x[1 + axis])).all(axis=1))
    return masks[0][:, None] & masks[1][None, :]


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("depthwise", [False, True], ids=["conv", "depthwise"])
def test_dilated_convolution_pattern_folds_exactly(depthwise, dtype, tmp_path):
    """12 random patterns: import folds them into one dilated convolution whose reference (and host C, int8)
    equal LiteRT's reference kernels on the unfolded model everywhere and TFLM's wherever no padding is read."""
    rng = np.random.default_rng(7700 + depthwise + 2 * (dtype == "float32"))
    for i in range(CONFIGS):
        g, pads = dilated_pattern(rng, depthwise, dtype)
        verify(g)
        path = tmp_path / f"pattern{i}.tflite"
        tflite_writer.write(g, path)
        folded = tflite_import.load(path)
        assert [op.kind for op in folded.ops] == [g.ops[1].kind], [op.kind for op in folded.ops]
        a = folded.ops[0].attrs
        assert (a.dilation_h, a.dilation_w) == tuple(g.ops[0].attrs.block_shape)
        assert (a.pad_top, a.pad_bottom, a.pad_left, a.pad_right) == pads
        x = _x(g, rng)
        ours, unfolded = executor.run(folded, [x])[0], executor.run(g, [x])[0]
        assert_close(ours, unfolded, sums=True)
        assert_close(ours, litert(g, x), sums=True)
        w = g.t("w").shape
        mask = _unpadded(pads, g.t("x").shape, g.t("y").shape, w[1:3], (a.dilation_h, a.dilation_w))
        theirs = tflm(g)(x)
        if dtype == "int8":
            np.testing.assert_array_equal(ours[0][mask], theirs[0][mask])
            if i < 4:
                assert_host(folded, rng, tmp_path / str(i))
        else:
            assert_close(ours[0][mask], theirs[0][mask], sums=True)


# ---------------------------------------------------------------- CONV 1D as the TF converter writes it


def conv1d_graph(rng, dtype: str = "int8") -> Graph:
    """[1, L, C] -> RESHAPE [1, 1, L, C] -> CONV_2D (1 x K kernel) -> RESHAPE [1, L', Cout]."""
    from mcucompress.frontend.tflite import _same_or_valid_pads
    from mcucompress.ir import Op, QuantParams, Tensor

    int8 = dtype == "int8"
    length, cin, cout = int(rng.integers(4, 17)), int(rng.integers(1, 6)), int(rng.integers(1, 6))
    k, stride, dilation = int(rng.integers(1, 5)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
    same = bool(rng.integers(0, 2))
    if not same and (length - (k - 1) * dilation) < 1:
        same = True
    out = -(-length // stride) if same else (length - (k - 1) * dilation - 1) // stride + 1
    left, right = _same_or_valid_pads(0 if same else 1, length, out, k, stride, dilation)
    qx = QuantParams(np.array([0.03], np.float32), np.array([int(rng.integers(-30, 30))])) if int8 else None
    qy = QuantParams(np.array([0.08], np.float32), np.array([int(rng.integers(-30, 30))])) if int8 else None
    dt = "int8" if int8 else "float32"
    g = Graph(name="conv1d")
    for name, shape, qq in (("x", (1, length, cin), qx), ("x4", (1, 1, length, cin), qx),
                            ("y4", (1, 1, out, cout), qy), ("y", (1, out, cout), qy)):
        g.add_tensor(Tensor(name, shape, dt, qq))
    if int8:
        ws = rng.uniform(0.005, 0.02, cout).astype(np.float32)
        g.add_tensor(Tensor("w", (cout, 1, k, cin), "int8", QuantParams(ws, np.zeros(cout), 0),
                            rng.integers(-127, 128, (cout, 1, k, cin)).astype(np.int8)))
        g.add_tensor(Tensor("b", (cout,), "int32", QuantParams(ws * np.float32(0.03), np.zeros(cout), 0),
                            rng.integers(-300, 300, cout).astype(np.int32)))
    else:
        g.add_tensor(Tensor("w", (cout, 1, k, cin), "float32", None,
                            rng.standard_normal((cout, 1, k, cin)).astype(np.float32)))
        g.add_tensor(Tensor("b", (cout,), "float32", None, rng.standard_normal(cout).astype(np.float32)))
    attrs = irops.Conv2DAttrs(stride_w=stride, dilation_w=dilation, pad_left=left, pad_right=right,
                              activation=str(rng.choice(["NONE", "RELU6"])))
    g.ops = [Op("RESHAPE", ["x"], ["x4"], irops.NoAttrs(), "expand_dims"), Op("CONV_2D", ["x4", "w", "b"], ["y4"], attrs,
             "conv"), Op("RESHAPE", ["y4"], ["y"], irops.NoAttrs(), "squeeze")]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def _converter_reshape(low, op):
    """The TF converter's spelling of a 1-D convolution's reshapes: EXPAND_DIMS (axis operand), SQUEEZE (dims)."""
    x, y = low.graph.t(op.inputs[0]).shape, low.graph.t(op.outputs[0]).shape
    if len(y) == len(x) + 1:
        axis = low.add_const(f"{op.outputs[0]}_axis", [1])
        return [low.ref(op.inputs[0]), axis], None, {}, "EXPAND_DIMS"
    return [low.ref(op.inputs[0])], "SqueezeOptions", {"SqueezeDims": [1]}, "SQUEEZE"


@pytest.mark.parametrize("spelling", ["reshape", "expand_dims"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_conv1d_imports_and_matches(spelling, dtype, tmp_path, monkeypatch):
    """12 random 1-D convolutions written as the TF converter does: imported, bit-exact with TFLM (int8, in the
    reference and host C for 4) or within 1e-5 of LiteRT and TFLM (float32)."""
    if spelling == "expand_dims":
        monkeypatch.setitem(tflite_writer.LOWERINGS, "RESHAPE", _converter_reshape)
    rng = np.random.default_rng(7800 + 2 * (spelling == "expand_dims") + (dtype == "float32"))
    for i in range(CONFIGS):
        g = conv1d_graph(rng, dtype)
        verify(g)
        path = tmp_path / f"conv1d{i}.tflite"
        tflite_writer.write(g, path)
        if spelling == "expand_dims":
            import tflite

            model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
            codes = {model.OperatorCodes(j).BuiltinCode() for j in range(model.OperatorCodesLength())}
            assert {tflite.BuiltinOperator.EXPAND_DIMS, tflite.BuiltinOperator.SQUEEZE} <= codes
        back = tflite_import.load(path)
        assert [op.kind for op in back.ops] == ["RESHAPE", "CONV_2D", "RESHAPE"]
        x = _x(back, rng)
        ours = executor.run(back, [x])[0]
        if dtype == "int8":
            assert_close(ours, tflm(g)(x))
            if i < 4:
                assert_host(back, rng, tmp_path / str(i))
        else:
            assert_close(ours, litert(g, x), sums=True)
            assert_close(ours, tflm(g)(x), sums=True)


# ---------------------------------------------------------------- ONNX import (PyTorch or hand-built) vs onnxruntime


def _onnx_model(tmp_path, nodes, shape, out_shape, inits=(), name="m"):
    from onnx import TensorProto, helper

    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], list(inits))
    path = tmp_path / f"{name}.onnx"
    import onnx

    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_onnx_tile_cumsum_log_from_pytorch(tmp_path):
    pytest.importorskip("torch")
    import torch

    from tests.unit.test_onnx_import import Net, compare, export, kinds

    path = export(tmp_path, Net(lambda m, x: torch.log(torch.cumsum(x.repeat(1, 2, 1, 3), dim=3).abs() + 1)), (1, 3, 4, 5))
    g = compare(path, (1, 3, 4, 5))
    assert {"TILE", "CUMSUM", "LOG"} <= set(kinds(g))
    path = export(tmp_path, Net(lambda m, x: torch.flip(torch.cumsum(torch.flip(x, [1]), 1), [1])), (1, 6, 5),
                  name="rev")
    compare(path, (1, 6, 5), nchw_input=False)


@pytest.mark.parametrize("case", ["gather_nd", "sum", "lp_pool", "cumsum_flags"])
def test_onnx_hand_built(case, tmp_path):
    pytest.importorskip("onnxruntime")
    from onnx import helper, numpy_helper

    from tests.unit.test_onnx_import import compare, kinds

    if case == "gather_nd":
        ind = numpy_helper.from_array(np.array([[[0, 2], [1, 0]], [[1, 3], [0, -1]]], np.int64), "ind")
        path = _onnx_model(tmp_path, [helper.make_node("GatherND", ["x", "ind"], ["y"])], (2, 4, 5), (2, 2, 5), [ind])
        assert kinds(compare(path, (2, 4, 5), nchw_input=False)) == ["GATHER_ND"]
    elif case == "sum":
        c = numpy_helper.from_array(np.linspace(-1, 1, 60, dtype=np.float32).reshape(1, 3, 4, 5), "c")
        nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Sum", ["x", "r", "c"], ["y"])]
        assert kinds(compare(_onnx_model(tmp_path, nodes, (1, 3, 4, 5), (1, 3, 4, 5), [c]), (1, 3, 4, 5))) == \
            ["RELU", "ADD_N"]
    elif case == "lp_pool":
        node = helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[2, 3], strides=[2, 1], p=2)
        assert kinds(compare(_onnx_model(tmp_path, [node], (1, 3, 6, 7), (1, 3, 3, 5)), (1, 3, 6, 7))) == \
            ["L2_POOL_2D", "MUL"]
    else:
        axis = numpy_helper.from_array(np.array(-1, np.int64), "axis")
        node = helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=1, reverse=1)
        assert kinds(compare(_onnx_model(tmp_path, [node], (1, 3, 4, 5), (1, 3, 4, 5), [axis]), (1, 3, 4, 5))) == \
            ["CUMSUM"]


def test_onnx_lp_pool_refuses_padding(tmp_path):
    from onnx import helper

    node = helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], p=2)
    with pytest.raises(UnsupportedOpError, match="padded LpPool"):
        tflite_import_model(_onnx_model(tmp_path, [node], (1, 2, 5, 5), (1, 2, 5, 5)))


def tflite_import_model(path):
    from mcucompress.frontend import load_model

    return load_model(path)


# ---------------------------------------------------------------- the PyTorch bridge (finetune, QAT)


def bridge_graph(kind: str, rng, seed: int) -> Graph:
    """A float single-op graph of `kind` for the bridge test."""
    if kind in KINDS:
        return move_graph(kind, rng, "float32")
    if kind == "ADD_N":
        return add_n_graph(rng, seed, "float32")
    if kind == "CUMSUM":
        return cumsum_graph(rng, seed, "float32")
    if kind == "L2_POOL_2D":
        return l2_pool_graph(rng)
    return graph("LOG", [((1, 3, 5), None, None)], ((1, 3, 5), None))


@pytest.mark.parametrize("kind", [*KINDS, "ADD_N", "CUMSUM", "L2_POOL_2D", "LOG"])
def test_torch_bridge_matches_reference(kind):
    """Four float graphs per kind, each run as one sample and as a batch of three (sample by sample in ours)."""
    pytest.importorskip("torch")
    import torch

    from mcucompress.torch.bridge import GraphModule
    from tests.unit.test_torch_bridge import check_same

    rng = np.random.default_rng(7900)
    for seed in range(4):
        g = bridge_graph(kind, rng, seed)
        verify(g)
        x = _x(g, rng)
        if kind == "LOG":
            x = np.abs(x) + np.float32(0.1)
        check_same(g, x)
        if g.t(g.inputs[0]).shape[0] == 1:
            xs = np.concatenate([x, x[:, ::-1].copy() if x.ndim > 1 else x, -x if kind != "LOG" else x * 2])
            with torch.no_grad():
                y = GraphModule(g)(torch.from_numpy(xs)).numpy()
            ref = np.concatenate([executor.run(g, [s[None]])[0] for s in xs])
            np.testing.assert_allclose(y, ref, rtol=0, atol=1e-5 * max(1.0, float(np.abs(ref).max())))


# ---------------------------------------------------------------- the new int8 kernels on QEMU


def chain_graph(with_tile: bool = True) -> Graph:
    """SPACE_TO_BATCH_ND -> BATCH_TO_SPACE_ND (cropping) -> GATHER_ND -> ADD_N -> CUMSUM -> TILE, int8."""
    from mcucompress.ir import Op, QuantParams, Tensor

    rng = np.random.default_rng(8000)
    g = Graph(name="misc_chain")
    a, b = q(0.05, 3), q(0.2, -5)
    for name, shape, qq in [("x", (1, 6, 6, 4), a), ("sb", (4, 3, 3, 4), a), ("bs", (1, 6, 4, 4), a),
                            ("gn", (1, 6, 4, 4), a), ("an", (1, 6, 4, 4), a), ("cs", (1, 6, 4, 4), b),
                            ("tl", (1, 6, 8, 4), b)]:
        g.add_tensor(Tensor(name, shape, "int8", qq))
    g.add_tensor(Tensor("c", (1, 6, 4, 4), "int8", QuantParams(a.scale, a.zero_point),
                        rng.integers(-128, 128, (1, 6, 4, 4)).astype(np.int8)))
    g.ops = [Op("SPACE_TO_BATCH_ND", ["x"], ["sb"], irops.SpaceBatchAttrs((2, 2), ((0, 0), (0, 0)))),
             Op("BATCH_TO_SPACE_ND", ["sb"], ["bs"], irops.SpaceBatchAttrs((2, 2), ((0, 0), (1, 1)))),
             Op("GATHER_ND", ["bs"], ["gn"], irops.GatherNdAttrs((0,), (1, 1))),
             Op("ADD_N", ["gn", "c", "bs"], ["an"]),
             Op("CUMSUM", ["an"], ["cs"], irops.CumsumAttrs(2, True, False)),
             Op("TILE", ["cs"], ["tl"], irops.TileAttrs((1, 1, 2, 1)))]
    if not with_tile:
        g.ops = g.ops[:-1]
    for i, op in enumerate(g.ops):
        op.name = f"{op.kind.lower()}_{i}"
    g.inputs, g.outputs = ["x"], ["tl" if with_tile else "cs"]
    return g


def test_new_kernels_bit_exact_on_qemu(tmp_path):
    """The chain but TILE through TFLM equals the reference (TILE: LiteRT, above); the whole chain on the default
    board (Cortex-M4, mps2-an386 in QEMU) is bit-exact with the reference."""
    import json
    import shutil

    from tests.unit.test_cli_errors import mcc

    if not shutil.which("qemu-system-arm") or not shutil.which("arm-none-eabi-gcc"):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    rng = np.random.default_rng(8100)
    prefix = chain_graph(with_tile=False)
    run = tflm(prefix)
    for _ in range(3):
        x = _x(prefix, rng)
        np.testing.assert_array_equal(executor.run(prefix, [x])[0], run(x))
    g = chain_graph()
    model = tmp_path / "misc_chain.tflite"
    tflite_writer.write(g, model)
    result = mcc("run", model, "--samples", "4", "--json", tmp_path / "run.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["bit_exact"] is True


# ---------------------------------------------------------------- PTQ, serialization, verifier shape rules


@pytest.mark.parametrize("kind", ["ADD_N", "CUMSUM", "GATHER_ND", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND"])
def test_quantized_by_ptq_matches_tflm(kind, tmp_path):
    """A float graph quantized by our PTQ (ADD_N's inputs share one quantization, CUMSUM's output its own range)
    runs bit-exact in TFLM (SPACE_TO_BATCH_ND: where it copies) and in host C."""
    import mcucompress

    rng = np.random.default_rng(8200)
    g = {"ADD_N": lambda: graph("ADD_N", [((1, 4, 5), None, None), ((1, 4, 5), None,
                                                                     rng.uniform(-3, 3, (1, 4, 5)).astype(np.float32))],
                                ((1, 4, 5), None)),
         "CUMSUM": lambda: cumsum_graph(rng, 1, "float32")}.get(kind, lambda: move_graph(kind, rng, "float32"))()
    shape = g.t(g.inputs[0]).shape
    cal = (rng.standard_normal((16,) + shape[1:]) * 2).astype(np.float32) if shape[0] == 1 else \
        (rng.standard_normal(shape) * 2).astype(np.float32)
    qg = mcucompress.quantize(g, cal)
    constraints.check_graph(qg)
    assert qg.ops[0].kind == kind
    if kind == "ADD_N":
        assert qg.t(qg.ops[0].inputs[0]).quant == qg.t(qg.ops[0].inputs[1]).quant
    run = tflm(qg)
    for _ in range(3):
        x = _x(qg, rng)
        ours, theirs = executor.run(qg, [x])[0], run(x)
        if kind == "SPACE_TO_BATCH_ND":
            copied = index_maps(kind, qg.ops[0].attrs, shape, [None])[0] >= 0
            ours, theirs = ours[copied], theirs[copied]
        np.testing.assert_array_equal(ours, theirs)
    assert_host(qg, rng, tmp_path)


def test_new_attrs_survive_serialization(tmp_path):
    from mcucompress.ir import serialize

    rng = np.random.default_rng(8300)
    for g in [move_graph(k, rng) for k in KINDS] + [cumsum_graph(rng, 3), add_n_graph(rng, 2)]:
        serialize.save(g, tmp_path / "g.json")
        back = serialize.load(tmp_path / "g.json")
        assert back.ops[0].attrs == g.ops[0].attrs, g.ops[0].kind


@pytest.mark.parametrize("name", ["add_n_shapes", "add_n_dtype", "cumsum_axis", "cumsum_out", "l2_pool_out",
                                  "log_out"])
def test_verifier_rejects_inconsistent_shapes(name):
    from mcucompress.errors import GraphError

    qq = q(0.05)
    g = {
        "add_n_shapes": lambda: graph("ADD_N", [((1, 4), qq, None), ((1, 3), qq, np.ones((1, 3), np.int8))],
                                      ((1, 4), qq)),
        "add_n_dtype": lambda: graph("ADD_N", [((1, 4), qq, None), ((1, 4), None, np.ones((1, 4), np.float32))],
                                     ((1, 4), qq)),
        "cumsum_axis": lambda: graph("CUMSUM", [((1, 4), qq, None)], ((1, 4), qq), irops.CumsumAttrs(2)),
        "cumsum_out": lambda: graph("CUMSUM", [((1, 4), qq, None)], ((1, 5), qq), irops.CumsumAttrs(1)),
        "l2_pool_out": lambda: graph("L2_POOL_2D", [((1, 4, 4, 2), None, None)], ((1, 3, 3, 2), None),
                                     irops.Pool2DAttrs(2, 2, 2, 2)),
        "log_out": lambda: graph("LOG", [((1, 4), None, None)], ((1, 5), None)),
    }[name]()
    with pytest.raises(GraphError) as err:
        verify(g)
    assert "\n" not in str(err.value)
