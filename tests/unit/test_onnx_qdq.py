"""ONNX QDQ models from onnxruntime.quantization.quantize_static (int8, per-channel weights) imported as
int8 graphs: they verify, compile to C, and match onnxruntime within a couple of LSB.

onnxruntime runs the QDQ models as written (graph optimizations off, so float ops between Dequantize and
Quantize; its fused int8 kernels depend on the CPU's instruction set), which rounds differently from TFLM's
integer arithmetic: outputs differ by small LSB counts, not bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
quantization = pytest.importorskip("onnxruntime.quantization")

from torch import nn
from torch.nn import functional as F

from mcucompress.codegen.project import compile_graph
from mcucompress.errors import UnsupportedOpError
from mcucompress.frontend import load_model
from mcucompress.ir.verify import verify
from mcucompress.reference import executor
from tests.unit.test_cli_errors import assert_one_line_error, mcc

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
SHAPE = (1, 3, 8, 8)


class Cnn(nn.Module):
    """Conv, depthwise, ReLU/ReLU6, residual Add, MaxPool, 1x1 conv, global average pool, Linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.fc = nn.Linear(16 * 4 * 4 + 16, 10)

    def forward(self, x):
        a = torch.relu(self.conv(x))
        b = F.relu6(self.dw(a))
        p = F.max_pool2d(a + b, 2)
        c = torch.relu(self.pw(p))
        g = F.adaptive_avg_pool2d(c, 1).flatten(1)
        return self.fc(torch.cat([c.flatten(1), g], 1))


class Heads(nn.Module):
    """Ops whose int8 form needs requantization: Concat of differently scaled inputs, AvgPool, Softmax, Sigmoid."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(3, 4, 1)
        self.fc = nn.Linear(8 * 4 * 4, 6)

    def forward(self, x):
        c = torch.cat([self.a(x), 3 * torch.sigmoid(self.b(x))], 1)
        p = F.avg_pool2d(c, 2)
        return torch.softmax(self.fc(p.flatten(1)), 1)


class MatMulAdd(nn.Module):
    """x.flatten(1) @ W + b, ReLU: onnxruntime leaves the leading Flatten in float and quantizes after it."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3 * 8 * 8, 10)

    def forward(self, x):
        return torch.relu(x.flatten(1) @ self.fc.weight.T + self.fc.bias)


class Reader(quantization.CalibrationDataReader):
    def __init__(self, xs):
        self.it = iter({"x": x[None]} for x in xs)

    def get_next(self):
        return next(self.it, None)


def quantized(tmp_path, model: nn.Module, name: str, activation_type=None):
    torch.manual_seed(0)
    float_path, q_path = tmp_path / f"{name}_float.onnx", tmp_path / f"{name}_qdq.onnx"
    torch.onnx.export(model.eval(), (torch.randn(SHAPE),), str(float_path), opset_version=13, dynamo=False,
                      input_names=["x"], output_names=["y"])
    calibration = np.random.default_rng(1).standard_normal((32,) + SHAPE[1:]).astype(np.float32)
    quantization.quantize_static(str(float_path), str(q_path), Reader(calibration), quant_format=quantization.QuantFormat.QDQ,
                                 activation_type=activation_type or quantization.QuantType.QInt8,
                                 weight_type=quantization.QuantType.QInt8, per_channel=True)
    return q_path


