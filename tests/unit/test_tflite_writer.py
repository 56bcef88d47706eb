"""The TFLite writer: written models run in TFLM and LiteRT exactly like the originals and re-import unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import tflite

from mcucompress.errors import GraphError
from mcucompress.frontend import tflite as importer
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, Op, QuantParams, Tensor, registry
from mcucompress.ir import ops as irops
from mcucompress.reference import executor
from tests.conftest import FLOAT_MODELS, INT8_MODELS, TflmSession, shared_model
from tests.graphs import q
from tests.unit.test_serialize import assert_graphs_equal


def litert_run(model: bytes, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # Plain builtin kernels (no XNNPACK) so that original and written model take the same code path.
    interp = Interpreter(
        model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def random_input(graph: Graph, rng: np.random.Generator) -> np.ndarray:
    t = graph.t(graph.inputs[0])
    if t.dtype == "int8":
        return rng.integers(-128, 128, size=t.shape, dtype=np.int8)
    return rng.standard_normal(t.shape).astype(np.float32)


def with_importer_op_names(graph: Graph) -> Graph:
    """TFLite operators have no names; the importer calls them <kind>_<index>."""
    for i, op in enumerate(graph.ops):
        op.name = f"{op.kind.lower()}_{i}"
    return graph


def write_and_reload(graph: Graph, tmp_path) -> tuple[bytes, Graph]:
    """Write under the graph's own name, since the importer names the graph after the file."""
    path = tmp_path / f"{graph.name}.tflite"
    tflite_writer.write(graph, path)
    return path.read_bytes(), importer.load(path)


@pytest.mark.parametrize("name", INT8_MODELS)
def test_mlperf_int8_model_round_trips(tmp_path, name):
    path = shared_model(name)
    graph = importer.load(path)
    written, reloaded = write_and_reload(graph, tmp_path)
    assert_graphs_equal(graph, reloaded)
    original_tflm, written_tflm = TflmSession(path), TflmSession(written)
    rng = np.random.default_rng(7)
    for _ in range(3):
        x = random_input(graph, rng)
        np.testing.assert_array_equal(written_tflm(x), original_tflm(x))
    x = random_input(graph, rng)
    np.testing.assert_array_equal(litert_run(written, x), litert_run(path.read_bytes(), x))


@pytest.mark.parametrize("name", FLOAT_MODELS)
def test_mlperf_float_model_round_trips(tmp_path, name):
    path = shared_model(name)
    graph = importer.load(path)
    written, reloaded = write_and_reload(graph, tmp_path)
    assert_graphs_equal(graph, reloaded)
    x = random_input(graph, np.random.default_rng(7))
    np.testing.assert_array_equal(litert_run(written, x), litert_run(path.read_bytes(), x))


def with_softmax(graph: Graph) -> Graph:
    logits = graph.outputs[0]
    graph.add_tensor(Tensor("probs", graph.t(logits).shape, "int8", q(1 / 256, -128)))
    graph.ops.append(Op("SOFTMAX", [logits], ["probs"], irops.SoftmaxAttrs(1.0), "softmax"))
    graph.outputs = ["probs"]
    return graph


def test_hand_built_int8_graph_runs_in_tflm_like_the_reference(tmp_path, tiny_graph):
    graph = with_importer_op_names(with_softmax(tiny_graph))  # per-channel CONV_2D, RESHAPE, FULLY_CONNECTED, SOFTMAX
    written, reloaded = write_and_reload(graph, tmp_path)
    assert_graphs_equal(graph, reloaded)
    tflm, rng = TflmSession(written), np.random.default_rng(3)
    for _ in range(5):
        x = random_input(graph, rng)
        np.testing.assert_array_equal(tflm(x), executor.run(graph, [x])[0])


