"""TRANSPOSE_CONV: random single-op models over strides 1-3, SAME/VALID (and TFLite's taller outputs), kernels
1-5, channel counts, per-tensor and per-channel weights, with and without bias, every fused activation.

int8 is checked bit-exact with TFLM in the reference executor and in host-compiled C (portable and with the
emulated DSP path), float32 against LiteRT (1e-5), a float graph quantized by our PTQ against TFLM, the
import of the TFLite files we write, and PyTorch's ConvTranspose2d exported to ONNX against onnxruntime.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import tflite

from mcucompress.errors import GraphError, UnsupportedOpError
from mcucompress.frontend import tflite_writer
from mcucompress.frontend.tflite_transpose_conv import tflm_pad
from mcucompress.ir import Graph, Op, QuantParams, Tensor, constraints
from mcucompress.ir import ops as irops
from mcucompress.ir.verify import verify
from mcucompress.reference import executor
from tests.unit.test_elementwise_ops import (
    assert_host_matches_reference,
    assert_matches_litert,
    assert_ptq_matches_tflm,
)
from tests.unit.test_reference_ops import assert_matches_tflm, tflm

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")  # torch.onnx.export

CASES = 28
ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def config(rng: np.random.Generator, seed: int) -> dict:
    """Shapes, strides and pads as TFLite files have them: SAME (seed odd) or VALID, the output size any the
    TensorFlow converter accepts for that padding (up to stride - 1 rows more than the scatter covers)."""
    sh, sw = (int(s) for s in rng.integers(1, 4, 2))
    kh, kw = (int(k) for k in rng.integers(1, 6, 2))
    h, w = (int(d) for d in rng.integers(1, 7, 2))
    padding = tflite.Padding.SAME if seed % 2 else tflite.Padding.VALID
    out = []
    for size, k, s in ((h, kh, sh), (w, kw, sw)):
        if padding == tflite.Padding.SAME:
            out.append(size * s - int(rng.integers(0, s)))
        else:
            out.append((size - 1) * s + k + int(rng.integers(0, s)))
    pads = []
    for size, o, k, s in ((h, out[0], kh, sh), (w, out[1], kw, sw)):
        top = tflm_pad(padding, o, k, s)
        pads += [top, (size - 1) * s + k - top - o]
    cin = int(rng.choice([1, 2, 3, 4, 5, 8, 12]))
    cout = int(rng.choice([1, 2, 3, 4, 7, 8]))
    attrs = irops.TransposeConvAttrs(sh, sw, *pads, activation=ACTIVATIONS[seed % 4])
    return {"x": (1, h, w, cin), "w": (cout, kh, kw, cin), "out": (1, out[0], out[1], cout), "attrs": attrs,
            "bias": seed % 3 != 2, "per_channel": seed % 5 != 0}


def tconv_graph(c: dict, rng: np.random.Generator, dtype: str = "int8") -> Graph:
    g = Graph(name="tconv")
    cout, kh, kw, cin = c["w"]
    inputs = ["x", "w"] + (["b"] if c["bias"] else [])
    if dtype == "float32":
        g.add_tensor(Tensor("x", c["x"], "float32"))
        g.add_tensor(Tensor("w", c["w"], "float32", None, (rng.standard_normal(c["w"]) * 0.3).astype(np.float32)))
        if c["bias"]:
            g.add_tensor(Tensor("b", (cout,), "float32", None, rng.standard_normal(cout).astype(np.float32)))
        g.add_tensor(Tensor("y", c["out"], "float32"))
    else:
        s_in = float(np.exp(rng.uniform(np.log(1e-3), np.log(0.5))))
        w_s = np.exp(rng.uniform(np.log(1e-3), np.log(0.05), cout if c["per_channel"] else 1)).astype(np.float32)
        wq = QuantParams(w_s, np.zeros(w_s.size), 0 if c["per_channel"] else None)
        g.add_tensor(Tensor("x", c["x"], "int8", QuantParams([s_in], [int(rng.integers(-128, 128))])))
        g.add_tensor(Tensor("w", c["w"], "int8", wq, rng.integers(-127, 128, c["w"]).astype(np.int8)))
        if c["bias"]:
            b_s = (np.float32(s_in) * w_s).astype(np.float32)
            g.add_tensor(Tensor("b", (cout,), "int32", QuantParams(b_s, np.zeros(b_s.size), 0 if b_s.size > 1 else None),
                                rng.integers(-20000, 20000, cout).astype(np.int32)))
        taps = cin * -(-kh // c["attrs"].stride_h) * -(-kw // c["attrs"].stride_w)
        # an output scale putting the accumulators' spread (~ 74 * 73 * sqrt(taps) units) over most of int8
        s_out = s_in * float(np.median(w_s)) * 74 * 73 * np.sqrt(taps) / 60 * rng.uniform(0.5, 2)
        g.add_tensor(Tensor("y", c["out"], "int8", QuantParams([s_out], [int(rng.integers(-100, 100))])))
    g.ops = [Op("TRANSPOSE_CONV", inputs, ["y"], c["attrs"], "tconv")]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def cases(name: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("seed", range(CASES), ids=lambda s: f"{name}{s}")


@cases("int8")
def test_transpose_conv_int8(seed, tmp_path):
    """Reference executor == TFLM; host C == reference on the first half of the cases."""
    rng = np.random.default_rng(9100 + seed)
    g = tconv_graph(config(rng, seed), rng)
    constraints.check_graph(g)
    assert_matches_tflm(g, rng)
    if seed < CASES // 2:
        assert_host_matches_reference(g, rng, tmp_path)


def test_transpose_conv_int8_dsp_path(tmp_path, monkeypatch):
    """The DSP path (MCC_EMULATE_DSP on the host): channel counts with and without a multiple of 4."""
    from mcucompress.harness import host

    monkeypatch.setattr(host, "HOST_CFLAGS", [*host.HOST_CFLAGS, "-DMCC_EMULATE_DSP"])
    for seed in range(6):
        rng = np.random.default_rng(9300 + seed)
        c = config(rng, seed)
        g = tconv_graph(c, rng)
        assert_matches_tflm(g, rng)
        assert_host_matches_reference(g, rng, tmp_path / str(seed))


def test_transpose_conv_float():
    """Float32 within 1e-5 of LiteRT and of TFLM's float kernel (whose scatter sums in another order)."""
    for seed in range(8):
        rng = np.random.default_rng(9400 + seed)
        g = tconv_graph(config(rng, seed), rng, "float32")
        assert_matches_litert(g, rng, atol=1e-5)
        x = (rng.standard_normal(g.t("x").shape) * 4).astype(np.float32)
        np.testing.assert_allclose(executor.run(g, [x])[0], tflm(g)(x), rtol=1e-5, atol=1e-5)


