"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR: random single-op models over sizes (up, down, non-integer
factors), flags (align_corners, half_pixel_centers) and quantizations.

int8: the reference executor bit-exact with TFLM and host-compiled C (ASan/UBSan) bit-exact with both;
float32 within 1e-5 of LiteRT and TFLM; a float graph quantized by our PTQ bit-exact with TFLM; TFLite export
and re-import; the verifier and the constraint checks; PyTorch's nn.Upsample / F.interpolate exported to ONNX
against onnxruntime; the PyTorch bridge's forwards against the reference executor.
"""

from __future__ import annotations

import numpy as np
import pytest

import mcucompress
from mcucompress.errors import GraphError, UnsupportedOpError
from mcucompress.frontend import tflite as tflite_import
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, Op, QuantParams, Tensor, constraints
from mcucompress.ir import ops as irops
from mcucompress.ir.verify import verify
from mcucompress.reference import executor
from tests.resize_cases import KINDS, graph
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")  # torch.onnx.export

CONFIGS = 24


def _tflm(model: bytes):
    """A TFLM interpreter with room for the largest outputs here (TflmSession sizes its arena from the model)."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)

    def run(x: np.ndarray) -> np.ndarray:
        interp.set_input(x, 0)
        interp.invoke()
        return interp.get_output(0).copy()

    return run


def _int8_inputs(g: Graph, rng, n: int = 3) -> np.ndarray:
    return rng.integers(-128, 128, (n, *g.t("x").shape), dtype=np.int8)


@pytest.mark.parametrize("seed", range(CONFIGS))
@pytest.mark.parametrize("kind", KINDS)
def test_resize_int8_bit_exact_with_tflm_in_reference_and_host_c(kind, seed, tmp_path):
    rng = np.random.default_rng(1000 * KINDS.index(kind) + seed)
    g = graph(kind, rng)
    verify(g)
    constraints.check_graph(g)
    xs = _int8_inputs(g, rng)
    tflm = _tflm(tflite_writer.to_bytes(g))
    ref = reference_outputs(g, xs)
    for x, y in zip(xs, ref):
        np.testing.assert_array_equal(y, tflm(x), err_msg=f"{g.t('x').shape} {g.ops[0].attrs}")
    assert_same(host_outputs(g, xs, tmp_path), ref)


@pytest.mark.parametrize("kind", KINDS)
def test_resize_float_within_1e5_of_litert_and_tflm(kind):
    from ai_edge_litert.interpreter import Interpreter

    rng = np.random.default_rng(2000 + KINDS.index(kind))
    for _ in range(CONFIGS):
        g = graph(kind, rng, "float32")
        verify(g)
        model = tflite_writer.to_bytes(g)
        interp = Interpreter(model_content=model)
        interp.allocate_tensors()
        x = (rng.standard_normal(g.t("x").shape) * 4).astype(np.float32)
        interp.set_tensor(interp.get_input_details()[0]["index"], x)
        interp.invoke()
        ours = executor.run(g, [x])[0]
        for ref in (interp.get_tensor(interp.get_output_details()[0]["index"]), _tflm(model)(x)):
            np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5, err_msg=f"{g.t('x').shape} {g.ops[0].attrs}")


@pytest.mark.parametrize("kind", KINDS)
def test_resize_round_trips_through_tflite(kind, tmp_path):
    rng = np.random.default_rng(2100 + KINDS.index(kind))
    for i in range(6):
        g = graph(kind, rng, "int8" if i % 2 else "float32")
        path = tmp_path / f"{i}.tflite"
        tflite_writer.write(g, path)
        back = tflite_import.load(path)
        assert [op.kind for op in back.ops] == [kind]
        assert back.ops[0].attrs == g.ops[0].attrs


def test_resize_attrs_survive_ir_serialization(tmp_path):
    from mcucompress.ir import serialize
    from tests.resize_chain import resize_chain

    g = resize_chain()
    serialize.save(g, tmp_path / "g.json")
    back = serialize.load(tmp_path / "g.json")
    assert [op.attrs for op in back.ops] == [op.attrs for op in g.ops]


def _fixed(kind: str, shape, size, align: bool = False, half: bool = False, dtype: str = "int8") -> Graph:
    return graph(kind, np.random.default_rng(0), dtype, shape, irops.ResizeAttrs(size, align, half))


