"""invoke as a loop over per-kernel argument tables (codegen/layer_table.py) and the shared parameter structs
(codegen/shared_statics.py): which layers the tables hold, and the same bits as the reference on the host."""

from __future__ import annotations

import numpy as np

from mcucompress.codegen import layer_table
from mcucompress.codegen.project import compile_graph
from mcucompress.codegen.shared_statics import share_statics
from tests.random_graphs import random_inputs
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs
from tests.unit.test_variants import variant_graph


def test_tables_hold_the_kernels_called_more_than_once():
    compiled = compile_graph(variant_graph(0), "t")
    loop = layer_table.plan(compiled.calls, "t", arena_caller=False)
    counts = {}
    for c in compiled.calls:
        if c.function:
            counts[c.function] = counts.get(c.function, 0) + 1
    tabled = {f for f, n in counts.items() if n >= layer_table.MIN_ROWS}
    assert tabled, "the graph calls some kernel twice"
    text = "\n".join(loop["declarations"] + loop["loop"])
    for function in tabled:
        assert f"}} t_args" in text and f"status = {function}(row" in text
    model = compiled.files["t_model.c"]
    assert "for (layer = 0; layer < T_NUM_LAYERS; layer++)" in model
    assert model.count("MCC_LAYER_BEGIN(layer)") == 1  # every layer's hook, inside the loop


def test_arguments_only_invoke_knows_keep_the_straight_line_calls():
    graph = variant_graph(0)
    caller = compile_graph(graph, "t", arena="caller")  # arena pointers are invoke's parameter
    assert layer_table.plan(caller.calls, "t", arena_caller=True) is None
    assert "for (layer = 0;" not in caller.files["t_model.c"]
    checked = compile_graph(graph, "t", checks=True)  # every call has its `pre` assertions
    assert layer_table.plan(checked.calls, "t", arena_caller=False) is None


def test_equal_structs_defined_once():
    compiled = compile_graph(variant_graph(0), "t")
    statics = share_statics(compiled.calls)
    keys = [(s.ctype, tuple(s.fields)) for s in statics]
    assert len(keys) == len(set(keys)) < sum(len(c.statics) for c in compiled.calls)
    model = compiled.files["t_model.c"]
    for c in compiled.calls:
        for s in c.statics:
            assert f"static const {s.ctype} {s.symbol} = {{" in model
            assert s.shared_with == "" or f"static const {s.ctype} {s.name} = {{" not in model


def test_same_bits_as_the_reference(tmp_path):
    for seed, general in ((0, False), (1, True)):
        graph = variant_graph(seed, general)
        rng = np.random.default_rng(seed)
        xs = np.stack([random_inputs(graph, rng)[0] for _ in range(3)])
        assert_same(host_outputs(graph, xs, tmp_path / str(seed)), reference_outputs(graph, xs))
