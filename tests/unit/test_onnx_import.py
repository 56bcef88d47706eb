"""ONNX import: tiny PyTorch models per op, exported to ONNX, imported, run on our float reference
executor and compared with onnxruntime; hand-built ONNX graphs for what PyTorch does not emit; bad input.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper
from torch import nn
from torch.nn import functional as F

from mcucompress.errors import McuError, UnsupportedOpError
from mcucompress.frontend import load_model
from mcucompress.ir.verify import verify
from mcucompress.reference import executor
from tests.unit.test_cli_errors import assert_one_line_error, mcc

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


class Net(nn.Module):
    """forward(x) = fn(self.m, x) with submodules `m`; parameters and BatchNorm statistics are random."""

    def __init__(self, fn, **mods):
        super().__init__()
        self.fn = fn
        self.m = nn.ModuleDict(mods)
        gen = torch.Generator().manual_seed(0)
        for bn in (m for m in self.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)):
            bn.running_mean.uniform_(-0.5, 0.5, generator=gen)
            bn.running_var.uniform_(0.5, 2.0, generator=gen)
            bn.weight.data.uniform_(0.5, 1.5, generator=gen)
            bn.bias.data.uniform_(-0.5, 0.5, generator=gen)

    def forward(self, x):
        return self.fn(self.m, x)


def session(path):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def nhwc(a: np.ndarray) -> np.ndarray:
    return a.transpose(0, 2, 3, 1) if a.ndim == 4 else a


def compare(path, shape, nchw_input: bool = True, seed: int = 0, rtol: float = 1e-5):
    """Import `path`, run both runtimes on one random input; return the imported graph."""
    graph = load_model(path)
    verify(graph)
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    sess = session(path)
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    ours = executor.run(graph, [nhwc(x) if nchw_input else x])[0]
    ref = nhwc(ref)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=rtol * max(1.0, float(np.abs(ref).max())))
    return graph


def export(tmp_path, model: nn.Module, shape, opset: int = 13, name: str = "m", **kwargs):
    path = tmp_path / f"{name}.onnx"
    torch.manual_seed(0)
    torch.onnx.export(model.eval(), (torch.randn(shape),), str(path), opset_version=opset, dynamo=False,
                      input_names=["x"], output_names=["y"], **kwargs)
    return path


def kinds(graph) -> list[str]:
    return [op.kind for op in graph.ops]


torch.manual_seed(0)
conv = lambda *a, **k: nn.Conv2d(*a, **k)
CASES = {  # name: (module, input shape, expected IR kinds or None)
    "conv_stride_pad": (Net(lambda m, x: m.c(x), c=conv(3, 4, 3, stride=2, padding=1)), (1, 3, 7, 7), ["CONV_2D"]),
    "conv_dilated_no_bias": (Net(lambda m, x: m.c(x), c=conv(3, 4, 3, dilation=2, padding=2, bias=False)),
                             (1, 3, 6, 6), ["CONV_2D"]),
    "conv_same_even_kernel": (Net(lambda m, x: m.c(x), c=conv(2, 3, 4, padding="same")), (1, 2, 6, 6), None),
    "depthwise": (Net(lambda m, x: m.c(x), c=conv(4, 4, 3, stride=2, groups=4)), (1, 4, 7, 7),
                  ["DEPTHWISE_CONV_2D"]),
    "depthwise_multiplier": (Net(lambda m, x: m.c(x), c=conv(4, 8, 3, padding=1, groups=4)), (1, 4, 5, 5),
                             ["DEPTHWISE_CONV_2D"]),
    "gemm": (Net(lambda m, x: m.fc(x), fc=nn.Linear(10, 5)), (1, 10), ["FULLY_CONNECTED"]),
    "matmul_add": (Net(lambda m, x: x @ m.fc.weight.T + m.fc.bias, fc=nn.Linear(10, 5)), (1, 10),
                   ["FULLY_CONNECTED"]),
    "matmul_3d": (Net(lambda m, x: x @ m.fc.weight.T, fc=nn.Linear(10, 5)), (1, 3, 10), ["FULLY_CONNECTED"]),
    "batchnorm_standalone": (Net(lambda m, x: m.bn(torch.relu(m.c(x))), c=conv(3, 4, 3), bn=nn.BatchNorm2d(4)),
                             (1, 3, 5, 5), ["CONV_2D", "MUL", "ADD"]),
    "batchnorm1d_into_gemm": (Net(lambda m, x: m.bn(m.fc(x)), fc=nn.Linear(6, 4), bn=nn.BatchNorm1d(4)), (1, 6),
                              ["FULLY_CONNECTED"]),
    "relu_fused": (Net(lambda m, x: torch.relu(m.c(x)), c=conv(3, 4, 3)), (1, 3, 5, 5), ["CONV_2D"]),
    "relu6_fused": (Net(lambda m, x: F.relu6(m.fc(x)), fc=nn.Linear(6, 4)), (1, 6), ["FULLY_CONNECTED"]),
    "hardtanh_fused": (Net(lambda m, x: F.hardtanh(m.c(x)), c=conv(3, 4, 1)), (1, 3, 4, 4), ["CONV_2D"]),
    "relu6_standalone": (Net(lambda m, x: F.relu6(x)), (1, 3, 4, 4), ["RELU6"]),
    "leaky_relu": (Net(lambda m, x: F.leaky_relu(x, 0.1)), (1, 3, 4, 4), ["LEAKY_RELU"]),
    "sigmoid_tanh": (Net(lambda m, x: torch.sigmoid(x) + torch.tanh(x)), (1, 3, 4, 4), ["LOGISTIC", "TANH", "ADD"]),
    "hardswish": (Net(lambda m, x: F.hardswish(x * 3)), (1, 3, 4, 4), ["MUL", "HARD_SWISH"]),
    "maxpool_padded": (Net(lambda m, x: F.max_pool2d(x, 3, 2, padding=1)), (1, 3, 7, 7), ["MAX_POOL_2D"]),
    "avgpool_count_pad": (Net(lambda m, x: F.avg_pool2d(x, 3, 2, padding=1)), (1, 3, 7, 7),
                          ["PAD", "AVERAGE_POOL_2D"]),
    "avgpool_exclude_pad": (Net(lambda m, x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False)),
                            (1, 3, 7, 7), ["AVERAGE_POOL_2D"]),
    "global_avg_pool": (Net(lambda m, x: F.adaptive_avg_pool2d(x, 1)), (1, 3, 5, 4), ["MEAN"]),
    "global_max_pool": (Net(lambda m, x: F.adaptive_max_pool2d(x, 1)), (1, 3, 5, 4), ["MAX_POOL_2D"]),
    "reduce_mean_spatial": (Net(lambda m, x: x.mean(dim=(2, 3))), (1, 3, 5, 4), ["MEAN"]),
    "reduce_mean_channels": (Net(lambda m, x: x.mean(dim=1, keepdim=True)), (1, 3, 5, 4), ["MEAN"]),
    "add_sub_mul_div": (Net(lambda m, x: (m.a(x) - m.b(x)) * m.a(x) / 3 + 1, a=conv(3, 4, 1), b=conv(3, 4, 1)),
                        (1, 3, 4, 4), None),
    "channel_constant": (Net(lambda m, x: x * m.c.weight.view(3, 1, 1) - m.c.bias.view(1, 3, 1, 1),
                             c=nn.BatchNorm2d(3)), (1, 3, 4, 4), ["MUL", "SUB"]),
    "concat_channels": (Net(lambda m, x: torch.cat([m.a(x), x, m.b(x)], 1), a=conv(3, 2, 1), b=conv(3, 5, 1)),
                        (1, 3, 4, 4), ["CONV_2D", "CONV_2D", "CONCATENATION"]),
    "pad": (Net(lambda m, x: F.pad(x, (1, 2, 0, 1))), (1, 3, 4, 4), ["PAD"]),
    "flatten_gemm": (Net(lambda m, x: m.fc(torch.relu(m.c(x)).flatten(1)), c=conv(3, 4, 3), fc=nn.Linear(36, 5)),
                     (1, 3, 5, 5), ["CONV_2D", "RESHAPE", "FULLY_CONNECTED"]),
    "view_matmul": (Net(lambda m, x: m.c(x).view(1, -1) @ m.fc.weight.T, c=conv(3, 4, 3), fc=nn.Linear(36, 5)),
                    (1, 3, 5, 5), ["CONV_2D", "RESHAPE", "FULLY_CONNECTED"]),
    "transpose_flatten": (Net(lambda m, x: m.fc(x.permute(0, 2, 3, 1).reshape(1, -1)), fc=nn.Linear(48, 5)),
                          (1, 3, 4, 4), ["RESHAPE", "FULLY_CONNECTED"]),
    "softmax_2d": (Net(lambda m, x: torch.softmax(m.fc(x), 1), fc=nn.Linear(6, 4)), (1, 6),
                   ["FULLY_CONNECTED", "SOFTMAX"]),
    "softmax_channels": (Net(lambda m, x: torch.softmax(x, 1)), (1, 3, 4, 4), ["SOFTMAX"]),
    "squeeze_excite": (Net(lambda m, x: x * torch.sigmoid(m.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))).view(1, 4, 1, 1),
                           fc=nn.Linear(4, 4)), (1, 4, 3, 3), None),
}


@pytest.mark.parametrize("name", CASES)
def test_op_matches_onnxruntime(tmp_path, name):
    module, shape, expected = CASES[name]
    graph = compare(export(tmp_path, module, shape), shape)
    if expected is not None:
        assert kinds(graph) == expected


OPSET11 = ["conv_stride_pad", "relu6_fused", "hardswish", "flatten_gemm", "softmax_2d", "reduce_mean_spatial", "pad",
           "add_sub_mul_div"]


@pytest.mark.parametrize("name", OPSET11)
def test_opset_11(tmp_path, name):
    module, shape, _ = CASES[name]
    path = export(tmp_path, module, shape, opset=11)
    assert onnx.load(path).opset_import[0].version == 11
    graph = compare(path, shape)
    if name == "hardswish":  # exported as x * HardSigmoid(x) below opset 14
        assert "HardSigmoid" in [n.op_type for n in onnx.load(path).graph.node] and "HARD_SWISH" in kinds(graph)


def test_dynamic_batch_is_fixed_to_one_and_shape_arithmetic_folds(tmp_path):
    module = Net(lambda m, x: m.fc(torch.relu(m.c(x)).view(x.size(0), -1)), c=conv(3, 4, 3), fc=nn.Linear(36, 5))
    path = export(tmp_path, module, (1, 3, 5, 5), dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    assert onnx.load(path).graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    graph = compare(path, (1, 3, 5, 5))
    assert kinds(graph) == ["CONV_2D", "RESHAPE", "FULLY_CONNECTED"]
    assert graph.t(graph.inputs[0]).shape == (1, 5, 5, 3)


# ---------------------------------------------------------------- hand-built ONNX graphs


def save(tmp_path, nodes, inputs, outputs, inits=(), opset=13, name="h"):
    graph = helper.make_graph(nodes, name, inputs, outputs, [numpy_helper.from_array(a, n) for n, a in inits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def test_keras_style_nhwc_model(tmp_path):
    """tf2onnx's shape: NHWC input, Transpose to NCHW, Conv, Transpose back, Reshape, MatMul + Add."""
    rng = np.random.default_rng(1)
    inits = [("w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)), ("b", rng.standard_normal(4).astype(np.float32)),
             ("shape", np.array([-1, 64], np.int64)), ("fw", rng.standard_normal((64, 5)).astype(np.float32)),
             ("fb", rng.standard_normal(5).astype(np.float32))]
    nodes = [
        helper.make_node("Transpose", ["x"], ["x_nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["x_nchw", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Transpose", ["r"], ["r_nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["r_nhwc", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fw"], ["mm"]),
        helper.make_node("Add", ["mm", "fb"], ["y"]),
    ]
    path = save(tmp_path, nodes, [vi("x", ["N", 4, 4, 3])], [vi("y", ["N", 5])], inits)
    graph = compare(path, (1, 4, 4, 3), nchw_input=False)
    assert kinds(graph) == ["CONV_2D", "RESHAPE", "FULLY_CONNECTED"]
    assert graph.ops[0].attrs.activation == "RELU"


R = np.random.default_rng(5)
HAND_BUILT = {  # name: (nodes, input shape, output shape, initializers, opset)
    "conv_auto_pad_same_upper": ([helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])],
                                 [1, 2, 6, 7], [1, 3, 3, 4], [("w", R.standard_normal((3, 2, 4, 3)))], 13),
    "conv_auto_pad_same_lower": ([helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_LOWER", strides=[2, 1])],
                                 [1, 2, 6, 7], [1, 3, 3, 7], [("w", R.standard_normal((3, 2, 4, 2)))], 13),
    "gemm_alpha_beta_no_trans": ([helper.make_node("Gemm", ["x", "b", "c"], ["y"], alpha=0.5, beta=2.0)],
                                 [1, 6], [1, 4], [("b", R.standard_normal((6, 4))), ("c", R.standard_normal((1, 4)))], 13),
    "reduce_mean_opset18": ([helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=0)], [1, 3, 4, 5], [1, 4],
                            [("axes", np.array([1, 3], np.int64))], 18),
    "pad_axes_opset18": ([helper.make_node("Pad", ["x", "pads", "", "axes"], ["y"])], [1, 3, 4, 5], [1, 3, 7, 5],
                         [("pads", np.array([1, 2], np.int64)), ("axes", np.array([2], np.int64))], 18),
    "clip_min_only_opset11": ([helper.make_node("Clip", ["x", "lo"], ["y"])], [1, 8], [1, 8],
                              [("lo", np.array(0, np.float32))], 11),
    "softmax_opset11_axis1_4d": ([helper.make_node("Softmax", ["x"], ["y"], axis=1)], [1, 5, 1, 1], [1, 5, 1, 1], [], 11),
}