def test_transpose_conv_quantized_by_ptq():
    """Float graphs quantized by our PTQ: weights per channel on axis 0, bias int32 at input x weight scale,
    bit-exact with TFLM."""
    for seed in range(6):
        rng = np.random.default_rng(9500 + seed)
        c = config(rng, seed)
        qg = assert_ptq_matches_tflm(tconv_graph(c, rng, "float32"), rng)
        w = qg.t("w")
        assert w.dtype == "int8" and w.quant.scale.size == c["w"][0]
        assert w.quant.axis == (0 if c["w"][0] > 1 else None)
        if c["bias"]:
            b = qg.t("b")
            assert b.dtype == "int32"
            np.testing.assert_allclose(b.quant.scale, np.float32(qg.t("x").quant.s) * w.quant.scale, rtol=1e-6)


def test_tflite_import_round_trip(tmp_path):
    """The files the writer makes import back to the same op: operand order, pads from TFLM's rule, attrs."""
    from mcucompress.frontend import load_model

    for seed in range(8):
        rng = np.random.default_rng(9600 + seed)
        g = tconv_graph(config(rng, seed), rng)
        path = tmp_path / f"t{seed}.tflite"
        tflite_writer.write(g, path)
        back = load_model(path)
        (op,) = back.ops
        assert op.kind == "TRANSPOSE_CONV" and op.attrs == g.ops[0].attrs
        assert [back.t(n).shape for n in op.inputs] == [g.t(n).shape for n in g.ops[0].inputs]
        x = rng.integers(-128, 128, g.t("x").shape, dtype=np.int8)
        np.testing.assert_array_equal(executor.run(back, [x])[0], executor.run(g, [x])[0])