def lsb_diffs(path, graph, n: int = 64):
    """|ours - onnxruntime| in output LSB for n random inputs, and the top-1 agreement."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # QDQ as written (float ops between Dequantize/Quantize): ORT's fused int8 kernels on x86 without VNNI
    # saturate u8*s8 pairs in int16 and land tens of LSB off, depending on the machine's CPU.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    qi, qo = graph.t(graph.inputs[0]).quant, graph.t(graph.outputs[0]).quant
    xs = np.random.default_rng(2).standard_normal((n,) + SHAPE[1:]).astype(np.float32)
    diffs, agree = [], []
    for x in xs:
        ref = sess.run(None, {"x": x[None]})[0]
        xq = np.clip(np.round(x.transpose(1, 2, 0) / qi.s) + qi.zp, -128, 127).astype(np.int8)[None]
        ours = executor.run(graph, [xq])[0].astype(np.int64)
        ref_q = np.round(ref / qo.s).astype(np.int64) + qo.zp  # ORT's output is DequantizeLinear of its int8
        diffs.append(int(np.abs(ours - ref_q).max()))
        agree.append(ours.argmax() == ref.argmax())
    return np.array(diffs), float(np.mean(agree))


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    path = quantized(tmp_path_factory.mktemp("qdq"), Cnn(), "cnn")
    return path, load_model(path)


def test_qdq_cnn_imports_as_int8(cnn):
    _, graph = cnn
    verify(graph)
    assert graph.is_quantized
    kinds = [op.kind for op in graph.ops]
    assert kinds.count("CONV_2D") == 2 and "DEPTHWISE_CONV_2D" in kinds and "FULLY_CONNECTED" in kinds
    assert "MEAN" in kinds and "MAX_POOL_2D" in kinds and "ADD" in kinds
    w = graph.t(graph.ops[0].inputs[1])
    assert w.dtype == "int8" and w.quant.axis == 0 and w.quant.scale.size == 8  # per-channel, output axis
    assert graph.t(graph.ops[0].inputs[2]).dtype == "int32"


def test_qdq_cnn_matches_onnxruntime_within_two_lsb(cnn):
    path, graph = cnn
    diffs, agree = lsb_diffs(path, graph)
    assert diffs.max() <= 2, np.bincount(diffs)
    assert agree >= 0.95, agree


def test_qdq_cnn_compiles_to_c(cnn):
    compiled = compile_graph(cnn[1], "qdq_cnn")
    assert compiled.summary()["layers"] == len(cnn[1].ops)


def test_qdq_requantizes_where_tflm_needs_it(tmp_path):
    path = quantized(tmp_path, Heads(), "heads")
    graph = load_model(path)
    verify(graph)  # would fail on unequal CONCATENATION / AVERAGE_POOL_2D quantization or a non-1/256 SOFTMAX
    softmax_out = graph.t(next(op for op in graph.ops if op.kind == "SOFTMAX").outputs[0]).quant
    assert (softmax_out.s, softmax_out.zp) == (np.float32(1 / 256), -128)
    diffs, agree = lsb_diffs(path, graph, n=32)
    assert diffs.max() <= 2, np.bincount(diffs)
    assert agree >= 0.9
    compile_graph(graph, "heads")


def test_qdq_matmul_add_behind_a_float_flatten(tmp_path):
    path = quantized(tmp_path, MatMulAdd(), "matmul")
    graph = load_model(path)
    verify(graph)
    assert graph.is_quantized and [op.kind for op in graph.ops] == ["RESHAPE", "FULLY_CONNECTED", "ADD"]
    assert graph.t(graph.ops[1].inputs[1]).quant.axis == 0  # MatMul's per-column (axis 1) scales, on FC's rows
    diffs, agree = lsb_diffs(path, graph, n=32)
    assert diffs.max() <= 2 and agree >= 0.9
    compile_graph(graph, "matmul")


def test_uint8_qdq_is_rejected_with_what_to_do(tmp_path):
    path = quantized(tmp_path, Heads(), "u8", activation_type=quantization.QuantType.QUInt8)
    assert_one_line_error(mcc("inspect", path), str(path), "uint8", "QuantType.QInt8")


def test_qdq_with_batchnorm_left_in_is_rejected(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4))
    with pytest.raises(UnsupportedOpError, match="BatchNormalization"):
        load_model(quantized(tmp_path, model, "bn"))


class Movement(nn.Module):
    """Slice (negative step), Split, reflect Pad, PixelShuffle (DepthToSpace CRD), Gather, Concat."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(20 * 20 + 8 * 8 + 8 * 3 * 8, 6)

    def forward(self, x):
        c = self.a(x)
        lo, hi = c.split([4, 4], dim=1)
        s = F.pixel_shuffle(F.pad(torch.flip(hi, dims=[3]), (1, 1, 1, 1), mode="reflect"), 2)
        g = c.index_select(2, torch.tensor([7, 0, 3]))
        return self.fc(torch.cat([s.flatten(1), lo[:, :1].flatten(1), g.flatten(1)], 1))


def test_qdq_movement_ops_import_match_onnxruntime_and_compile(tmp_path):
    path = quantized(tmp_path, Movement(), "movement")
    graph = load_model(path)
    verify(graph)
    kinds = {op.kind for op in graph.ops}
    assert {"SPLIT", "STRIDED_SLICE", "MIRROR_PAD", "DEPTH_TO_SPACE", "GATHER"} <= kinds, kinds
    diffs, _ = lsb_diffs(path, graph, n=16)
    assert diffs.max() <= 2, np.bincount(diffs)
    from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs

    xs = np.random.default_rng(3).integers(-128, 128, (2, *graph.t(graph.inputs[0]).shape), dtype=np.int8)
    assert_same(host_outputs(graph, xs, tmp_path), reference_outputs(graph, xs))
