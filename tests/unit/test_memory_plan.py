"""The arena planner: no overlaps, aliases cost nothing, in-place ops reuse memory, and we beat TFLM's arena."""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.errors import McuError
from mcucompress.frontend import load_model
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops
from mcucompress.plan.greedy import GreedyPlanner
from mcucompress.plan.memory import plan_memory
from tests.conftest import shared_model
from tests.graphs import q, tiny_conv_fc

TFLM_ARENA = {"kws_ref_model": 24_272, "vww_96_int8": 103_672, "ic_pretrainedResnet_quant": 55_984, "ad01_int8": 4_632}


def test_greedy_places_disjoint_lifetimes_at_the_same_offset():
    p = GreedyPlanner(alignment=16)
    a = p.add_buffer("a", 100, 0, 1)
    b = p.add_buffer("b", 100, 2, 3)
    c = p.add_buffer("c", 50, 1, 2)
    assert p.plan() == 112 + 50
    p.check()
    assert a.offset == b.offset == 0 and c.offset == 112


def test_checker_catches_overlap():
    p = GreedyPlanner()
    p.add_buffer("a", 64, 0, 2).offset = 0
    p.add_buffer("b", 64, 1, 3).offset = 32
    with pytest.raises(McuError, match="overlap"):
        p.check()


def test_random_plans_never_overlap():
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = GreedyPlanner()
        for i in range(rng.integers(2, 30)):
            first = int(rng.integers(0, 20))
            p.add_buffer(f"b{i}", int(rng.integers(1, 5000)), first, first + int(rng.integers(0, 8)))
        p.plan()
        p.check()


def test_reshape_is_an_alias_and_costs_nothing():
    g = tiny_conv_fc()
    plan = plan_memory(g, {})
    assert plan.tensors["c"].offset == plan.tensors["flat"].offset
    assert 1 in plan.liveness.aliased_ops
    # conv output (36 B) is the only arena tensor: input and output live in the caller's buffers
    assert plan.arena_bytes == 36
    assert plan.tensors["x"].home == "input" and plan.tensors["y"].home == "output"


def _chain_with_add() -> Graph:
    g = Graph(name="inplace")
    for name in ("x", "a", "b", "c", "y"):
        g.add_tensor(Tensor(name, (1, 64), "int8", q(0.1)))
    g.ops = [
        Op("RELU", ["x"], ["a"], irops.NoAttrs(), "relu"),
        Op("LOGISTIC", ["a"], ["b"], irops.NoAttrs(), "sig"),
        Op("ADD", ["b", "a"], ["c"], irops.ElementwiseAttrs(), "add"),
        Op("TANH", ["c"], ["y"], irops.NoAttrs(), "tanh"),
    ]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def test_elementwise_ops_write_in_place_only_when_the_input_dies():
    plan = plan_memory(_chain_with_add(), {})
    # "a" is still needed by ADD, so LOGISTIC cannot overwrite it; ADD may overwrite "b" (its last use).
    assert plan.tensors["a"].offset != plan.tensors["b"].offset
    assert plan.tensors["b"].offset == plan.tensors["c"].offset
    assert plan.arena_bytes == 2 * 64
    no_inplace = plan_memory(_chain_with_add(), {}, in_place=False)
    assert no_inplace.arena_bytes > plan.arena_bytes


def test_scratch_buffers_are_planned_in_the_arena():
    plan = plan_memory(tiny_conv_fc(), {0: 200})
    assert 0 in plan.scratch and plan.scratch_bytes == 200
    assert plan.arena_bytes >= 236
    plan.planner.check()


def test_picture_names_every_buffer():
    text = plan_memory(tiny_conv_fc(), {0: 200}).picture()
    assert "scratch:conv" in text and "arena" in text.splitlines()[0]


@pytest.mark.parametrize("name", list(TFLM_ARENA))
def test_arena_not_larger_than_tflm(name):
    from mcucompress.codegen.project import compile_graph

    graph = load_model(shared_model(name))
    plan = compile_graph(graph, "m").plan  # includes the kernels' scratch buffers
    plan.planner.check()
    io = sum(graph.t(n).nbytes for n in graph.inputs + graph.outputs)
    # like for like: TFLM's arena also holds the input and output tensors
    assert plan.arena_bytes + io <= TFLM_ARENA[name]