def test_pads_tflite_cannot_express_raise():
    """Output 7 from 4 rows, kernel 3, stride 2: TFLM's rule gives top pad 0 (VALID) or 1 (SAME), never 2."""
    rng = np.random.default_rng(9700)
    c = {"x": (1, 4, 4, 2), "w": (3, 3, 3, 2), "out": (1, 7, 9, 3), "bias": True, "per_channel": True,
         "attrs": irops.TransposeConvAttrs(2, 2, 2, 0, 0, 0)}
    g = tconv_graph(c, rng)
    verify(g)
    with pytest.raises(GraphError, match="neither TFLite SAME nor VALID"):
        tflite_writer.to_bytes(g)


def test_constraints_reject_asymmetric_weights():
    rng = np.random.default_rng(9800)
    g = tconv_graph(config(rng, 1), rng)
    g.t("w").quant.zero_point[:] = 3
    with pytest.raises(UnsupportedOpError, match="symmetric"):
        constraints.check_graph(g)


def test_verifier_rejects_wrong_output_shape():
    rng = np.random.default_rng(9900)
    g = tconv_graph(config(rng, 1), rng)
    t = g.t("y")
    t.shape = (t.shape[0], t.shape[1] + 1, *t.shape[2:])
    with pytest.raises(GraphError):
        verify(g)


# ---------------------------------------------------------------- ONNX ConvTranspose from PyTorch


@pytest.mark.parametrize("stride,padding,output_padding,kernel,bias", [
    (1, 0, 0, 3, True), (2, 1, 1, 3, True), (2, 0, 0, 2, False), (3, 1, 2, 4, True), (2, 2, 0, 5, True),
    (1, 2, 0, 5, False),
])
def test_onnx_conv_transpose(tmp_path, stride, padding, output_padding, kernel, bias):
    """torch.nn.ConvTranspose2d exported to ONNX, imported: within 1e-4 of onnxruntime in float."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from torch import nn

    from tests.unit.test_onnx_import import Net, compare, export, kinds

    m = nn.ConvTranspose2d(3, 5, kernel, stride=stride, padding=padding, output_padding=output_padding, bias=bias)
    g = compare(export(tmp_path, Net(lambda mods, x: mods.t(x), t=m), (1, 3, 5, 4)), (1, 3, 5, 4), rtol=1e-4)
    assert kinds(g) == ["TRANSPOSE_CONV"]


def test_onnx_decoder_chain_fuses_relu(tmp_path):
    """Conv -> ConvTranspose -> ReLU: the ReLU fuses into TRANSPOSE_CONV; float within 1e-4 of onnxruntime."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    import torch
    from torch import nn

    from tests.unit.test_onnx_import import Net, compare, export, kinds

    net = Net(lambda m, x: torch.relu(m.t(m.c(x))), c=nn.Conv2d(2, 4, 3, stride=2, padding=1),
              t=nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1))
    g = compare(export(tmp_path, net, (1, 2, 8, 8)), (1, 2, 8, 8), rtol=1e-4)
    assert kinds(g) == ["CONV_2D", "TRANSPOSE_CONV"] and g.ops[1].attrs.activation == "RELU"


# ---------------------------------------------------------------- the PyTorch bridge (finetune, QAT)


def test_torch_bridge_matches_reference():
    """GraphModule's forward equals the float reference (taller outputs, pads, bias or none, activations); the
    weights and bias are trainable parameters."""
    pytest.importorskip("torch")
    from mcucompress.torch.bridge import GraphModule
    from tests.unit.test_torch_bridge import check_same

    for seed in range(8):
        rng = np.random.default_rng(9950 + seed)
        g = tconv_graph(config(rng, seed), rng, "float32")
        check_same(g, rng.normal(0, 2, g.t("x").shape).astype(np.float32))
        assert len(list(GraphModule(g).parameters())) == 1 + len(g.ops[0].inputs[2:])


# ---------------------------------------------------------------- the C kernel called directly


class _Dims(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("n", "h", "w", "c")]


class _ConvParams(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("input_offset", "output_offset", "stride_h", "stride_w", "pad_h",
                                               "pad_w", "dilation_h", "dilation_w", "depth_multiplier", "act_min",
                                               "act_max")]


class _Quant(ctypes.Structure):
    _fields_ = [("multiplier", ctypes.POINTER(ctypes.c_int32)), ("shift", ctypes.POINTER(ctypes.c_int32))]