@pytest.mark.parametrize("kind,shape,size,align,half", [
    ("RESIZE_BILINEAR", (1, 3, 3, 2), (6, 6), True, True),  # TFLite refuses both flags for bilinear
    ("RESIZE_BILINEAR", (1, 3, 3, 2), (0, 6), False, False),
    ("RESIZE_NEAREST_NEIGHBOR", (1, 3, 3, 2), (6,), False, False),
    ("RESIZE_NEAREST_NEIGHBOR", (3, 3, 2), (6, 6), False, False),
])
def test_verifier_rejects_bad_resizes(kind, shape, size, align, half):
    g = Graph(name="bad")
    g.add_tensor(Tensor("x", shape, "float32"))
    g.add_tensor(Tensor("y", (1, 6, 6, 2), "float32"))
    g.ops = [Op(kind, ["x"], ["y"], irops.ResizeAttrs(size, align, half), "bad")]
    g.inputs, g.outputs = ["x"], ["y"]
    with pytest.raises(GraphError) as err:
        verify(g)
    assert "\n" not in str(err.value)


def test_verifier_rejects_a_wrong_output_shape():
    g = _fixed("RESIZE_NEAREST_NEIGHBOR", (1, 3, 3, 2), (6, 5))
    g.t("y").shape = (1, 6, 6, 2)
    with pytest.raises(GraphError, match="shape"):
        verify(g)


@pytest.mark.parametrize("kind", KINDS)
def test_constraints_refuse_rescaling(kind):
    g = _fixed(kind, (1, 3, 3, 2), (6, 6))
    g.t("y").quant = QuantParams(np.array([0.5], np.float32), np.array([1]))
    with pytest.raises(UnsupportedOpError, match="does not rescale"):
        constraints.check_graph(g)


def test_constraints_refuse_a_bilinear_upscale_tflite_reads_past_the_input():
    """1 -> 55: TFLite's 10-bit scale rounds to 19/1024, so the last row's lower index is 1 (outside the input)."""
    verify(_fixed("RESIZE_BILINEAR", (1, 1, 4, 2), (55, 4), dtype="float32"))  # float32 computes in float
    g = _fixed("RESIZE_BILINEAR", (1, 1, 4, 2), (55, 4))
    with pytest.raises(UnsupportedOpError, match="reads index 1 past the input"):
        constraints.check_graph(g)


@pytest.mark.parametrize("kind", KINDS)
def test_float_graph_quantized_by_ptq_bit_exact_with_tflm(kind):
    """conv -> resize -> conv in float32, quantized by our PTQ: the resize shares its input's quantization."""
    rng = np.random.default_rng(2200 + KINDS.index(kind))
    flags = [((10, 7), False, False), ((3, 9), True, False), ((8, 8), False, True)]
    if kind == "RESIZE_NEAREST_NEIGHBOR":
        flags.append(((7, 11), True, True))  # both flags: TFLite's nearest neighbour takes them together
    for size, align, half in flags:
        g = _float_chain(kind, rng, size, align, half)
        cal = (rng.standard_normal((16, 5, 4, 3)) * 2).astype(np.float32)
        qg = mcucompress.quantize(g, cal)
        constraints.check_graph(qg)
        assert qg.t("a").quant == qg.t("r").quant
        tflm = _tflm(tflite_writer.to_bytes(qg))
        for x in rng.integers(-128, 128, (3, 1, 5, 4, 3), dtype=np.int8):
            np.testing.assert_array_equal(executor.run(qg, [x])[0], tflm(x))