def _fc_chain() -> Graph:
    """x [1, 96] -> FC 96->16 -> FC 16->8: the first FC's scratch (96 int16) outweighs its input and output."""
    rng = np.random.default_rng(3)
    g = Graph(name="fcs")
    g.add_tensor(Tensor("x", (1, 96), "int8", q(0.05, 3)))
    g.add_tensor(Tensor("w1", (16, 96), "int8", q(0.01), rng.integers(-127, 128, (16, 96))))
    g.add_tensor(Tensor("b1", (16,), "int32", q(0.0005), rng.integers(-300, 300, 16)))
    g.add_tensor(Tensor("h", (1, 16), "int8", q(0.2, -4)))
    g.add_tensor(Tensor("w2", (8, 16), "int8", q(0.02), rng.integers(-127, 128, (8, 16))))
    g.add_tensor(Tensor("b2", (8,), "int32", q(0.004), rng.integers(-300, 300, 8)))
    g.add_tensor(Tensor("y", (1, 8), "int8", q(0.3, 1)))
    g.ops = [Op("FULLY_CONNECTED", ["x", "w1", "b1"], ["h"], irops.FullyConnectedAttrs(), "fc1"),
             Op("FULLY_CONNECTED", ["h", "w2", "b2"], ["y"], irops.FullyConnectedAttrs(), "fc2")]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def test_fully_connected_scratch_shares_its_dead_input_and_stays_bit_exact(tmp_path):
    """The FC widens its input row into scratch starting at that (dead) input, last group first, so the two
    are one buffer; the host C still equals the reference executor bit for bit."""
    from mcucompress.codegen.lower import scratch_sizes
    from mcucompress.codegen.project import compile_graph
    from mcucompress.driver import reference_outputs
    from mcucompress.harness.host import run_on_host

    g = _fc_chain()
    sizes = scratch_sizes(g)
    shared = plan_memory(g, sizes, io_in_arena=True)
    assert shared.scratch[0] == shared.tensors["x"].offset
    assert shared.arena_bytes < sizes[0] + 96 + 16  # less than scratch, input and output side by side
    apart = plan_memory(g, sizes, io_in_arena=False)  # the input in the caller's buffer: nothing to share
    assert apart.tensors["x"].home == "input" and apart.arena_bytes >= sizes[0]
    compiled = compile_graph(g, "fcs")
    assert compiled.plan.scratch[0] == compiled.plan.tensors["x"].offset
    x = np.random.default_rng(7).integers(-128, 128, (6, 96)).astype(np.int8)
    expected = reference_outputs(g, x)
    out = run_on_host(compiled, x, g.t(g.outputs[0]).shape, workdir=tmp_path)
    np.testing.assert_array_equal(out.reshape(expected.shape), expected)


def _fc_chain3() -> Graph:
    """x [1, 96] -> FC 96->16 -> FC 16->16 -> FC 16->8 (ad01's shape in small): the second FC's scratch (32 B)
    outgrows its 16 B input, made while the first FC's widened 192 B input is live."""
    rng = np.random.default_rng(5)
    g = Graph(name="fcs3")
    g.add_tensor(Tensor("x", (1, 96), "int8", q(0.05, 3)))
    sizes = [("h1", 96, 16), ("h2", 16, 16), ("y", 16, 8)]
    src = "x"
    for i, (name, k, n) in enumerate(sizes):
        g.add_tensor(Tensor(f"w{i}", (n, k), "int8", q(0.01), rng.integers(-127, 128, (n, k))))
        g.add_tensor(Tensor(f"b{i}", (n,), "int32", q(0.0005), rng.integers(-300, 300, n)))
        g.add_tensor(Tensor(name, (1, n), "int8", q(0.2, -4 + i)))
        g.ops.append(Op("FULLY_CONNECTED", [src, f"w{i}", f"b{i}"], [name], irops.FullyConnectedAttrs(), f"fc{i}"))
        src = name
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def test_scratch_sharing_is_chosen_per_op(tmp_path):
    """The first FC's scratch shares its dead input (192 B in one buffer); the second's is kept apart, since
    widening h1 to 32 B beside that buffer would cost 16 B more than a scratch of its own: 192 + 16 B, not
    192 + 32 B. The host C stays bit-exact with the reference executor."""
    from mcucompress.codegen.lower import scratch_sizes
    from mcucompress.codegen.project import compile_graph
    from mcucompress.driver import reference_outputs
    from mcucompress.harness.host import run_on_host

    g = _fc_chain3()
    sizes = scratch_sizes(g)
    assert sizes[0] == 192 and sizes[1] == 32
    plan = plan_memory(g, sizes, io_in_arena=True)
    plan.planner.check()
    assert plan.scratch[0] == plan.tensors["x"].offset and plan.scratch[1] != plan.tensors["h1"].offset
    assert plan.arena_bytes == 192 + 16
    compiled = compile_graph(g, "fcs3")
    assert compiled.plan.arena_bytes == 208
    x = np.random.default_rng(8).integers(-128, 128, (5, 96)).astype(np.int8)
    expected = reference_outputs(g, x)
    out = run_on_host(compiled, x, g.t("y").shape, workdir=tmp_path)
    np.testing.assert_array_equal(out.reshape(expected.shape), expected)