def test_conv_pads_neither_same_nor_valid_become_a_pad_op(tmp_path, tiny_graph):
    conv = tiny_graph.ops[0]
    conv.attrs.pad_top = conv.attrs.pad_left = 1  # 1,1 on a 6x6 input, stride 2: SAME would be 0,1
    written, reloaded = write_and_reload(tiny_graph, tmp_path)
    assert [op.kind for op in reloaded.ops] == ["PAD", "CONV_2D", "RESHAPE", "FULLY_CONNECTED"]
    assert reloaded.ops[0].attrs.paddings == ((0, 0), (1, 1), (1, 1), (0, 0))
    a = reloaded.ops[1].attrs
    assert (a.pad_top, a.pad_bottom, a.pad_left, a.pad_right) == (0, 0, 0, 0)
    tflm, rng = TflmSession(written), np.random.default_rng(5)
    for _ in range(5):
        x = random_input(tiny_graph, rng)
        np.testing.assert_array_equal(tflm(x), executor.run(tiny_graph, [x])[0])


def test_pool_pads_neither_same_nor_valid_are_rejected(tmp_path):
    g = Graph(name="pool")
    g.add_tensor(Tensor("x", (1, 8, 8, 2), "int8", q(0.1)))
    g.add_tensor(Tensor("y", (1, 4, 4, 2), "int8", q(0.1)))
    attrs = irops.Pool2DAttrs(3, 3, 2, 2, pad_top=1, pad_bottom=1, pad_left=1, pad_right=1)
    g.ops = [Op("MAX_POOL_2D", ["x"], ["y"], attrs, "pool")]
    g.inputs, g.outputs = ["x"], ["y"]
    with pytest.raises(GraphError, match="'pool'.*neither TFLite SAME nor VALID"):
        tflite_writer.write(g, tmp_path / "pool.tflite")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_flatbuffer_layout(tmp_path, tiny_graph):
    tiny_graph.ops[2].inputs[2] = ""  # FULLY_CONNECTED without bias
    data = tflite_writer.to_bytes(tiny_graph)
    tflite_writer.write(tiny_graph, tmp_path / "t.tflite")
    assert (tmp_path / "t.tflite").read_bytes() == data == tflite_writer.to_bytes(tiny_graph)
    assert data[4:8] == b"TFL3" and not (tmp_path / "t.tflite.tmp").exists()
    model = tflite.Model.GetRootAs(data, 0)
    sg = model.Subgraphs(0)
    assert model.Version() == 3 and model.Buffers(0).DataLength() == 0
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    ops = tflite.BuiltinOperator
    assert [(c.BuiltinCode(), c.DeprecatedBuiltinCode(), c.Version()) for c in codes] == [
        (ops.CONV_2D, ops.CONV_2D, 3),
        (ops.RESHAPE, ops.RESHAPE, 1),
        (ops.FULLY_CONNECTED, ops.FULLY_CONNECTED, 4),
    ]
    tensors = {sg.Tensors(i).Name().decode(): sg.Tensors(i) for i in range(sg.TensorsLength())}
    assert "fb" not in tensors  # the bias nothing reads any more is left out
    const_buffers = [tensors[n].Buffer() for n in ("w", "b", "fw", "flat_shape")]
    assert sorted(const_buffers) == [1, 2, 3, 4] and model.BuffersLength() == 5
    assert tensors["x"].Buffer() == tensors["flat"].Buffer() == 0
    for i in const_buffers:  # the converter's 16-byte alignment of constant data
        assert model.Buffers(i)._tab.Vector(4) % 16 == 0
    wq = tensors["w"].Quantization()
    assert wq.ScaleLength() == 4 and wq.QuantizedDimension() == 0
    shape = tensors["flat_shape"]
    assert np.frombuffer(model.Buffers(shape.Buffer()).DataAsNumpy().tobytes(), "<i4").tolist() == [1, 36]
    assert sg.Operators(2).InputsAsNumpy()[2] == -1
    x = random_input(tiny_graph, np.random.default_rng(2))
    np.testing.assert_array_equal(TflmSession(data)(x), executor.run(tiny_graph, [x])[0])


