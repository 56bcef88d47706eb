"""ONNX data-movement ops (Slice, Split, Gather, DepthToSpace, SpaceToDepth, Pad reflect, Expand, and
Transpose feeding a Reshape) imported and run on the float reference, equal to onnxruntime."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from torch import nn

from tests.unit.test_onnx_import import Net, compare, conv, export, kinds

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

CASES = {  # name -> (forward(m, x), input shape, IR kind expected)
    "slice": (lambda m, x: m.c(x)[:, 1:3, 1::2, :-1], (1, 3, 6, 6), "STRIDED_SLICE"),
    "slice_neg_step": (lambda m, x: torch.flip(m.c(x), dims=[2]), (1, 3, 5, 5), "STRIDED_SLICE"),
    "split": (lambda m, x: torch.cat(m.c(x).split(2, dim=1)[::-1], dim=1), (1, 3, 4, 4), "SPLIT"),
    "split_sizes": (lambda m, x: torch.cat(m.c(x).split([1, 3], dim=2)[::-1], dim=2), (1, 3, 4, 4), "SPLIT"),
    "gather": (lambda m, x: m.c(x)[:, :, 2], (1, 3, 4, 5), "GATHER"),
    "index_select": (lambda m, x: m.c(x).index_select(1, torch.tensor([3, 0, 0])), (1, 3, 4, 4), "GATHER"),
    "pixel_shuffle": (lambda m, x: nn.functional.pixel_shuffle(m.c(x), 2), (1, 3, 3, 3), "DEPTH_TO_SPACE"),
    "pixel_unshuffle": (lambda m, x: nn.functional.pixel_unshuffle(m.c(x), 2), (1, 3, 4, 6), "TRANSPOSE"),
    "reflect_pad": (lambda m, x: nn.functional.pad(m.c(x), (2, 1, 1, 3), mode="reflect"), (1, 3, 5, 5), "MIRROR_PAD"),
    "expand": (lambda m, x: m.c(x)[:, :1].expand(1, 4, 4, 4) * 1.0, (1, 3, 4, 4), "BROADCAST_TO"),
    "permute_output": (lambda m, x: m.c(x).permute(0, 3, 2, 1), (1, 3, 4, 5), "TRANSPOSE"),
    "permute_reshape": (lambda m, x: m.c(x).permute(0, 2, 1, 3).reshape(1, 4, 16), (1, 3, 4, 4), "TRANSPOSE"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_onnx_movement_matches_onnxruntime(name, tmp_path):
    fn, shape, kind = CASES[name]
    channels = 4
    path = export(tmp_path, Net(fn, c=conv(shape[1], channels, 1)), shape, name=name)
    graph = compare(path, shape)
    assert kind in kinds(graph), kinds(graph)


def test_onnx_space_to_depth_matches_onnxruntime(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2)
    g = helper.make_graph([node], "s2d", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 12, 2, 3])])
    import onnx

    path = tmp_path / "s2d.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    assert kinds(compare(path, (1, 3, 4, 6))) == ["SPACE_TO_DEPTH"]
