"""The IR's JSON + npz form round-trips exactly, and the verifier catches broken graphs."""

import numpy as np
import pytest

from mcucompress.errors import GraphError
from mcucompress.frontend import load_model
from mcucompress.ir import serialize
from mcucompress.ir.verify import verify
from tests.conftest import INT8_MODELS, shared_model


def assert_graphs_equal(a, b):
    assert (a.name, a.inputs, a.outputs) == (b.name, b.inputs, b.outputs)
    assert list(a.tensors) == list(b.tensors)
    for n in a.tensors:
        ta, tb = a.t(n), b.t(n)
        assert (ta.shape, ta.dtype, ta.quant) == (tb.shape, tb.dtype, tb.quant), n
        assert (ta.data is None) == (tb.data is None)
        if ta.data is not None:
            assert ta.data.dtype == tb.data.dtype and np.array_equal(ta.data, tb.data)
    assert [(o.kind, o.inputs, o.outputs, o.attrs, o.name) for o in a.ops] == [
        (o.kind, o.inputs, o.outputs, o.attrs, o.name) for o in b.ops
    ]


@pytest.mark.parametrize("name", INT8_MODELS)
def test_round_trip(tmp_path, name):
    graph = load_model(shared_model(name))
    serialize.save(graph, tmp_path / "g.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json", "g.npz"]
    assert_graphs_equal(graph, serialize.load(tmp_path / "g.json"))


def test_verifier_rejects_dangling_input(tiny_graph):
    tiny_graph.ops[0].inputs[0] = "nowhere"
    with pytest.raises(GraphError, match="nowhere"):
        verify(tiny_graph)


def test_verifier_rejects_bad_per_axis_quant(tiny_graph):
    w = tiny_graph.t("w")
    w.quant.scale = w.quant.scale[:1].repeat(3)
    w.quant.zero_point = w.quant.zero_point[:1].repeat(3)
    with pytest.raises(GraphError, match="per-axis"):
        verify(tiny_graph)


def test_tiny_graph_round_trips_and_verifies(tmp_path, tiny_graph):
    verify(tiny_graph)
    serialize.save(tiny_graph, tmp_path / "t.json")
    assert_graphs_equal(tiny_graph, serialize.load(tmp_path / "t.json"))