def test_io_spare_is_the_largest_aligned_gap_outside_the_input_and_output():
    from mcucompress.codegen.arena import io_spare

    assert io_spare(1408, [(0, 640), (0, 640)]) == (640, 768)  # ad01: input and output at the same offset
    assert io_spare(100, [(10, 20), (50, 10)]) == (60, 40)
    assert io_spare(64, [(3, 5), (40, 3)]) == (8, 32)  # starts aligned to 4 bytes
    assert io_spare(100, [(0, 100), (0, 100)]) == (0, 0)
    assert io_spare(96, [(32, 32), (40, 8)]) == (0, 32)  # the output inside the input's range


def _same_conv_chain(h: int, w: int, c: int, kh: int, kw: int, pad_top: int, pad_left: int, seed: int) -> Graph:
    """x -> CONV_2D -> CONV_2D -> y, both stride 1 with C -> C channels and the input's shape ("same" padding,
    split as given): each convolution's input dies at it, so each may write over it."""
    rng = np.random.default_rng(seed)
    g = Graph(name="lag")
    g.add_tensor(Tensor("x", (1, h, w, c), "int8", q(0.05, 3)))
    src = "x"
    for i, name in enumerate(("a", "y")):
        g.add_tensor(Tensor(f"w{i}", (c, kh, kw, c), "int8", q(0.02), rng.integers(-127, 128, (c, kh, kw, c))))
        g.add_tensor(Tensor(f"b{i}", (c,), "int32", q(0.001), rng.integers(-300, 300, c)))
        g.add_tensor(Tensor(name, (1, h, w, c), "int8", q(0.1, i - 2)))
        attrs = irops.Conv2DAttrs(pad_top=pad_top, pad_bottom=kh - 1 - pad_top, pad_left=pad_left,
                                  pad_right=kw - 1 - pad_left, activation="RELU" if i == 0 else "NONE")
        g.ops.append(Op("CONV_2D", [src, f"w{i}", f"b{i}"], [name], attrs, f"conv{i}"))
        src = name
    g.inputs, g.outputs = ["x"], ["y"]
    return g


@pytest.mark.parametrize("h,w,c,kh,kw,pad_top,pad_left", [
    (6, 7, 8, 3, 3, 1, 1),  # grouped im2col (C a multiple of 4)
    (5, 9, 3, 3, 3, 1, 1),  # gathered im2col
    (7, 5, 6, 5, 5, 2, 2),
    (6, 6, 4, 3, 1, 2, 0),  # all the padding on top
    (4, 8, 5, 1, 3, 0, 1),
])
def test_convolutions_write_over_their_input_a_lag_before_it_bit_exact(tmp_path, h, w, c, kh, kw, pad_top, pad_left):
    """A same-shape stride-1 convolution (mcc_convolve_s8) writes its output (pad_top * W + pad_left) * C bytes,
    rounded up to 16, before its dying input: one buffer of the input's size plus that lag. Host C (with the
    --checks bounds asserts) equals the reference executor bit for bit."""
    from mcucompress.codegen.conv_lag import conv_output_lag
    from mcucompress.codegen.project import compile_graph
    from mcucompress.driver import reference_outputs
    from mcucompress.harness.host import run_on_host

    g = _same_conv_chain(h, w, c, kh, kw, pad_top, pad_left, seed=h * w + c)
    lag = -(-(pad_top * w + pad_left) * c // 16) * 16
    assert conv_output_lag(g, g.ops[1]) == lag
    x = np.random.default_rng(c).integers(-128, 128, (4, 1, h, w, c)).astype(np.int8)
    expected = reference_outputs(g, x)
    for checks in (False, True):
        compiled = compile_graph(g, "lag", checks=checks)
        plan = compiled.plan
        if lag:
            assert plan.tensors["a"].offset == plan.tensors["y"].offset + lag  # y starts `lag` before a
            assert plan.liveness.shift["a"] == lag
        out = run_on_host(compiled, x, g.t("y").shape, workdir=tmp_path / f"c{checks}")
        np.testing.assert_array_equal(out.reshape(expected.shape), expected)


def test_no_lag_where_the_kernel_order_does_not_allow_it():
    from mcucompress.codegen.conv_lag import conv_output_lag

    g = _same_conv_chain(6, 6, 8, 1, 1, 0, 0, seed=1)
    assert conv_output_lag(g, g.ops[1]) is None  # 1x1: mcc_convolve_1x1_s8 (its own in-place rule, lag 0)
    g = _same_conv_chain(6, 6, 8, 3, 3, 1, 1, seed=1)
    for name in ("a", "y"):
        g.t(name).shape = (2, 3, 6, 8)
    assert conv_output_lag(g, g.ops[1]) is None  # batches: the pair order crosses images
    g = _same_conv_chain(6, 6, 8, 3, 3, 1, 1, seed=1)
    plan = plan_memory(g, {}, io_in_arena=False)
    assert "x" not in plan.liveness.shift  # the model input in the caller's buffer is never written over