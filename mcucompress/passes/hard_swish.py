"""HardSwish pattern: MUL(x, HARD_SIGMOID(x)) with alpha 1/6 and beta 1/2 becomes HARD_SWISH(x).

PyTorch exports hardswish this way below ONNX opset 14. HARD_SIGMOID is an import-time kind (not an
IR op with a kernel); one left after the passes is rejected by the importer. In an int8 graph the
rewrite drops the rounding of HardSigmoid's own int8 output: one rounding fewer than the QDQ model.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcucompress.ir import Graph, Op
from mcucompress.ir import ops as irops
from mcucompress.passes.util import remove_op, sole_consumer

HARD_SIGMOID = "HARD_SIGMOID"


@dataclass
class HardSigmoidAttrs:
    """y = max(0, min(1, alpha * x + beta))."""

    alpha: float = 0.2
    beta: float = 0.5


def rewrite(graph: Graph, op: Op) -> bool:
    if op.kind != HARD_SIGMOID or abs(op.attrs.alpha - 1 / 6) > 1e-6 or abs(op.attrs.beta - 0.5) > 1e-6:
        return False
    mul = sole_consumer(graph, op.outputs[0])
    if mul is None or mul.kind != "MUL" or mul.attrs.activation != "NONE" or op.inputs[0] not in mul.inputs:
        return False
    if graph.t(op.inputs[0]).shape != graph.t(mul.outputs[0]).shape:
        return False
    mul.kind, mul.inputs, mul.attrs = "HARD_SWISH", [op.inputs[0]], irops.NoAttrs()
    remove_op(graph, op)
    return True
