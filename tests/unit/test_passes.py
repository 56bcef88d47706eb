"""Graph passes on tiny hand-built graphs: fewer ops afterwards, same float results (reference executor)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops
from mcucompress.ir.verify import verify
from mcucompress.passes import (
    activation_fusion,
    apply,
    batchnorm_folding,
    constant_folding,
    hard_swish,
    identity_removal,
    reshape_chain,
    run_default_passes,
)
from mcucompress.reference import executor
from tests.graphs import q

RNG = np.random.default_rng(0)


def f32(*shape, low=-1.0, high=1.0):
    return RNG.uniform(low, high, shape).astype(np.float32)


def graph(tensors: dict, ops: list[Op], inputs=("x",), outputs=("y",)) -> Graph:
    g = Graph(name="t")
    for name, spec in tensors.items():
        shape, data = (spec, None) if isinstance(spec, tuple) else (spec.shape, spec)
        g.add_tensor(Tensor(name, shape, "float32", None, data))
    g.ops, g.inputs, g.outputs = ops, list(inputs), list(outputs)
    verify(g)
    return g


def check(g: Graph, rewrite, x: np.ndarray, expect_removed: int) -> Graph:
    """Run one rewrite to a fixed point: the op count drops as expected and the outputs stay (float32 rounding)."""
    before = executor.run(g, [x])
    new = copy.deepcopy(g)
    apply(new, [rewrite])
    verify(new)
    assert len(new.ops) == len(g.ops) - expect_removed, [o.kind for o in new.ops]
    for a, b in zip(before, executor.run(new, [x])):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
    return new


def conv_tensors(cout=4, cin=3):
    return {"x": (1, 5, 5, cin), "w": f32(cout, 3, 3, cin), "b": f32(cout), "c": (1, 5, 5, cout)}


SAME = {"pad_top": 1, "pad_bottom": 1, "pad_left": 1, "pad_right": 1}


def test_constant_folding_evaluates_ops_with_constant_inputs():
    g = graph({"x": (1, 4), "a": f32(1, 4), "b": f32(1, 4), "ab": (1, 4), "y": (1, 4)}, [
        Op("ADD", ["a", "b"], ["ab"], irops.ElementwiseAttrs(), "const_add"),
        Op("MUL", ["x", "ab"], ["y"], irops.ElementwiseAttrs(), "mul"),
    ])
    new = check(g, constant_folding.rewrite, f32(3, 4), expect_removed=1)
    assert new.ops[0].kind == "MUL" and new.t("ab").is_const


def test_constant_folding_keeps_an_op_that_writes_a_graph_output():
    g = graph({"x": (1, 4), "a": f32(1, 4), "y": (1, 4), "z": (1, 4)}, [
        Op("RELU", ["a"], ["y"], irops.NoAttrs(), "const_relu"),
        Op("RELU", ["x"], ["z"], irops.NoAttrs(), "relu"),
    ], outputs=("y", "z"))
    assert apply(g, [constant_folding.rewrite]) == 0


def test_batchnorm_folds_into_conv():
    t = conv_tensors() | {"s": f32(4, low=0.5, high=2), "m": (1, 5, 5, 4), "t": f32(1, 1, 1, 4), "y": (1, 5, 5, 4)}
    g = graph(t, [
        Op("CONV_2D", ["x", "w", "b"], ["c"], irops.Conv2DAttrs(**SAME), "conv"),
        Op("MUL", ["c", "s"], ["m"], irops.ElementwiseAttrs(), "bn_mul"),
        Op("ADD", ["m", "t"], ["y"], irops.ElementwiseAttrs("RELU"), "bn_add"),
    ])
    new = check(g, batchnorm_folding.rewrite, f32(2, 5, 5, 3), expect_removed=2)
    assert new.ops[0].kind == "CONV_2D" and new.ops[0].attrs.activation == "RELU" and new.ops[0].outputs == ["y"]


def test_batchnorm_folds_into_depthwise_conv_with_multiplier():
    t = {"x": (1, 5, 5, 2), "w": f32(1, 3, 3, 4), "b": f32(4), "c": (1, 5, 5, 4), "s": f32(4), "y": (1, 5, 5, 4)}
    g = graph(t, [
        Op("DEPTHWISE_CONV_2D", ["x", "w", "b"], ["c"], irops.DepthwiseConv2DAttrs(**SAME, depth_multiplier=2), "dw"),
        Op("MUL", ["c", "s"], ["y"], irops.ElementwiseAttrs(), "bn_mul"),
    ])
    check(g, batchnorm_folding.rewrite, f32(1, 5, 5, 2), expect_removed=1)


def test_matmul_bias_add_and_sub_fold_into_fully_connected():
    t = {"x": (1, 6), "w": f32(3, 6), "b": np.zeros(3, np.float32), "f": (1, 3), "c": f32(3), "a": (1, 3),
         "d": f32(1), "y": (1, 3)}
    g = graph(t, [
        Op("FULLY_CONNECTED", ["x", "w", "b"], ["f"], irops.FullyConnectedAttrs(), "matmul"),
        Op("ADD", ["c", "f"], ["a"], irops.ElementwiseAttrs(), "bias"),
        Op("SUB", ["a", "d"], ["y"], irops.ElementwiseAttrs(), "shift"),
    ])
    check(g, batchnorm_folding.rewrite, f32(2, 6), expect_removed=2)


def test_batchnorm_after_a_conv_with_two_readers_stays():
    t = conv_tensors() | {"s": f32(4), "y": (1, 5, 5, 4), "z": (1, 5, 5, 4)}
    g = graph(t, [
        Op("CONV_2D", ["x", "w", "b"], ["c"], irops.Conv2DAttrs(**SAME), "conv"),
        Op("MUL", ["c", "s"], ["y"], irops.ElementwiseAttrs(), "bn_mul"),
        Op("RELU", ["c"], ["z"], irops.NoAttrs(), "relu"),
    ], outputs=("y", "z"))
    assert apply(g, [batchnorm_folding.rewrite]) == 0


def test_non_channel_constant_does_not_fold():
    t = conv_tensors() | {"s": f32(1, 5, 5, 4), "y": (1, 5, 5, 4)}
    g = graph(t, [
        Op("CONV_2D", ["x", "w", "b"], ["c"], irops.Conv2DAttrs(**SAME), "conv"),
        Op("MUL", ["c", "s"], ["y"], irops.ElementwiseAttrs(), "spatial_mul"),
    ])
    assert apply(g, [batchnorm_folding.rewrite]) == 0


@pytest.mark.parametrize("kind, lo, hi", [("RELU", 0, np.inf), ("RELU6", 0, 6), ("RELU_N1_TO_1", -1, 1)])
def test_activation_fuses_into_conv(kind, lo, hi):
    t = conv_tensors() | {"y": (1, 5, 5, 4)}
    g = graph(t, [
        Op("CONV_2D", ["x", "w", "b"], ["c"], irops.Conv2DAttrs(**SAME), "conv"),
        Op("RELU", ["c"], ["y"], irops.NoAttrs(), "act"),
    ])
    x = f32(1, 5, 5, 3, low=-3, high=3)
    expected = np.clip(executor.run(g, [x], keep_all=True)["c"], lo, hi)
    g.ops[1].kind = kind  # RELU_N1_TO_1 has no standalone kernel: it exists only as a candidate for fusion
    assert apply(g, [activation_fusion.rewrite]) == 1
    verify(g)
    assert len(g.ops) == 1 and g.ops[0].attrs.activation == kind and g.ops[0].outputs == ["y"]
    np.testing.assert_allclose(executor.run(g, [x])[0], expected, rtol=1e-6, atol=1e-6)


def test_activation_fuses_into_add_and_fully_connected():
    t = {"x": (1, 6), "w": f32(3, 6), "b": f32(3), "f": (1, 3), "r": (1, 3), "k": f32(1, 3), "a": (1, 3),
         "y": (1, 3)}
    g = graph(t, [
        Op("FULLY_CONNECTED", ["x", "w", "b"], ["f"], irops.FullyConnectedAttrs(), "fc"),
        Op("RELU", ["f"], ["r"], irops.NoAttrs(), "relu"),
        Op("ADD", ["r", "k"], ["a"], irops.ElementwiseAttrs(), "add"),
        Op("RELU6", ["a"], ["y"], irops.NoAttrs(), "relu6"),
    ])
    new = check(g, activation_fusion.rewrite, f32(4, 6, low=-4, high=4), expect_removed=2)
    assert [(o.kind, o.attrs.activation) for o in new.ops] == [("FULLY_CONNECTED", "RELU"), ("ADD", "RELU6")]


def test_activation_does_not_fuse_across_a_second_reader_or_a_requantization():
    t = conv_tensors() | {"y": (1, 5, 5, 4)}
    g = graph(t, [
        Op("CONV_2D", ["x", "w", "b"], ["c"], irops.Conv2DAttrs(**SAME), "conv"),
        Op("RELU", ["c"], ["y"], irops.NoAttrs(), "relu"),
    ], outputs=("y", "c"))
    assert apply(g, [activation_fusion.rewrite]) == 0
    g.outputs = ["y"]
    for name, quant in (("x", q(0.05)), ("c", q(0.1, -3)), ("y", q(0.05, -128))):
        g.t(name).dtype, g.t(name).quant = "int8", quant
    assert apply(g, [activation_fusion.rewrite]) == 0  # RELU rescales 0.1 -> 0.05: fusing would change results


def test_identity_reshape_is_removed_in_the_middle_and_at_the_output():
    t = {"x": (1, 4), "i": (1, 4), "r": (1, 4), "y": (1, 4)}
    g = graph(t, [
        Op("RESHAPE", ["x"], ["i"], irops.NoAttrs(), "identity"),
        Op("RELU", ["i"], ["r"], irops.NoAttrs(), "relu"),
        Op("RESHAPE", ["r"], ["y"], irops.NoAttrs(), "dropout"),
    ])
    new = check(g, identity_removal.rewrite, f32(3, 4), expect_removed=2)
    assert new.ops[0].inputs == ["x"] and new.ops[0].outputs == ["y"]  # the model's output name is kept


def test_real_reshape_stays():
    g = graph({"x": (1, 2, 2, 1), "y": (1, 4)}, [Op("RESHAPE", ["x"], ["y"], irops.NoAttrs(), "flatten")])
    assert apply(g, [identity_removal.rewrite]) == 0


def test_reshape_chain_becomes_one_reshape():
    t = {"x": (1, 4), "a": (1, 4, 1, 1), "b": (1, 1, 1, 4), "y": (1, 1, 1, 4)}
    g = graph(t, [
        Op("RESHAPE", ["x"], ["a"], irops.NoAttrs(), "unflatten"),
        Op("RESHAPE", ["a"], ["b"], irops.NoAttrs(), "to_nhwc"),
        Op("RELU", ["b"], ["y"], irops.NoAttrs(), "relu"),
    ])
    new = check(g, reshape_chain.rewrite, f32(2, 4), expect_removed=1)
    assert new.ops[0].inputs == ["x"] and new.ops[0].outputs == ["b"]


def test_hard_sigmoid_times_x_becomes_hard_swish():
    g = Graph(name="t", inputs=["x"], outputs=["y"])
    for name in ("x", "h", "y"):
        g.add_tensor(Tensor(name, (1, 8), "float32"))
    g.ops = [Op(hard_swish.HARD_SIGMOID, ["x"], ["h"], hard_swish.HardSigmoidAttrs(1 / 6, 0.5), "hsig"),
             Op("MUL", ["h", "x"], ["y"], irops.ElementwiseAttrs(), "mul")]
    assert apply(g, [hard_swish.rewrite]) == 1
    verify(g)
    x = np.linspace(-5, 5, 16, dtype=np.float32).reshape(2, 8)
    expected = x * np.clip(x / 6 + 0.5, 0, 1)  # what the HARD_SIGMOID + MUL pair computed
    np.testing.assert_allclose(executor.run(g, [x])[0], expected, rtol=1e-6, atol=1e-6)
    assert [o.kind for o in g.ops] == ["HARD_SWISH"]


def test_default_pipeline_runs_everything_to_a_fixed_point():
    t = conv_tensors() | {"s": f32(4), "m": (1, 5, 5, 4), "t": f32(4), "a": (1, 5, 5, 4), "r": (1, 5, 5, 4),
                          "y": (1, 5, 5, 4), "k1": f32(4), "k2": f32(4), "k": (4,)}
    g = graph(t, [
        Op("ADD", ["k1", "k2"], ["k"], irops.ElementwiseAttrs(), "const"),
        Op("CONV_2D", ["x", "w", "b"], ["c"], irops.Conv2DAttrs(**SAME), "conv"),
        Op("MUL", ["c", "s"], ["m"], irops.ElementwiseAttrs(), "bn_mul"),
        Op("ADD", ["m", "k"], ["a"], irops.ElementwiseAttrs(), "bn_add"),
        Op("RELU", ["a"], ["r"], irops.NoAttrs(), "relu"),
        Op("RESHAPE", ["r"], ["y"], irops.NoAttrs(), "identity"),
    ])
    x = f32(2, 5, 5, 3)
    before = executor.run(g, [x])[0]
    assert run_default_passes(g) == 5
    verify(g)
    assert [(o.kind, o.attrs.activation) for o in g.ops] == [("CONV_2D", "RELU")] and g.ops[0].outputs == ["y"]
    np.testing.assert_allclose(executor.run(g, [x])[0], before, rtol=1e-5, atol=1e-5)
    assert len(g.tensors) == 4  # x, y, the folded weights and bias: the BatchNorm constants are gone
