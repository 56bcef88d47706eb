"""Float islands: int8 -> DEQUANTIZE -> element-wise float32 op(s) -> QUANTIZE -> int8, as the TF converter leaves
ops it does not quantize (ELU), fold into one int8 LOOKUP (mcucompress/passes/float_island.py).

Each case is a random chain with random input and output quantizations, fed all 256 int8 values: TFLM runs the
float ops (the unfolded graph written with the TFLite writer); the reference executor after the pass and the host
C code of the folded graph must give the same int8 values. The output quantization covers the chain's float range
on the 256 inputs (with random slack), so that the table is spread over the int8 range and rounding is exercised.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.errors import GraphError
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops
from mcucompress.ir.verify import verify
from mcucompress.passes import float_island
from mcucompress.reference import executor
from tests.unit.test_codegen_host import host_outputs
from tests.unit.test_reference_ops import q, tflm

ALL_VALUES = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
# Ops defined only for non-negative inputs get an input zero point of -128 (every dequantized value >= 0).
NON_NEGATIVE = {"LOG", "SQRT", "RSQRT"}
KINDS = ["ELU", "LOGISTIC", "TANH", "EXP", "LOG", "SQRT", "RSQRT", "NEG", "ABS", "HARD_SWISH", "RELU", "RELU6",
         "LEAKY_RELU"]
SEEDS = 12  # random quantizations per kind


def _attrs(kind: str, rng: np.random.Generator):
    if kind == "LEAKY_RELU":
        return irops.LeakyReluAttrs(float(np.float32(rng.uniform(-0.5, 0.9))))
    return irops.NoAttrs()


def island(kinds: list[str], rng: np.random.Generator) -> Graph:
    """[1, 256] int8 -> DEQUANTIZE -> kinds... -> QUANTIZE -> int8, random quantizations."""
    zp_in = -128 if NON_NEGATIVE & set(kinds) else int(rng.integers(-128, 128))
    scale_in = float(np.exp(rng.uniform(np.log(0.005), np.log(0.08 if "EXP" in kinds else 0.5))))
    g = Graph(name="island")
    g.add_tensor(Tensor("x", (1, 256), "int8", q(scale_in, zp_in)))
    names = ["x", "f0"]
    g.add_tensor(Tensor("f0", (1, 256), "float32"))
    g.ops = [Op("DEQUANTIZE", ["x"], ["f0"], irops.NoAttrs(), "dequantize")]
    for i, kind in enumerate(kinds, 1):
        g.add_tensor(Tensor(f"f{i}", (1, 256), "float32"))
        g.ops.append(Op(kind, [names[-1]], [f"f{i}"], _attrs(kind, rng), f"{kind.lower()}_{i}"))
        names.append(f"f{i}")
    g.inputs, g.outputs = ["x"], [names[-1]]
    y = executor.run(g, [ALL_VALUES])[0]
    y = y[np.isfinite(y)]
    lo, hi = min(float(y.min()), 0.0), max(float(y.max()), 0.0)
    scale_out = max(hi - lo, 1e-3) / 255 * float(rng.uniform(0.6, 1.1))
    zp_out = int(np.clip(np.round(-128 - lo / scale_out), -128, 127))
    g.add_tensor(Tensor("y", (1, 256), "int8", q(scale_out, zp_out)))
    g.ops.append(Op("QUANTIZE", [names[-1]], ["y"], irops.NoAttrs(), "quantize"))
    g.outputs = ["y"]
    verify(g)
    return g


def _cases():
    rng = np.random.default_rng(7)
    single = [[k] for k in KINDS for _ in range(SEEDS)]
    chains = [list(rng.choice([k for k in KINDS if k not in NON_NEGATIVE], int(rng.integers(2, 4)))) for _ in range(24)]
    return single + chains


CASES = _cases()


@pytest.mark.parametrize("index", range(len(CASES)), ids=lambda i: f"{'-'.join(CASES[i])}{i}")
def test_folded_island_bit_exact_with_tflm_over_all_int8_values(index):
    g = island(CASES[index], np.random.default_rng(index))
    expected = tflm(g)(ALL_VALUES)
    folded = float_island.fold(g)
    assert [op.kind for op in folded.ops] == ["LOOKUP"] and folded.ops[0].attrs.chain == tuple(CASES[index])
    assert folded is not g and g.ops[0].kind == "DEQUANTIZE"  # the caller's graph is kept
    verify(folded)
    np.testing.assert_array_equal(executor.run(folded, [ALL_VALUES])[0], expected)
    np.testing.assert_array_equal(executor.run(g, [ALL_VALUES])[0], expected)  # the float island itself


@pytest.mark.parametrize("index", [0, SEEDS * 4, SEEDS * 6, SEEDS * 9, len(CASES) - 1])
def test_folded_island_host_c_bit_exact_with_tflm(index, tmp_path):
    """compile_graph folds the island itself; the C code looks the table up (mcc_lookup_s8)."""
    g = island(CASES[index], np.random.default_rng(index))
    host = host_outputs(g, ALL_VALUES[None], tmp_path)
    np.testing.assert_array_equal(host.reshape(1, 256), tflm(g)(ALL_VALUES))


def test_not_folded_when_the_float_values_are_read_elsewhere_or_an_op_is_not_elementwise():
    rng = np.random.default_rng(0)
    g = island(["ELU", "TANH"], rng)
    g.outputs = ["y", "f1"]  # an intermediate float tensor is a model output: the island must stay
    assert float_island.fold(g) is g
    g = island(["ELU"], rng)
    g.ops[1].kind = "SOFTMAX"  # normalises over the row: not element-wise
    g.ops[1].attrs = irops.SoftmaxAttrs()
    assert float_island.fold(g) is g


def test_tflite_writer_refuses_lookup_in_one_line():
    folded = float_island.fold(island(["ELU"], np.random.default_rng(0)))
    with pytest.raises(GraphError, match=r"internal LOOKUP table \(the folded float ops ELU\)"):
        tflite_writer.to_bytes(folded)


@pytest.mark.parametrize("bad", ["short_table", "out_of_range", "float_output"])
def test_verifier_rejects_a_malformed_lookup(bad):
    folded = float_island.fold(island(["TANH"], np.random.default_rng(1)))
    op = folded.ops[0]
    if bad == "short_table":
        op.attrs = irops.LookupAttrs(op.attrs.table[:255], op.attrs.chain)
    elif bad == "out_of_range":
        op.attrs = irops.LookupAttrs((200, *op.attrs.table[1:]), op.attrs.chain)
    else:
        folded.t(op.outputs[0]).dtype = "float32"
    with pytest.raises(GraphError, match=r"\(LOOKUP\)") as err:
        verify(folded)
    assert "\n" not in str(err.value)