def _float_chain(kind: str, rng, size, align: bool, half: bool) -> Graph:
    """Float conv (3x3, RELU) -> resize -> conv (1x1) on a 1x5x4x3 input."""
    g = Graph(name="chain")
    shapes = {"x": (1, 5, 4, 3), "a": (1, 5, 4, 4), "r": (1, *size, 4), "y": (1, *size, 2)}
    for n, s in shapes.items():
        g.add_tensor(Tensor(n, s, "float32"))
    for n, s in (("w1", (4, 3, 3, 3)), ("w2", (2, 1, 1, 4))):
        g.add_tensor(Tensor(n, s, "float32", data=rng.standard_normal(s).astype(np.float32) * 0.4))
    for n, c in (("b1", 4), ("b2", 2)):
        g.add_tensor(Tensor(n, (c,), "float32", data=rng.standard_normal(c).astype(np.float32) * 0.1))
    same = irops.Conv2DAttrs(pad_top=1, pad_bottom=1, pad_left=1, pad_right=1, activation="RELU")
    g.ops = [Op("CONV_2D", ["x", "w1", "b1"], ["a"], same, "c1"),
             Op(kind, ["a"], ["r"], irops.ResizeAttrs(size, align, half), "resize"),
             Op("CONV_2D", ["r", "w2", "b2"], ["y"], irops.Conv2DAttrs(), "c2")]
    g.inputs, g.outputs = ["x"], ["y"]
    verify(g)
    return g


@pytest.mark.parametrize("kind", KINDS)
def test_channels_prune_across_a_resize(kind):
    """Channel c of the resize's input is its output's channel c: pruning conv1's channels slices conv2's inputs,
    and the pruned graph computes what the dense one computes with those channels zeroed."""
    import copy

    from mcucompress.prune import channels

    rng = np.random.default_rng(2400 + KINDS.index(kind))
    g = _float_chain(kind, rng, (9, 7), False, True)
    ch = channels.analyse(g)
    (root,) = ch.prunable()
    keep = np.array([0, 2])
    zeroed = copy.deepcopy(g)
    for n in ("w1", "b1"):
        zeroed.t(n).data[[1, 3]] = 0
    pruned = copy.deepcopy(g)
    channels.apply(pruned, channels.analyse(pruned), {root: keep})
    verify(pruned)
    assert pruned.t("r").shape == (1, 9, 7, 2)
    x = rng.standard_normal((1, 5, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(executor.run(pruned, [x])[0], executor.run(zeroed, [x])[0], rtol=1e-5, atol=1e-6)


def test_tflite_resize_with_a_size_computed_at_run_time_is_refused(tmp_path):
    """The size operand as a second model input: one line naming the op and the operand."""
    g = _fixed("RESIZE_BILINEAR", (1, 3, 3, 2), (6, 6), dtype="float32")
    low = tflite_writer._lower(g)
    op = low.operators[0]
    size = op.inputs[1]
    low.tensors[size].data = None  # the size becomes a run-time tensor: an input of the model
    path = tmp_path / "dyn.tflite"
    path.write_bytes(tflite_writer._serialize(low))
    with pytest.raises(UnsupportedOpError, match=r"RESIZE_BILINEAR\) has a non-constant size") as err:
        tflite_import.load(path)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- ONNX import (PyTorch exports) vs onnxruntime


def _onnx(tmp_path, fn, shape, expected_attrs, name="m", opset=13):
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from tests.unit.test_onnx_import import Net, compare, export, kinds

    g = compare(export(tmp_path, Net(fn), shape, name=name, opset=opset), shape, rtol=1e-4)
    resizes = [op for op in g.ops if op.kind.startswith("RESIZE")]
    assert [(op.kind, op.attrs) for op in resizes] == expected_attrs, kinds(g)
    return g


ONNX_CASES = {  # name: (fn(F, x), input NCHW shape, expected (kind, attrs))
    "upsample_nearest_2x": (lambda F, x: F.interpolate(x, scale_factor=2, mode="nearest"), (1, 3, 4, 5),
                            ("RESIZE_NEAREST_NEIGHBOR", irops.ResizeAttrs((8, 10)))),
    "nearest_to_size_down": (lambda F, x: F.interpolate(x, size=(3, 7), mode="nearest"), (1, 2, 7, 5),
                             ("RESIZE_NEAREST_NEIGHBOR", irops.ResizeAttrs((3, 7)))),
    "bilinear_2x": (lambda F, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False), (1, 3, 4, 5),
                    ("RESIZE_BILINEAR", irops.ResizeAttrs((8, 10), False, True))),
    "bilinear_align_corners": (lambda F, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True),
                               (1, 3, 4, 5), ("RESIZE_BILINEAR", irops.ResizeAttrs((8, 10), True, False))),
    "bilinear_size_down": (lambda F, x: F.interpolate(x, size=(3, 4), mode="bilinear", align_corners=False),
                           (1, 2, 7, 9), ("RESIZE_BILINEAR", irops.ResizeAttrs((3, 4), False, True))),
    "bilinear_size_align": (lambda F, x: F.interpolate(x, size=(11, 6), mode="bilinear", align_corners=True),
                            (1, 2, 4, 5), ("RESIZE_BILINEAR", irops.ResizeAttrs((11, 6), True, False))),
}


