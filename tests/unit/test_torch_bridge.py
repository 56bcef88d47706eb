"""The PyTorch bridge computes what our float reference executor computes, and gives the graph back."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mcucompress.driver import load
from mcucompress.examples import (
    DIGITS_CNN_ONNX,
    DIGITS_FLOAT,
    DIGITS_MLP_FLOAT,
    DIGITS_MLP_ONNX,
    DIGITS_TEST,
)
from mcucompress.reference import executor
from mcucompress.torch.bridge import GraphModule
from tests.conftest import shared_model
from tests.random_graphs import SINGLE_OP_KINDS, random_chain_graph, random_single_op_graph


def float_twin(graph):
    """An int8 graph's float twin: constants dequantized, activations float32 (same structure)."""
    g = copy.deepcopy(graph)
    for t in g.tensors.values():
        if t.is_const and t.quant is not None and t.dtype in ("int8", "int32"):
            shape = [1] * t.data.ndim
            if t.quant.per_axis:
                shape[t.quant.axis] = -1
            s, z = t.quant.scale.reshape(shape), t.quant.zero_point.reshape(shape)
            t.data, t.dtype = ((t.data.astype(np.float64) - z) * s).astype(np.float32), "float32"
        elif not t.is_const:
            t.dtype = "float32"
        t.quant = None
    return g


def check_same(graph, x, atol=1e-5):
    m = GraphModule(graph)
    values = executor.run(graph, [x], keep_all=True)
    with torch.no_grad():
        y = m(torch.from_numpy(x))
        logits = m(torch.from_numpy(x), logits=True)
    ref = values[graph.outputs[0]]
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(y.numpy(), ref, rtol=0, atol=atol * scale)
    np.testing.assert_allclose(logits.numpy(), values[m.logits_name], rtol=0,
                               atol=atol * max(1.0, float(np.abs(values[m.logits_name]).max())))
    back = m.to_graph()
    for name, t in graph.tensors.items():
        if t.is_const:
            assert np.array_equal(back.t(name).data, t.data), name
    assert [op.kind for op in back.ops] == [op.kind for op in graph.ops]


@pytest.mark.parametrize("path", [DIGITS_FLOAT, DIGITS_MLP_FLOAT, DIGITS_CNN_ONNX, DIGITS_MLP_ONNX],
                         ids=lambda p: p.name)
def test_digits_models_match_reference(path):
    graph = load(path)
    x = np.load(DIGITS_TEST)["x"][:128].astype(np.float32).reshape((-1,) + graph.t(graph.inputs[0]).shape[1:])
    check_same(graph, x)


@pytest.mark.parametrize("kind", SINGLE_OP_KINDS)
def test_single_ops_match_reference(kind):
    for seed in range(6):
        rng = np.random.default_rng(seed)
        graph = float_twin(random_single_op_graph(kind, rng))
        # the graph's own batch size: a constant operand may carry it
        xs = [rng.normal(0, 2, graph.t(n).shape).astype(np.float32) for n in graph.inputs]
        if len(xs) == 1:
            check_same(graph, xs[0])


def test_random_chains_match_reference():
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        graph = float_twin(random_chain_graph(rng))
        x = rng.normal(0, 2, graph.t(graph.inputs[0]).shape).astype(np.float32)
        check_same(graph, x)


def test_parameters_train_and_masks_hold():
    graph = load(DIGITS_FLOAT)
    m = GraphModule(graph)
    w = graph.ops[0].inputs[1]
    mask = np.abs(graph.t(w).data) > np.median(np.abs(graph.t(w).data))
    m.set_mask(w, mask)
    x = torch.from_numpy(np.load(DIGITS_TEST)["x"][:32].astype(np.float32).reshape(-1, 8, 8, 1))
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    before = m.param(w).detach().clone()
    m(x, logits=True).square().mean().backward()
    opt.step()
    assert not torch.equal(before, m.param(w).detach())
    out = m.to_graph().t(w).data
    assert np.all(out[~mask] == 0) and np.any(out[mask] != graph.t(w).data[mask])


def test_int8_graph_is_refused():
    from mcucompress.errors import GraphError
    from mcucompress.examples import DIGITS_INT8

    with pytest.raises(GraphError, match="float32"):
        GraphModule(load(DIGITS_INT8))


def test_resnet8_matches_reference():
    graph = load(shared_model("ic_pretrainedResnet_float"))
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    check_same(graph, x)