@pytest.mark.parametrize("name", HAND_BUILT)
def test_hand_built_op_matches_onnxruntime(tmp_path, name):
    nodes, shape, out_shape, inits, opset = HAND_BUILT[name]
    inits = [(n, a.astype(np.float32) if a.dtype == np.float64 else a) for n, a in inits]
    path = save(tmp_path, nodes, [vi("x", shape)], [vi("y", out_shape)], inits, opset=opset, name=name)
    compare(path, tuple(shape))


def test_identity_and_dropout_are_removed(tmp_path):
    nodes = [helper.make_node("Identity", ["x"], ["i"]), helper.make_node("Relu", ["i"], ["r"]),
             helper.make_node("Dropout", ["r"], ["y"])]
    path = save(tmp_path, nodes, [vi("x", [1, 8])], [vi("y", [1, 8])])
    graph = compare(path, (1, 8))
    assert kinds(graph) == ["RELU"] and graph.outputs == ["y"]


def test_standalone_clip_minus_one_one_is_rejected(tmp_path):
    inits = [("lo", np.array(-1, np.float32)), ("hi", np.array(1, np.float32))]
    path = save(tmp_path, [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], [vi("x", [1, 8])], [vi("y", [1, 8])],
                inits)
    with pytest.raises(UnsupportedOpError, match="Clip"):
        load_model(path)