def zoo() -> Graph:
    """One int8 graph using every op kind of the IR (output quantization chosen so that TFLM accepts each op)."""
    rng = np.random.default_rng(11)
    g = Graph(name="zoo")

    def act(name, shape, quant, dtype="int8"):
        g.add_tensor(Tensor(name, shape, dtype, quant))

    def const(name, shape, dtype, scales, axis, bound):
        quant = QuantParams(scales, np.zeros(scales.size), axis)
        g.add_tensor(Tensor(name, shape, dtype, quant, rng.integers(-bound, bound, shape)))

    a = q(0.05)
    for name, shape, quant in [
        ("x", (1, 8, 8, 4), a),
        *[(n, s, a) for n, s in [("mv_t", (1, 8, 8, 4)), ("mv_s0", (1, 8, 8, 2)), ("mv_s1", (1, 8, 8, 2)), ("mv_r1", (1, 8, 8, 2)),
                                 ("mv_ss", (1, 8, 8, 2)), ("mv_ga", (1, 8, 1, 2)), ("mv_bc", (1, 8, 8, 2)),
                                 ("mv_pk", (1, 8, 8, 2, 2)), ("mv_u0", (1, 8, 8, 2)), ("mv_u1", (1, 8, 8, 2)),
                                 ("mv_cc", (1, 8, 8, 4)), ("mv_sd", (1, 4, 4, 16)), ("mv_ds", (1, 8, 8, 4)),
                                 ("mv_mp", (1, 10, 10, 4)), ("mv_x2", (1, 8, 8, 4)), ("rz_n", (1, 5, 3, 4)),
                                 ("rz_b", (1, 8, 8, 4)), ("mv_sb", (4, 4, 4, 4)), ("mv_bs", (1, 8, 8, 4)),
                                 ("mv_gn", (1, 8, 8, 4))]],
        ("xp", (1, 10, 10, 4), a),
        ("c", (1, 8, 8, 8), q(0.05, -128)),
        ("d", (1, 8, 8, 16), a),
        ("m", (1, 4, 4, 16), a),
        ("tcv", (1, 4, 4, 16), a),
        ("av", (1, 4, 4, 16), a),
        ("s1", (1, 4, 4, 16), q(0.1)),
        ("s2", (1, 4, 4, 16), q(0.2)),
        ("s3", (1, 4, 4, 16), q(0.2)),
        ("cat", (1, 4, 4, 32), q(0.2)),
        ("lg", (1, 4, 4, 32), q(1 / 256, -128)),
        ("th", (1, 4, 4, 32), q(1 / 128)),
        ("r", (1, 4, 4, 32), q(1 / 128)),
        ("r6", (1, 4, 4, 32), q(1 / 128)),
        ("lr", (1, 4, 4, 32), q(1 / 128)),
        ("hs", (1, 4, 4, 32), q(1 / 128)),
        ("ab", (1, 4, 4, 32), q(1 / 128)),
        ("el", (1, 4, 4, 32), q(1 / 128)),
        ("pr", (1, 4, 4, 32), q(1 / 128)),
        ("mx", (1, 4, 4, 32), q(1 / 128)),
        ("mi", (1, 4, 4, 32), q(1 / 128)),
        ("sd", (1, 4, 4, 32), q(1 / 128)),
        ("rs", (1, 4, 4, 32), q(0.1, -128)),
        ("l2", (1, 4, 4, 32), q(1 / 128)),
        ("ls", (1, 4, 4, 32), q(16 / 256, 127)),
        ("rmx", (1, 1, 4, 32), q(16 / 256, 127)),
        ("rmn", (1, 1, 1, 32), q(16 / 256, 127)),
        ("su", (1, 1, 1, 32), q(1 / 16)),
        ("mn", (1, 1, 1, 32), q(1 / 128)),
        ("dv", (1, 1, 1, 32), q(1 / 64)),
        ("fl", (1, 32), q(1 / 128)),
        ("bm", (1, 32), q(1 / 128)),
        ("fc", (1, 10), q(0.05)),
        ("sm", (1, 10), q(1 / 256, -128)),
        ("qz", (1, 10), q(1 / 128)),
    ]:
        act(name, shape, quant)
    act("y", (1, 10), None, "float32")
    cw, dw = rng.uniform(0.005, 0.02, 8).astype(np.float32), rng.uniform(0.005, 0.02, 16).astype(np.float32)
    const("cw", (8, 3, 3, 4), "int8", cw, 0, 127)
    const("cb", (8,), "int32", cw * np.float32(0.05), 0, 200)
    const("dw", (1, 3, 3, 16), "int8", dw, 3, 127)
    const("db", (16,), "int32", dw * np.float32(0.05), 0, 200)
    tw = rng.uniform(0.005, 0.02, 16).astype(np.float32)
    const("tw", (16, 3, 3, 16), "int8", tw, 0, 20)
    const("tb", (16,), "int32", tw * np.float32(0.05), 0, 200)
    const("fw", (10, 32), "int8", np.array([0.01], np.float32), None, 127)
    const("fb", (10,), "int32", np.array([0.01 / 128], np.float32), None, 200)
    const("alpha", (32,), "int8", np.array([0.01], np.float32), None, 127)
    const("bmw", (32, 32), "int8", np.array([0.002], np.float32), None, 127)  # BATCH_MATMUL's constant rhs
    divisor = rng.integers(20, 120, (1, 1, 1, 32)) * rng.choice([-1, 1], (1, 1, 1, 32))  # never 0 (its zero point)
    g.add_tensor(Tensor("dvd", (1, 1, 1, 32), "int8", q(1 / 64), divisor.astype(np.int8)))
    for name in ("lo", "hi", "mid"):  # MAXIMUM/MINIMUM operands share their output's quantization
        const(name, (1, 1, 1, 32), "int8", np.array([1 / 128], np.float32), None, 100)
    same3 = {"pad_top": 1, "pad_bottom": 1, "pad_left": 1, "pad_right": 1}
    g.ops = [
        Op("TRANSPOSE", ["x"], ["mv_t"], irops.TransposeAttrs((0, 2, 1, 3))),
        Op("SPLIT", ["mv_t"], ["mv_s0", "mv_s1"], irops.SplitAttrs(3, (2, 2))),
        Op("REVERSE_V2", ["mv_s1"], ["mv_r1"], irops.ReverseAttrs((1,))),
        Op("STRIDED_SLICE", ["mv_s0"], ["mv_ss"], irops.StridedSliceAttrs((0, 0, 0, 0), (1, 8, 8, 2), (1, -1, 1, 1), 2, 2)),
        Op("GATHER", ["mv_r1"], ["mv_ga"], irops.GatherAttrs((3,), (1,), 2)),
        Op("BROADCAST_TO", ["mv_ga"], ["mv_bc"]),
        Op("PACK", ["mv_ss", "mv_bc"], ["mv_pk"], irops.AxisAttrs(4)),
        Op("UNPACK", ["mv_pk"], ["mv_u0", "mv_u1"], irops.AxisAttrs(4)),
        Op("CONCATENATION", ["mv_u1", "mv_u0"], ["mv_cc"], irops.ConcatenationAttrs(3)),
        Op("SPACE_TO_DEPTH", ["mv_cc"], ["mv_sd"], irops.BlockAttrs(2)),
        Op("DEPTH_TO_SPACE", ["mv_sd"], ["mv_ds"], irops.BlockAttrs(2)),
        Op("MIRROR_PAD", ["mv_ds"], ["mv_mp"], irops.MirrorPadAttrs(((0, 0), (1, 1), (1, 1), (0, 0)), "REFLECT")),
        Op("SLICE", ["mv_mp"], ["mv_x2"], irops.SliceAttrs((0, 1, 1, 0), (1, 8, 8, 4))),
        Op("RESIZE_NEAREST_NEIGHBOR", ["mv_x2"], ["rz_n"], irops.ResizeAttrs((5, 3), half_pixel_centers=True)),
        Op("RESIZE_BILINEAR", ["rz_n"], ["rz_b"], irops.ResizeAttrs((8, 8), align_corners=True)),
        Op("SPACE_TO_BATCH_ND", ["rz_b"], ["mv_sb"], irops.SpaceBatchAttrs((2, 2), ((0, 0), (0, 0)))),
        Op("BATCH_TO_SPACE_ND", ["mv_sb"], ["mv_bs"], irops.SpaceBatchAttrs((2, 2), ((0, 0), (0, 0)))),
        Op("GATHER_ND", ["mv_bs"], ["mv_gn"], irops.GatherNdAttrs((0,), (1, 1))),
        Op("PAD", ["mv_gn"], ["xp"], irops.PadAttrs(((0, 0), (1, 1), (1, 1), (0, 0)))),
        Op("CONV_2D", ["xp", "cw", "cb"], ["c"], irops.Conv2DAttrs(activation="RELU")),
        Op("DEPTHWISE_CONV_2D", ["c", "dw", "db"], ["d"], irops.DepthwiseConv2DAttrs(**same3, depth_multiplier=2)),
        Op("MAX_POOL_2D", ["d"], ["m"], irops.Pool2DAttrs(2, 2, 2, 2)),
        Op("TRANSPOSE_CONV", ["m", "tw", "tb"], ["tcv"], irops.TransposeConvAttrs(**same3)),
        Op("AVERAGE_POOL_2D", ["tcv"], ["av"], irops.Pool2DAttrs(3, 3, 1, 1, **same3)),
        Op("ADD", ["m", "av"], ["s1"], irops.ElementwiseAttrs("RELU6")),
        Op("SUB", ["s1", "m"], ["s2"], irops.ElementwiseAttrs()),
        Op("MUL", ["s2", "av"], ["s3"], irops.ElementwiseAttrs()),
        Op("CONCATENATION", ["s2", "s3"], ["cat"], irops.ConcatenationAttrs(3)),
        Op("LOGISTIC", ["cat"], ["lg"]),
        Op("TANH", ["lg"], ["th"]),
        Op("RELU", ["th"], ["r"]),
        Op("RELU6", ["r"], ["r6"]),
        Op("LEAKY_RELU", ["r6"], ["lr"], irops.LeakyReluAttrs(0.125)),
        Op("HARD_SWISH", ["lr"], ["hs"]),
        Op("ABS", ["hs"], ["ab"]),
        Op("ELU", ["ab"], ["el"]),
        Op("PRELU", ["el", "alpha"], ["pr"]),
        Op("MAXIMUM", ["pr", "lo"], ["mx"]),
        Op("MINIMUM", ["mx", "hi"], ["mi"]),
        Op("SQUARED_DIFFERENCE", ["mi", "mid"], ["sd"]),
        Op("RSQRT", ["sd"], ["rs"]),  # its input is >= its zero point, as TFLM requires
        Op("L2_NORMALIZATION", ["rs"], ["l2"]),
        Op("LOG_SOFTMAX", ["l2"], ["ls"]),
        Op("REDUCE_MAX", ["ls"], ["rmx"], irops.MeanAttrs((1,), keep_dims=True)),
        Op("REDUCE_MIN", ["rmx"], ["rmn"], irops.MeanAttrs((2,), keep_dims=True)),
        Op("SUM", ["rmn"], ["su"], irops.MeanAttrs((1,), keep_dims=True)),
        Op("MEAN", ["su"], ["mn"], irops.MeanAttrs((1, 2), keep_dims=True)),
        Op("DIV", ["mn", "dvd"], ["dv"], irops.ElementwiseAttrs()),
        Op("RESHAPE", ["dv"], ["fl"]),
        Op("BATCH_MATMUL", ["fl", "bmw"], ["bm"], irops.BatchMatMulAttrs(adj_y=True)),
        Op("FULLY_CONNECTED", ["bm", "fw", "fb"], ["fc"], irops.FullyConnectedAttrs("RELU")),
        Op("SOFTMAX", ["fc"], ["sm"], irops.SoftmaxAttrs(0.5)),
        Op("QUANTIZE", ["sm"], ["qz"]),
        Op("DEQUANTIZE", ["qz"], ["y"]),
    ]
    g.inputs, g.outputs = ["x"], ["y"]
    return with_importer_op_names(g)


