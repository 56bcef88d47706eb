"""The op registry is complete and every per-op table is derived from it.

Each IR kind has an OpSpec with a reference kernel, a lowering (or none, documented), existing C kernels
and a valid channel rule; the quantizer, the QDQ importer, the planner, the lowering, the TFLite importer
and the docs behave as the specs say. A float RESHAPE -> RELU6 graph (RELU6 was missing from the
quantizer's shared-quantization set) quantizes and runs bit-exactly in TFLM and the reference executor.
"""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

import mcucompress
from mcucompress.codegen import lower
from mcucompress.codegen.kernel_sources import function_files
from mcucompress.errors import UnsupportedOpError
from mcucompress.frontend import tflite_writer
from mcucompress.frontend.tflite import supported_tflite_ops
from mcucompress.ir import Graph, Op, Tensor, registry
from mcucompress.ir import ops as irops
from mcucompress.plan.liveness import analyse
from mcucompress.quantize.quantizer import quantize_graph
from mcucompress.reference import executor
from mcucompress.supported_ops import supported_ops_markdown
from tests.conftest import TflmSession
from tests.graphs import q

# The IR's kinds: the attributes dataclasses of ir/ops.py are used by exactly these.
IR_KINDS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN", "ADD",
            "SUB", "MUL", "RESHAPE", "SOFTMAX", "PAD", "CONCATENATION", "LOGISTIC", "TANH", "RELU", "RELU6",
            "LEAKY_RELU", "HARD_SWISH", "QUANTIZE", "DEQUANTIZE"}
IR_KINDS |= {"MAXIMUM", "MINIMUM", "ABS", "PRELU", "SQUARED_DIFFERENCE", "ELU",
             "REDUCE_MAX", "REDUCE_MIN", "SUM", "RSQRT", "SQRT", "EXP",
             "L2_NORMALIZATION", "LOG_SOFTMAX", "NEG"}  # issue 10, element-wise ops
MOVEMENT = {"TRANSPOSE", "SLICE", "STRIDED_SLICE", "SPLIT", "PACK", "UNPACK", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE",
            "MIRROR_PAD", "REVERSE_V2", "BROADCAST_TO", "GATHER", "TILE", "GATHER_ND", "SPACE_TO_BATCH_ND",
            "BATCH_TO_SPACE_ND"}
IR_KINDS |= MOVEMENT
TYPED = {"ARG_MAX", "ARG_MIN", "EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "SELECT_V2",
         "ZEROS_LIKE", "FILL"}  # int32 / bool tensors
IR_KINDS |= TYPED
IR_KINDS |= {"RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"}
RECURRENT = {"UNIDIRECTIONAL_SEQUENCE_LSTM", "SVDF"}  # state in variable tensors (tests/unit/test_recurrent_ops.py)
IR_KINDS |= RECURRENT
IR_KINDS |= {"BATCH_MATMUL", "GELU", "DIV"}  # transformer blocks: matrix product of two tensors, GELU, division
IR_KINDS |= {"ADD_N", "CUMSUM", "L2_POOL_2D", "LOG"}
IR_KINDS |= {"TRANSPOSE_CONV"}
INTERNAL = {"LOOKUP"}  # made by a pass (passes/float_island.py), never imported from a model file
IR_KINDS |= INTERNAL