def test_nchw_reshape_that_reorders_elements_runs_through_a_transpose(tmp_path):
    module = Net(lambda m, x: m.b(m.a(x).reshape(1, 2, 8, 4)), a=conv(3, 4, 1), b=conv(2, 2, 1))
    graph = compare(export(tmp_path, module, (1, 3, 4, 4)), (1, 3, 4, 4))
    assert "TRANSPOSE" in kinds(graph)


def test_grouped_conv_is_rejected_with_the_node_named(tmp_path):
    path = export(tmp_path, Net(lambda m, x: m.c(x), c=conv(4, 6, 3, groups=2)), (1, 4, 5, 5))
    with pytest.raises(UnsupportedOpError, match=r"node 0 .*Conv.*grouped convolution \(group=2"):
        load_model(path)


def test_ceil_mode_is_rejected(tmp_path):
    path = export(tmp_path, Net(lambda m, x: F.max_pool2d(x, 2, ceil_mode=True)), (1, 3, 5, 5))
    with pytest.raises(UnsupportedOpError, match="ceil_mode"):
        load_model(path)


# ---------------------------------------------------------------- bad input through the CLI


def test_cli_unsupported_op_names_it_and_where_to_look(tmp_path):
    rng = np.random.default_rng(0)
    inits = [("W", rng.standard_normal((1, 8, 4)).astype(np.float32)),
             ("R", rng.standard_normal((1, 8, 8)).astype(np.float32))]
    rnn = helper.make_node("RNN", ["x", "W", "R"], ["y"], name="rnn", hidden_size=8)  # LSTM and GRU import
    path = save(tmp_path, [helper.make_node("Relu", ["x0"], ["x"]), rnn], [vi("x0", [5, 1, 4])],
                [vi("y", [5, 1, 1, 8])], inits, name="rnn")
    line = assert_one_line_error(mcc("inspect", path), str(path), "node 1 'rnn' is RNN", "not supported")
    assert "mcucompress ops" in line and "Gemm" not in line
    made_up = save(tmp_path, [helper.make_node("FancyOp", ["x"], ["y"], name="fancy")], [vi("x", [1, 4])],
                   [vi("y", [1, 4])], name="fancy")
    with pytest.raises(UnsupportedOpError, match="node 0 'fancy' is FancyOp, which is not supported"):
        load_model(made_up)