FLOAT_ONLY = {"SQRT", "EXP", "NEG", "LOG", "L2_POOL_2D", "GELU"}  # no int8 kernel in TFLM (GELU: none at all)
# No TFLM kernel (TILE), no LiteRT int8 kernel (ADD_N, CUMSUM): test_misc_ops checks them against the other
NOT_IN_TFLM = {"TILE", "ADD_N", "CUMSUM"}
INTERNAL = {"LOOKUP"}  # made just before code generation (passes/float_island.py); the writer refuses it
# State in variable tensors; LiteRT's int8 LSTM also wants the converter's intermediate tensors, which TFLM
# ignores: tests/unit/test_recurrent_ops.py writes, reloads and runs them (TFLM int8, LiteRT float).
RECURRENT = {"UNIDIRECTIONAL_SEQUENCE_LSTM", "SVDF"}


def test_every_op_kind_loads_and_runs_in_tflm_and_litert(tmp_path):
    graph = zoo()
    from tests.unit.test_compare_select_ops import TYPED_KINDS  # typed_zoo() holds the int32 / bool ops

    assert {op.kind for op in graph.ops} == set(registry.kinds()) - FLOAT_ONLY - TYPED_KINDS - RECURRENT - NOT_IN_TFLM - INTERNAL
    written, reloaded = write_and_reload(graph, tmp_path)
    assert_graphs_equal(graph, reloaded)
    tflm, rng = TflmSession(written), np.random.default_rng(1)
    for _ in range(3):
        x = random_input(graph, rng)
        y_tflm, y_litert = tflm(x), litert_run(written, x)
        assert y_tflm.shape == y_litert.shape == (1, 10) and y_tflm.dtype == y_litert.dtype == np.float32
        assert abs(float(y_tflm.sum()) - 1.0) < 0.05
        # Different kernels (TFLM reference vs LiteRT builtin) may round differently; measured equal here.
        np.testing.assert_allclose(y_tflm, y_litert, atol=1 / 128)