@pytest.mark.parametrize("opset", [11, 13, 17])
@pytest.mark.parametrize("name", sorted(ONNX_CASES))
def test_onnx_resize_from_torch_within_1e4_of_onnxruntime(name, opset, tmp_path):
    """Opset 11 exports sizes beside an empty scales input, 13+ leave the unused one out."""
    import torch.nn.functional as F

    fn, shape, expected = ONNX_CASES[name]
    _onnx(tmp_path, lambda m, x: fn(F, x), shape, [expected], opset=opset)


def _resize_model(tmp_path, in_shape, out_hw, scales=None, **attrs):
    """One ONNX Resize node (opset 13) with the given attributes, by sizes or by scales."""
    import onnx
    from onnx import TensorProto, helper

    out_shape = [*in_shape[:2], *out_hw]
    inits = [helper.make_tensor("roi", TensorProto.FLOAT, [0], [])]
    if scales is None:
        inits += [helper.make_tensor("sizes", TensorProto.INT64, [4], out_shape)]
        ins = ["x", "roi", "", "sizes"]
    else:
        inits += [helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, *scales])]
        ins = ["x", "roi", "scales"]
    node = helper.make_node("Resize", ins, ["y"], name="rs", **attrs)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    path = tmp_path / "resize.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


HAND_CASES = {  # name: (input NCHW shape, output (h, w), scales or None, attributes, expected attrs)
    "nearest_half_pixel_round_prefer_ceil": ((1, 2, 4, 6), (5, 9), None, {"mode": "nearest",
                                             "nearest_mode": "round_prefer_ceil"}, ("RESIZE_NEAREST_NEIGHBOR", (False, True))),
    # ONNX's defaults (half_pixel, round_prefer_floor) on 2x: no ties, the same map as TFLite without flags
    "nearest_default_2x": ((1, 2, 4, 3), (8, 6), (2.0, 2.0), {}, ("RESIZE_NEAREST_NEIGHBOR", (False, False))),
    "nearest_align_corners_round_prefer_ceil": ((1, 3, 5, 4), (9, 7), None, {
        "mode": "nearest", "coordinate_transformation_mode": "align_corners", "nearest_mode": "round_prefer_ceil"},
        ("RESIZE_NEAREST_NEIGHBOR", (True, False))),
    "nearest_tf_half_pixel_for_nn": ((1, 2, 6, 5), (4, 11), None, {
        "mode": "nearest", "coordinate_transformation_mode": "tf_half_pixel_for_nn", "nearest_mode": "floor"},
        ("RESIZE_NEAREST_NEIGHBOR", (False, True))),
    "nearest_asymmetric_floor_down": ((1, 2, 9, 8), (4, 3), None, {
        "mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
        ("RESIZE_NEAREST_NEIGHBOR", (False, False))),
    "linear_pytorch_half_pixel": ((1, 2, 5, 4), (7, 10), None, {
        "mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}, ("RESIZE_BILINEAR", (False, True))),
    "linear_asymmetric_scales": ((1, 3, 4, 4), (6, 10), (1.5, 2.5), {
        "mode": "linear", "coordinate_transformation_mode": "asymmetric"}, ("RESIZE_BILINEAR", (False, False))),
}


@pytest.mark.parametrize("name", sorted(HAND_CASES))
def test_onnx_resize_attribute_combinations_within_1e4_of_onnxruntime(name, tmp_path):
    pytest.importorskip("onnxruntime")
    from tests.unit.test_onnx_import import compare

    in_shape, out_hw, scales, attrs, (kind, flags) = HAND_CASES[name]
    g = compare(_resize_model(tmp_path, in_shape, out_hw, scales, **attrs), in_shape, rtol=1e-4)
    assert [(op.kind, op.attrs) for op in g.ops] == [(kind, irops.ResizeAttrs(out_hw, *flags))]


@pytest.mark.parametrize("in_shape,out_hw,attrs,match", [
    ((1, 2, 3, 3), (6, 6), {"mode": "cubic"}, "mode 'cubic'"),
    ((1, 2, 3, 3), (6, 6), {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"},
     "coordinate_transformation_mode 'tf_crop_and_resize'"),
    ((1, 2, 3, 3), (9, 9), {"mode": "nearest", "coordinate_transformation_mode": "align_corners"},  # 3 -> 9: ties
     "nearest_mode 'round_prefer_floor' does not map exactly"),
    ((1, 2, 4, 3), (1, 6), {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"},
     "output of size 1"),
])
def test_onnx_resize_that_does_not_map_names_node_and_attribute(in_shape, out_hw, attrs, match, tmp_path):
    from mcucompress.frontend import load_model

    with pytest.raises(UnsupportedOpError, match=match) as err:
        load_model(_resize_model(tmp_path, in_shape, out_hw, **attrs))
    assert "\n" not in str(err.value) and "'rs' (Resize)" in str(err.value)


def test_onnx_upsample_module_in_a_conv_chain(tmp_path):
    pytest.importorskip("torch")
    from torch import nn

    from tests.unit.test_onnx_import import Net, compare, export

    net = Net(lambda m, x: m.c2(m.up(m.c1(x))), c1=nn.Conv2d(3, 4, 3, padding=1),
              up=nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), c2=nn.Conv2d(4, 2, 1))
    g = compare(export(tmp_path, net, (1, 3, 5, 4)), (1, 3, 5, 4), rtol=1e-4)
    assert [op.kind for op in g.ops] == ["CONV_2D", "RESIZE_BILINEAR", "CONV_2D"]


@pytest.mark.parametrize("mode,match", [
    ("bicubic", "mode 'cubic'"),
    ("bilinear_fraction", "scale 1.3"),
])
def test_onnx_resize_that_does_not_map_is_one_line(mode, match, tmp_path):
    pytest.importorskip("torch")
    import torch.nn.functional as F

    from mcucompress.frontend import load_model
    from tests.unit.test_onnx_import import Net, export

    if mode == "bicubic":
        fn = lambda m, x: F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
    else:
        fn = lambda m, x: F.interpolate(x, scale_factor=1.3, mode="bilinear", align_corners=False)
    path = export(tmp_path, Net(fn), (1, 2, 10, 10))
    with pytest.raises(UnsupportedOpError, match=match) as err:
        load_model(path)
    assert "\n" not in str(err.value) and "Resize" in str(err.value)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_onnx_qdq_model_with_a_resize_within_two_lsb_of_onnxruntime(mode, tmp_path):
    """onnxruntime's quantize_static (QDQ) around conv -> F.interpolate -> conv -> linear imports as int8, TFLM's
    constraints hold (the resize shares its input's quantization), outputs within 2 LSB of onnxruntime."""
    pytest.importorskip("onnxruntime.quantization")
    import torch
    import torch.nn.functional as F
    from torch import nn

    from mcucompress.frontend import load_model
    from tests.unit.test_onnx_qdq import lsb_diffs, quantized

    class Up(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.fc = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 1), nn.Linear(4 * 16 * 16, 10)

        def forward(self, x):
            extra = {} if mode == "nearest" else {"align_corners": False}
            y = F.interpolate(torch.relu(self.a(x)), scale_factor=2, mode=mode, **extra)
            return self.fc(torch.relu(self.b(y)).flatten(1))

    path = quantized(tmp_path, Up(), mode)
    g = load_model(path)
    verify(g)
    assert [op.kind for op in g.ops][:3] == ["CONV_2D", KINDS[mode == "bilinear"], "CONV_2D"]
    diffs, _ = lsb_diffs(path, g)
    assert diffs.max() <= 2, np.bincount(diffs)


# ---------------------------------------------------------------- the PyTorch bridge (finetune, QAT)


@pytest.mark.parametrize("kind", KINDS)
def test_torch_bridge_matches_reference(kind):
    pytest.importorskip("torch")
    from tests.unit.test_torch_bridge import check_same

    rng = np.random.default_rng(2300 + KINDS.index(kind))
    for _ in range(6):
        g = graph(kind, rng, "float32")
        check_same(g, rng.normal(0, 2, g.t("x").shape).astype(np.float32))
