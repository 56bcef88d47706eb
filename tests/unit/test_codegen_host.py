"""Generated C compiled with the host gcc is bit-exact with the reference executor and TFLM."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.driver import default_prefix
from mcucompress.frontend import load_model
from mcucompress.harness.host import build_runner, run_runner
from mcucompress.reference import executor
from tests.conftest import INT8_MODELS, TflmSession, shared_model
from tests.graphs import tiny_conv_fc
from tests.random_graphs import random_chain_graph, random_inputs, random_single_op_graph

RANDOM_KINDS = ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "SUB",
                "MUL", "SOFTMAX", "PAD", "RESHAPE"]


def host_outputs(graph, xs, tmp_path):
    compiled = compile_graph(graph, default_prefix(graph))
    project = write_project(compiled, tmp_path / "project")
    runner = build_runner(project, compiled.prefix)
    return run_runner(runner, xs, graph.t(graph.outputs[0]).shape, compiled.output_dtype)


def reference_outputs(graph, xs):
    return np.stack([executor.run(graph, [x.reshape(graph.t(graph.inputs[0]).shape)])[0] for x in xs])


def assert_same(host, reference):
    np.testing.assert_array_equal(host.reshape(len(host), -1), reference.reshape(len(reference), -1))


def single_input_graph(make, rng):
    """The C entry point takes one input: draw until the random graph has one (others get constants)."""
    for _ in range(50):
        graph = make(rng)
        if len(graph.inputs) == 1:
            return graph
    raise AssertionError("random builder never produced a single-input graph")


def samples(graph, rng, n=4):
    return np.stack([random_inputs(graph, rng)[0] for _ in range(n)])


@pytest.mark.parametrize("name", INT8_MODELS)
def test_mlperf_model_bit_exact_on_host(name, tmp_path):
    path = shared_model(name)
    graph = load_model(path)
    shape = graph.t(graph.inputs[0]).shape
    xs = np.random.default_rng(99).integers(-128, 128, size=(20,) + shape[1:], dtype=np.int8)
    ours = host_outputs(graph, xs, tmp_path)
    assert_same(ours, reference_outputs(graph, xs))
    tflm = TflmSession(path)
    for x, y in zip(xs, ours):
        np.testing.assert_array_equal(y[None], tflm(x[None]))


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_random_single_op_models_bit_exact_on_host(kind, tmp_path):
    rng = np.random.default_rng(abs(hash(kind)) % 1000)
    for i in range(3):
        graph = single_input_graph(lambda r: random_single_op_graph(kind, r), rng)
        xs = samples(graph, rng)
        assert_same(host_outputs(graph, xs, tmp_path / str(i)), reference_outputs(graph, xs))


def test_random_chains_bit_exact_on_host(tmp_path):
    rng = np.random.default_rng(2024)
    for i in range(6):
        graph = single_input_graph(random_chain_graph, rng)
        xs = samples(graph, rng)
        assert_same(host_outputs(graph, xs, tmp_path / str(i)), reference_outputs(graph, xs))


def test_tiny_model_bit_exact_on_host(tmp_path):
    graph = tiny_conv_fc()
    xs = np.random.default_rng(5).integers(-128, 128, size=(16, 6, 6, 2), dtype=np.int8)
    assert_same(host_outputs(graph, xs, tmp_path), reference_outputs(graph, xs))


@pytest.mark.parametrize("axis", [1, 2, 3])
def test_concatenation_with_constant_and_repeated_input_on_host(axis, tmp_path):
    from mcucompress.ir import Graph, Op, Tensor
    from mcucompress.ir import ops as irops
    from tests.graphs import q

    rng = np.random.default_rng(axis)
    g = Graph(name="concat")
    g.add_tensor(Tensor("x", (1, 3, 4, 5), "int8", q(0.05, 3)))
    c_shape = [1, 3, 4, 5]
    c_shape[axis] = 2
    g.add_tensor(Tensor("c", tuple(c_shape), "int8", q(0.05, 3), rng.integers(-128, 128, c_shape)))
    out_shape = [1, 3, 4, 5]
    out_shape[axis] = 2 * out_shape[axis] + 2
    g.add_tensor(Tensor("y", tuple(out_shape), "int8", q(0.05, 3)))
    g.ops = [Op("CONCATENATION", ["x", "c", "x"], ["y"], irops.ConcatenationAttrs(axis=axis), "concat")]
    g.inputs, g.outputs = ["x"], ["y"]
    xs = rng.integers(-128, 128, size=(3, 3, 4, 5), dtype=np.int8)
    assert_same(host_outputs(g, xs, tmp_path), reference_outputs(g, xs))


def _unary_graph(kind: str, rng) -> Graph:  # noqa: F821
    from mcucompress.ir import Graph, Op, Tensor
    from mcucompress.ir import ops as irops
    from tests.graphs import q

    in_scale, in_zp = float(rng.uniform(0.01, 0.2)), int(rng.integers(-20, 20))
    out = {
        "LOGISTIC": (1 / 256, -128),
        "TANH": (1 / 128, 0),
        "RELU6": (in_scale, in_zp),
        "HARD_SWISH": (in_scale * float(rng.uniform(0.5, 2)), int(rng.integers(-100, 0))),
    }.get(kind, (float(rng.uniform(0.01, 0.2)), int(rng.integers(-128, 0))))
    shape = (1, int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 20)))
    g = Graph(name=kind.lower())
    g.add_tensor(Tensor("x", shape, "int8", q(in_scale, in_zp)))
    attrs = irops.LeakyReluAttrs(float(rng.uniform(-0.5, 0.9))) if kind == "LEAKY_RELU" else irops.NoAttrs()
    if kind == "MEAN":
        keep = bool(rng.integers(0, 2))
        attrs = irops.MeanAttrs((1, 2), keep)
        out_shape = (1, 1, 1, shape[3]) if keep else (1, shape[3])
    else:
        out_shape = shape
    g.add_tensor(Tensor("y", out_shape, "int8", q(*out)))
    g.ops = [Op(kind, ["x"], ["y"], attrs, kind.lower())]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


@pytest.mark.parametrize("kind", ["LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "RELU", "RELU6", "QUANTIZE", "MEAN"])
def test_activation_and_mean_models_bit_exact_on_host(kind, tmp_path):
    from mcucompress.ir.verify import verify

    rng = np.random.default_rng(len(kind))
    for i in range(3):
        graph = _unary_graph(kind, rng)
        verify(graph)
        xs = rng.integers(-128, 128, size=(4,) + graph.t("x").shape[1:], dtype=np.int8)
        assert_same(host_outputs(graph, xs, tmp_path / str(i)), reference_outputs(graph, xs))


HOSTILE = "a*/b /* c ??/\n\\ d\x01é"  # closes and opens C comments, a trigraph, a newline, a control char


def test_hostile_tensor_and_op_names_compile_and_run_bit_exact_on_host(tmp_path):
    """Names from model files reach C only inside comments, made safe there: `*/` in a tensor name must not end
    the comment of its weights array (the project builds with -Wall -Wextra -Werror, so `/*` would fail too)."""
    graph = tiny_conv_fc()
    renames = {"w": f"w{HOSTILE}", "fw": f"fw{HOSTILE}", "c": f"c{HOSTILE}"}
    graph.tensors = {renames.get(n, n): t for n, t in graph.tensors.items()}
    for name, t in graph.tensors.items():
        t.name = name
    for op in graph.ops:
        op.inputs = [renames.get(n, n) for n in op.inputs]
        op.outputs = [renames.get(n, n) for n in op.outputs]
        op.name = f"{op.name}{HOSTILE}"
    compiled = compile_graph(graph, default_prefix(graph))
    for name, text in compiled.files.items():
        comments = re.findall(r"/\*(.*?)\*/", text, flags=re.DOTALL)
        if name.endswith(("_weights.c", "_model.c")):  # the names are there, made safe
            assert any("a*_/b /_* c ?_?/?\\ d?_?" in c for c in comments), name
        for body in comments:  # each name stays inside its comment, printable ASCII, no trigraph
            assert "/*" not in body and "??" not in body and all(" " <= ch <= "~" or ch == "\n" for ch in body), body
        assert "*/" not in re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL), name
    xs = np.random.default_rng(5).integers(-128, 128, size=(8, 6, 6, 2), dtype=np.int8)
    assert_same(host_outputs(graph, xs, tmp_path), reference_outputs(graph, xs))