def float_zoo() -> Graph:
    """The float32-only kinds TFLM runs in one float graph: DIV(NEG(LOG(L2_POOL_2D(SQRT(EXP(x))))), L2_POOL_2D(..))
    (GELU, which TFLM lacks, is checked against LiteRT in test_onnx_math_ops.py)."""
    g = Graph(name="float_zoo")
    for name in ("x", "e", "s"):
        g.add_tensor(Tensor(name, (1, 4, 6, 2), "float32"))
    for name in ("p", "lg", "n", "y"):
        g.add_tensor(Tensor(name, (1, 2, 3, 2), "float32"))
    g.ops = [Op("EXP", ["x"], ["e"]), Op("SQRT", ["e"], ["s"]), Op("L2_POOL_2D", ["s"], ["p"], irops.Pool2DAttrs(2, 2, 2, 2)),
             Op("LOG", ["p"], ["lg"]), Op("NEG", ["lg"], ["n"]), Op("DIV", ["n", "p"], ["y"], irops.ElementwiseAttrs())]
    g.inputs, g.outputs = ["x"], ["y"]
    return with_importer_op_names(g)


def test_float_only_kinds_load_and_run_in_tflm_and_litert(tmp_path):
    graph = float_zoo()
    assert {op.kind for op in graph.ops} == FLOAT_ONLY - {"GELU"} | {"DIV"}  # DIV: float too
    written, reloaded = write_and_reload(graph, tmp_path)
    assert_graphs_equal(graph, reloaded)
    x = random_input(graph, np.random.default_rng(3))
    ours = executor.run(graph, [x])[0]
    np.testing.assert_allclose(TflmSession(written)(x), ours, rtol=1e-6)
    np.testing.assert_allclose(litert_run(written, x), ours, rtol=1e-6)