class _Context(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("size", ctypes.c_int32)]


@pytest.fixture(scope="module")
def kernel_libs(tmp_path_factory):
    """mcc_transpose_conv_s8.c alone as a shared library, portable and with the emulated DSP path."""
    import shutil
    import subprocess

    from mcucompress.assets import asset_dir
    from mcucompress.codegen.kernel_sources import sources_for

    if shutil.which("gcc") is None:
        pytest.skip("host gcc is absent")
    fw, tmp, libs = asset_dir("firmware"), tmp_path_factory.mktemp("tconv_kernel"), {}
    for name, defines in (("c", []), ("dsp", ["-DMCC_EMULATE_DSP"])):
        out = tmp / f"libtconv_{name}.so"
        subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wconversion", "-fPIC",
                        "-shared", f"-I{fw / 'include'}", *defines,
                        *(str(fw / "kernels" / s) for s in sources_for({"mcc_transpose_conv_s8"})), "-o", str(out)],
                       check=True)
        libs[name] = ctypes.CDLL(str(out))
    return libs


def _call_kernel(lib, g: Graph, x: np.ndarray, table: bool) -> np.ndarray:
    from mcucompress.fixedpoint import params as fp

    op = g.ops[0]
    p, a = fp.conv_params(g, op), op.attrs
    w, out_shape = g.t("w"), g.t("y").shape
    mult = np.ascontiguousarray(p.multipliers, np.int32)
    shift = np.ascontiguousarray(p.shifts, np.int32)
    bias = np.ascontiguousarray(p.bias, np.int32)
    i32 = ctypes.POINTER(ctypes.c_int32)
    params = _ConvParams(p.input_offset, p.output_offset, a.stride_h, a.stride_w, a.pad_top, a.pad_left, 1, 1, 1,
                         p.act_min, p.act_max)
    quant = _Quant(mult.ctypes.data_as(i32), shift.ctypes.data_as(i32))
    scratch = np.zeros(16 * w.shape[0] // 4 + 1, np.int32)
    ctx = _Context(scratch.ctypes.data if table else None, scratch.nbytes if table else 0)
    xs, ws = np.ascontiguousarray(x, np.int8), np.ascontiguousarray(w.data, np.int8)
    y = np.zeros(out_shape, np.int8)
    ptr = ctypes.c_void_p
    status = lib.mcc_transpose_conv_s8(ctypes.byref(ctx), ctypes.byref(params), ctypes.byref(quant),
                                       ctypes.byref(_Dims(*x.shape)), ptr(xs.ctypes.data), ctypes.byref(_Dims(*w.shape)),
                                       ptr(ws.ctypes.data), ptr(bias.ctypes.data if g.ops[0].inputs[2:] else None),
                                       ctypes.byref(_Dims(*out_shape)), ptr(y.ctypes.data))
    assert status == 0
    return y


@pytest.mark.parametrize("variant", ["c", "dsp"])
def test_kernel_direct_calls(kernel_libs, variant):
    """Without the requantization table (generic TFLite code) and with it, batches of 2, and kernels with more
    taps than the kernel's tap list holds (25: its tap-by-tap fallback): equal to the reference executor."""
    for seed in range(12):
        rng = np.random.default_rng(9990 + seed)
        c = config(rng, seed)
        if seed % 3 == 0:  # 6x6 .. 8x7 taps at stride 1: 36 to 56 taps per output pixel
            k = (int(rng.integers(6, 9)), int(rng.integers(6, 8)))
            c["x"] = (1, int(rng.integers(6, 9)), int(rng.integers(6, 9)), c["x"][3])
            c["w"] = (c["w"][0], *k, c["w"][3])
            c["attrs"] = irops.TransposeConvAttrs(1, 1, 0, 0, 0, 0, c["attrs"].activation)
            c["out"] = (1, c["x"][1] + k[0] - 1, c["x"][2] + k[1] - 1, c["w"][0])
        g = tconv_graph(c, rng)
        x = rng.integers(-128, 128, (2, *c["x"][1:]), dtype=np.int8)
        g.t("x").shape, g.t("y").shape = x.shape, (2, *c["out"][1:])
        ref = executor.run(g, [x])[0]
        for table in (False, True):
            np.testing.assert_array_equal(_call_kernel(kernel_libs[variant], g, x, table), ref)
