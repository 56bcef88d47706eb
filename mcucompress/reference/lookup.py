"""LOOKUP, the internal int8 table op that replaces a float island (passes/float_island.py).

The TF converter leaves ops it does not quantize in float32 between a DEQUANTIZE and a QUANTIZE. When every
op in between is element-wise and unary, each int8 output depends on its int8 input value alone, so the whole
chain is one 256-entry table: `island_table` runs DEQUANTIZE, the float ops and QUANTIZE through this
executor (TFLM's float32 arithmetic) on the 256 input values.
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op, Tensor

INT8_VALUES = np.arange(-128, 128, dtype=np.int8)


def lookup(graph, op, xs):
    """output = table[x + 128] (the table is already in the output's quantization)."""
    return np.asarray(op.attrs.table, np.int64)[xs[0].astype(np.int64) + 128].astype(np.int8)


def island_table(graph: Graph, ops: list[Op]) -> np.ndarray:
    """int8 table of `ops` = [DEQUANTIZE, float op, ..., QUANTIZE] of `graph`: each op run by the reference
    executor on a [256] copy of its tensors, fed with every int8 value."""
    from mcucompress.reference import executor  # the executor's registry refers back to this module

    mini = Graph(name="island")
    for op in ops:
        for name in (*op.inputs, *op.outputs):
            t = graph.t(name)
            mini.tensors[name] = Tensor(name, (256,), t.dtype, t.quant)
    mini.ops = [Op(op.kind, list(op.inputs), list(op.outputs), op.attrs, op.name) for op in ops]
    mini.inputs, mini.outputs = [ops[0].inputs[0]], [ops[-1].outputs[0]]
    with np.errstate(all="ignore"):  # LOG/SQRT of negatives, EXP overflow: NaN/inf as in TFLM, then clamped
        return executor.run(mini, [INT8_VALUES])[0].astype(np.int8)