def test_every_ir_kind_has_a_complete_spec():
    specs = registry.all_specs()
    assert {s.kind for s in specs} == IR_KINDS
    assert [s.kind for s in specs] == sorted(IR_KINDS)
    defined = function_files()
    for s in specs:
        assert dataclasses.is_dataclass(s.attrs) and s.attrs.__module__ == irops.__name__, s.kind
        assert callable(s.reference), s.kind
        assert s.channels in registry.CHANNEL_RULES, s.kind
        assert s.kind in s.tflite_names or (s.kind in INTERNAL and not s.tflite_names), s.kind
        if s.lowering is not None:
            assert s.c_functions and all(f in defined for f in s.c_functions), (s.kind, s.c_functions)
        if s.check is not None:
            assert s.rules and s.kind in s.rules[0], (s.kind, s.rules)  # the rule says which op it is about
        assert not (s.alias and s.in_place), s.kind
        if s.weight_axis is not None:  # TRANSPOSE_CONV: weights like CONV_2D's, but channels block (ops/weighted.py)
            assert s.channels in (registry.CHANNELS_PRODUCER, registry.CHANNELS_DEPTHWISE) or s.kind == "TRANSPOSE_CONV"
            assert s.scratch, s.kind
    # float output, or no int8 kernel in TFLM: reference only
    assert {s.kind for s in specs if s.lowering is None} == {"DEQUANTIZE", "SQRT", "EXP", "NEG", "L2_POOL_2D", "LOG"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        specs[0].kind = "X"


def test_channel_rules_are_the_documented_constants():
    assert (registry.CHANNELS_PRODUCER, registry.CHANNELS_DEPTHWISE, registry.CHANNELS_PASSTHROUGH,
            registry.CHANNELS_TIED, registry.CHANNELS_CONCAT, registry.CHANNELS_RESHAPE, registry.CHANNELS_BLOCK) == (
        "producer", "depthwise", "passthrough", "tied", "concat", "reshape", "block")
    by_rule = {}
    for s in registry.all_specs():
        by_rule.setdefault(s.channels, set()).add(s.kind)
    assert by_rule[registry.CHANNELS_PRODUCER] == {"CONV_2D", "FULLY_CONNECTED"}
    assert by_rule[registry.CHANNELS_DEPTHWISE] == {"DEPTHWISE_CONV_2D"}
    assert by_rule[registry.CHANNELS_TIED] == {"ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE",
                                                "PRELU", "DIV", "ADD_N"}
    assert by_rule[registry.CHANNELS_BLOCK] == {"SOFTMAX", "DEQUANTIZE", "L2_NORMALIZATION", "LOG_SOFTMAX",
                                                "BATCH_MATMUL", "CUMSUM", "TRANSPOSE_CONV"} | MOVEMENT | TYPED | RECURRENT
    with pytest.raises(ValueError, match="channel rule"):
        registry.OpSpec("X", irops.NoAttrs, executor.reshape, "sideways")


def test_unknown_kind_is_one_clear_line():
    kind = "BIDIRECTIONAL_SEQUENCE_LSTM"
    with pytest.raises(UnsupportedOpError, match=rf"^op kind '{kind}' is not supported; supported kinds: ABS, ADD, ") as e:
        registry.spec(kind)
    assert "\n" not in str(e.value)


def test_derived_tables():
    specs = registry.all_specs()
    assert lower.lowerable_kinds() == [s.kind for s in specs if s.lowering is not None]
    assert registry.tflite_aliases() == {"SQUEEZE": "RESHAPE", "EXPAND_DIMS": "RESHAPE", "PADV2": "PAD",
                                         "SPLIT_V": "SPLIT"}
    assert {n for s in specs for n in s.tflite_names} <= set(supported_tflite_ops())
    doc = supported_ops_markdown()
    for s in specs:
        assert all(f"- {rule}" in doc for rule in s.rules), s.kind
    # the old hand-written copies are gone
    from mcucompress.frontend import onnx_qdq, tflite
    from mcucompress.plan import liveness
    from mcucompress.quantize import quantizer

    for module, name in ((quantizer, "SHARED_QUANT_OPS"), (quantizer, "FIXED_OUTPUT_QUANT"), (quantizer, "WEIGHT_AXIS"),
                         (onnx_qdq, "SAME_QUANT"), (onnx_qdq, "FIXED_OUTPUT"), (liveness, "IN_PLACE_OPS"),
                         (tflite, "ALIASES"), (executor, "KERNELS"), (irops, "ATTRS_BY_KIND")):
        assert not hasattr(module, name), (module.__name__, name)


UNARY_ATTRS = {"MAX_POOL_2D": irops.Pool2DAttrs(2, 2, 2, 2), "AVERAGE_POOL_2D": irops.Pool2DAttrs(2, 2, 2, 2),
               "PAD": irops.PadAttrs(((0, 0), (1, 1), (1, 1), (0, 0))), "LEAKY_RELU": irops.LeakyReluAttrs(0.1),
               "MEAN": irops.MeanAttrs((1, 2), True), "SOFTMAX": irops.SoftmaxAttrs(),
               **{k: irops.MeanAttrs((1, 2), True) for k in ("REDUCE_MAX", "REDUCE_MIN", "SUM")}}
OUT_SHAPES = {"MAX_POOL_2D": (1, 2, 2, 3), "AVERAGE_POOL_2D": (1, 2, 2, 3), "PAD": (1, 6, 6, 3), "MEAN": (1, 1, 1, 3),
              "RESHAPE": (1, 48), **{k: (1, 1, 1, 3) for k in ("REDUCE_MAX", "REDUCE_MIN", "SUM")}}


def single_input_graph(kind: str) -> Graph:
    g = Graph(name=kind.lower())
    g.add_tensor(Tensor("x", (1, 4, 4, 3), "float32"))
    g.add_tensor(Tensor("y", OUT_SHAPES.get(kind, (1, 4, 4, 3)), "float32"))
    g.ops = [Op(kind, ["x"], ["y"], UNARY_ATTRS.get(kind, registry.spec(kind).attrs()), kind.lower())]
    g.inputs, g.outputs = ["x"], ["y"]
    return g


SINGLE_INPUT = ["MAX_POOL_2D", "AVERAGE_POOL_2D", "PAD", "RESHAPE", "RELU6", "RELU", "LEAKY_RELU", "HARD_SWISH",
                "MEAN", "LOGISTIC", "TANH", "SOFTMAX", "ABS", "ELU", "REDUCE_MAX", "REDUCE_MIN", "SUM",
                "L2_NORMALIZATION", "LOG_SOFTMAX", "CUMSUM"]


@pytest.mark.parametrize("kind", SINGLE_INPUT)
def test_quantizer_follows_the_spec(kind):
    """Input range [-3, 5], output range [-1, 2]: shared ops get one quantization covering both, fixed-range
    ops their fixed one, the others their own."""
    s = registry.spec(kind)
    qg = quantize_graph(single_input_graph(kind), {"x": (-3.0, 5.0), "y": (-1.0, 2.0)})
    qx, qy = qg.t("x").quant, qg.t("y").quant
    if s.fixed_output:
        assert (qy.s, qy.zp) == (float(np.float32(s.fixed_output[0])), s.fixed_output[1])
    elif s.shares_quant:
        assert qx == qy and np.isclose(qx.s, 8 / 255)
    else:
        assert qx != qy and np.isclose(qy.s, 3 / 255)


@pytest.mark.parametrize("kind", ["RELU", "RELU6", "LOGISTIC", "QUANTIZE", "SOFTMAX", "MEAN", "PAD"])
def test_planner_writes_in_place_exactly_where_the_spec_allows(kind):
    """x -> ADD(x, x) -> kind -> ADD: the middle op's output shares its input's buffer iff the spec says in_place."""
    g = Graph(name="chain")
    shape_out = (1, 6, 6, 3) if kind == "PAD" else (1, 1, 1, 3) if kind == "MEAN" else (1, 4, 4, 3)
    for name, shape in (("x", (1, 4, 4, 3)), ("a", (1, 4, 4, 3)), ("b", shape_out), ("y", shape_out)):
        g.add_tensor(Tensor(name, shape, "int8", q(0.05, -3)))
    g.ops = [Op("ADD", ["x", "x"], ["a"], irops.ElementwiseAttrs()),
             Op(kind, ["a"], ["b"], UNARY_ATTRS.get(kind, registry.spec(kind).attrs())),
             Op("ADD", ["b", "b"], ["y"], irops.ElementwiseAttrs())]
    g.inputs, g.outputs = ["x"], ["y"]
    live = analyse(g)
    assert (live.group_of["a"] == live.group_of["b"]) == registry.spec(kind).in_place


def test_float_reshape_relu6_quantizes_and_is_bit_exact_with_tflm():
    """RELU6 shares its input's quantization (TFLM's RELU6 does not rescale); before the registry the quantizer
    missed it and this graph failed to quantize."""
    g = Graph(name="reshape_relu6")
    g.add_tensor(Tensor("x", (1, 4, 4, 2), "float32"))
    g.add_tensor(Tensor("flat", (1, 32), "float32"))
    g.add_tensor(Tensor("y", (1, 32), "float32"))
    g.ops = [Op("RESHAPE", ["x"], ["flat"], irops.NoAttrs(), "reshape"),
             Op("RELU6", ["flat"], ["y"], irops.NoAttrs(), "relu6")]
    g.inputs, g.outputs = ["x"], ["y"]
    x = np.random.default_rng(3).normal(1.5, 4.0, (32, 4, 4, 2)).astype(np.float32)
    qg = mcucompress.quantize(g, x)
    assert qg.t("flat").quant == qg.t("y").quant == qg.t("x").quant
    qi = qg.t("x").quant
    xq = np.clip(np.round(x / qi.s) + qi.zp, -128, 127).astype(np.int8)
    ours = np.stack([executor.run(qg, [xi[None]])[0] for xi in xq])
    tflm = TflmSession(tflite_writer.to_bytes(qg))
    np.testing.assert_array_equal(ours, np.stack([tflm(xi[None]) for xi in xq]))
    qo = qg.t("y").quant
    assert ours.min() == qo.zp and ours.max() > qo.zp  # negatives clamp to 0, positives pass
    float_out = np.clip(x.reshape(32, 1, 32), 0, 6)
    np.testing.assert_allclose((ours.astype(np.float32) - qo.zp) * qo.s, float_out, atol=qo.s)
    if shutil.which("gcc"):
        from mcucompress.codegen.project import compile_graph
        from mcucompress.harness.host import run_on_host

        np.testing.assert_array_equal(run_on_host(compile_graph(qg, "r6"), xq, (1, 32)).reshape(ours.shape), ours)