def test_cli_dynamic_non_batch_dimension(tmp_path):
    path = save(tmp_path, [helper.make_node("Relu", ["image"], ["y"])], [vi("image", ["N", 3, "H", 8])],
                [vi("y", ["N", 3, "H", 8])], name="dynamic")
    assert_one_line_error(mcc("inspect", path), str(path), "dynamic shape", "'image'", "give a model with fixed input shape")


def test_cli_corrupt_onnx_file(tmp_path):
    good = export(tmp_path, CASES["flatten_gemm"][0], (1, 3, 5, 5)).read_bytes()
    path = tmp_path / "half.onnx"
    path.write_bytes(good[: len(good) // 2])
    assert_one_line_error(mcc("inspect", path), str(path), "ONNX", "re-export")


def test_truncated_or_random_onnx_files_give_an_mcu_error(tmp_path):
    good = export(tmp_path, CASES["flatten_gemm"][0], (1, 3, 5, 5)).read_bytes()
    path = tmp_path / "c.onnx"
    for cut in (1, 10, 100, len(good) // 3, len(good) - 5):
        path.write_bytes(good[:cut])
        with pytest.raises(McuError, match="ONNX"):
            load_model(path)
    path.write_bytes(np.random.default_rng(3).bytes(2000))
    with pytest.raises(McuError, match="ONNX"):
        load_model(path)


def test_non_model_file_says_tflite_or_onnx(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"hello, not a model at all")
    assert_one_line_error(mcc("inspect", path), str(path), ".tflite or .onnx")


# ---------------------------------------------------------------- bundled ONNX examples


def test_bundled_onnx_cnn_is_the_tflite_cnn():
    from mcucompress.examples import DIGITS_CNN_ONNX, DIGITS_FLOAT, DIGITS_TEST

    x = np.load(DIGITS_TEST)["x"]
    from_onnx = executor.run(load_model(DIGITS_CNN_ONNX), [x])[0]
    from_tflite = executor.run(load_model(DIGITS_FLOAT), [x])[0]
    np.testing.assert_allclose(from_onnx, from_tflite, rtol=1e-5, atol=1e-6)
    assert np.array_equal(from_onnx.argmax(1), from_tflite.argmax(1))


def test_bundled_mlp_onnx_and_tflite_agree_and_quantize(tmp_path):
    from mcucompress import driver
    from mcucompress.codegen.project import compile_graph
    from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_MLP_FLOAT, DIGITS_MLP_ONNX, DIGITS_TEST

    data = np.load(DIGITS_TEST)
    onnx_graph = load_model(DIGITS_MLP_ONNX)
    assert [op.kind for op in onnx_graph.ops] == ["RESHAPE"] + ["FULLY_CONNECTED"] * 3 + ["SOFTMAX"]
    a = executor.run(onnx_graph, [data["x"]])[0]
    b = executor.run(load_model(DIGITS_MLP_FLOAT), [data["x"]])[0]
    assert np.array_equal(a.argmax(1), b.argmax(1)) and np.mean(a.argmax(1) == data["y"]) > 0.95
    int8 = driver.prepare(DIGITS_MLP_ONNX, calibration=DIGITS_CALIBRATION)
    assert int8.is_quantized and np.mean(executor.run(int8, [int8_input(int8, data["x"])])[0].argmax(1) == data["y"]) > 0.93
    compile_graph(int8, "mlp")


def int8_input(graph, x):
    q = graph.t(graph.inputs[0]).quant
    return np.clip(np.round(x / q.s) + q.zp, -128, 127).astype(np.int8)
