"""Property tests: random int8 graphs written as .tflite run in TFLM exactly like our reference executor.

Single-op models of every int8 kind we compile, and random multi-op chains; all seeded, so a failure
names a (kind, seed) that reproduces it: random_single_op_graph(kind, kind_rng(kind, seed)). The written
file is also re-imported and run, so the importer is checked on the same graphs.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from mcucompress.frontend import tflite as importer
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph
from mcucompress.reference import executor
from tests.random_graphs import SINGLE_OP_KINDS, random_chain_graph, random_inputs, random_single_op_graph

SINGLE_OP_SEEDS = 40  # the whole file runs in a few seconds
CHAIN_SEEDS = 30
INPUTS_PER_MODEL = 4


def tflm_outputs(model: bytes, graph: Graph, batches: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """TFLM reference kernels on each batch of inputs; one interpreter per model (multi-input, multi-output)."""
    from tflite_micro.python.tflite_micro import runtime

    activations = sum(t.nbytes for t in graph.tensors.values() if not t.is_const)
    # The default arena (10x the file) is too small for models whose activations outweigh their weights.
    interp = runtime.Interpreter.from_bytes(model, arena_size=4 * activations + len(model) + (64 << 10))
    results = []
    for inputs in batches:
        for i, x in enumerate(inputs):
            interp.set_input(x, i)
        interp.invoke()
        results.append([interp.get_output(i).copy() for i in range(len(graph.outputs))])
    return results


def assert_tflm_matches_reference(graph: Graph, rng: np.random.Generator, what: str, tmp_path=None) -> None:
    """TFLM on the written model == our executor on the graph (and on the graph re-imported from the file)."""
    model = tflite_writer.to_bytes(graph)
    graphs = {"built": graph}
    if tmp_path is not None:
        path = tmp_path / f"{graph.name}.tflite"
        path.write_bytes(model)
        graphs["re-imported"] = importer.load(path)
    batches = [random_inputs(graph, rng) for _ in range(INPUTS_PER_MODEL)]
    for inputs, expected in zip(batches, tflm_outputs(model, graph, batches)):
        for which, g in graphs.items():
            for name, y_ref, y_tflm in zip(graph.outputs, executor.run(g, inputs), expected):
                assert (y_ref.dtype, y_ref.shape) == (y_tflm.dtype, y_tflm.shape), (what, which)
                diff = np.flatnonzero(y_ref.reshape(-1) != y_tflm.reshape(-1))
                assert diff.size == 0, (
                    f"{what} ({which} graph): {diff.size}/{y_ref.size} outputs of '{name}' differ from TFLM, first "
                    f"at flat index {diff[0]}: ours {y_ref.reshape(-1)[diff[0]]}, TFLM {y_tflm.reshape(-1)[diff[0]]}; "
                    f"ops {[(op.kind, op.attrs) for op in g.ops]}"
                )


def kind_rng(kind: str, seed: int) -> np.random.Generator:
    """A generator per (kind, seed), stable across runs and Python versions (no hash())."""
    return np.random.default_rng([zlib.crc32(kind.encode()), seed])


@pytest.mark.parametrize("seed", range(SINGLE_OP_SEEDS))
@pytest.mark.parametrize("kind", SINGLE_OP_KINDS)
def test_single_op_model_matches_tflm(tmp_path, kind, seed):
    rng = kind_rng(kind, seed)
    graph = random_single_op_graph(kind, rng, name=f"{kind.lower()}_{seed}")
    assert [op.kind for op in graph.ops] == [kind]
    assert_tflm_matches_reference(graph, rng, f"{kind} seed {seed}", tmp_path)


@pytest.mark.parametrize("seed", range(CHAIN_SEEDS))
def test_random_chain_matches_tflm(tmp_path, seed):
    rng = kind_rng("chain", seed)
    graph = random_chain_graph(rng, name=f"chain_{seed}")
    assert 3 <= len(graph.ops) <= 8
    assert graph.ops[-1].kind in ("FULLY_CONNECTED", "SOFTMAX")
    assert_tflm_matches_reference(graph, rng, f"chain seed {seed}", tmp_path)


def variants(graph: Graph) -> set[tuple[str, str]]:
    """The features of a single-op graph that the tests mean to exercise."""
    op = graph.ops[0]
    kind, a = op.kind, op.attrs
    found = set()
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        found |= {(kind, a.activation),
                  (kind, "per-channel" if graph.t(op.inputs[1]).quant.per_axis else "per-tensor")}
        found |= {(kind, name) for name, present in [
            ("dilated", max(a.dilation_h, a.dilation_w) > 1),
            ("strided", max(a.stride_h, a.stride_w) > 1),
            ("same", a.pad_bottom + a.pad_right > 0),
        ] if present}
    if kind == "DEPTHWISE_CONV_2D":
        found.add((kind, f"multiplier {a.depth_multiplier}"))
    if kind == "FULLY_CONNECTED":
        found |= {(kind, name) for name, present in [
            ("keep_num_dims", a.keep_num_dims),
            ("no bias", len(op.inputs) < 3 or not op.inputs[2]),
            ("batch", graph.t(op.outputs[0]).shape[0] > 1),
            ("per-channel", graph.t(op.inputs[1]).quant.per_axis),
        ] if present}
    if kind in ("ADD", "SUB", "MUL"):
        shapes = [graph.t(n).shape for n in op.inputs]
        found |= {(kind, name) for name, present in [
            ("broadcast", shapes[0] != shapes[1]),
            ("constant", any(graph.t(n).is_const for n in op.inputs)),
        ] if present}
    if kind == "SOFTMAX" and a.beta != 1.0:
        found.add((kind, "beta != 1"))
    if kind == "CONCATENATION":
        found.add((kind, f"{len(op.inputs)} inputs"))
    return found


def test_generators_are_deterministic_and_cover_the_variants():
    """Same seed, same graph; and across the tested seeds every interesting variant occurs."""
    a = random_single_op_graph("CONV_2D", kind_rng("CONV_2D", 3))
    b = random_single_op_graph("CONV_2D", kind_rng("CONV_2D", 3))
    assert tflite_writer.to_bytes(a) == tflite_writer.to_bytes(b)
    seen = set()
    for kind in SINGLE_OP_KINDS:
        for seed in range(SINGLE_OP_SEEDS):
            seen |= variants(random_single_op_graph(kind, kind_rng(kind, seed)))
    expected = {
        *((k, v) for k in ("CONV_2D", "DEPTHWISE_CONV_2D")
          for v in ("dilated", "strided", "same", "NONE", "RELU", "RELU6", "per-channel", "per-tensor")),
        *(("DEPTHWISE_CONV_2D", f"multiplier {m}") for m in (1, 2, 3)),
        *(("FULLY_CONNECTED", v) for v in ("keep_num_dims", "no bias", "batch", "per-channel")),
        *((k, v) for k in ("ADD", "SUB", "MUL") for v in ("broadcast", "constant")),
        ("SOFTMAX", "beta != 1"), ("CONCATENATION", "2 inputs"), ("CONCATENATION", "3 inputs"),
    }
    assert expected <= seen, expected - seen


def test_softmax_beta_is_rounded_to_float32_like_tflm():
    """TFLM reads beta as a C float; with the unrounded double this row came out -106 instead of TFLM's -107."""
    from tests.random_graphs import Builder, add_softmax

    b = Builder(np.random.default_rng(0), "softmax_beta")
    x = b.input((1, 4), scale=0.023346757516264915, zp=38)
    graph = b.finish(add_softmax(b, x, beta=1.8703462894046026))
    row = np.array([[-46, -38, 5, -81]], np.int8)
    expected = tflm_outputs(tflite_writer.to_bytes(graph), graph, [[row]])[0][0]
    assert expected.tolist() == [[-107, -98, 71, -123]]
    np.testing.assert_array_equal(executor.run(graph, [row])[0], expected)


def test_chains_cover_the_body_ops_and_residual_adds():
    kinds, lengths = set(), []
    for seed in range(CHAIN_SEEDS):
        g = random_chain_graph(kind_rng("chain", seed))
        kinds.update(op.kind for op in g.ops)
        lengths.append(len(g.ops))
        for op in g.ops:
            if op.kind == "ADD":  # a residual: the skip tensor also feeds the branch that comes back here
                assert any(set(op.inputs) & set(other.inputs) for other in g.ops if other is not op)
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MUL", "PAD", "CONCATENATION", "RESHAPE",
            "FULLY_CONNECTED", "SOFTMAX"} <= kinds
    assert kinds & {"AVERAGE_POOL_2D", "MAX_POOL_2D"}
    assert min(lengths) >= 3 and max(lengths) == 8 and np.mean(lengths) > 5
