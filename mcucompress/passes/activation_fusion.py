"""Activation fusion: RELU / RELU6 / RELU_N1_TO_1 after an op with a fused-activation slot becomes that slot.

This is how the IR (like TFLite) expresses Conv+ReLU: the producing op clamps its own output. In an
int8 graph the fusion is exact only when the activation keeps the quantization, so other cases stay.
RELU_N1_TO_1 has no standalone kernel: importers emit it only as a candidate for this fusion.
"""

from __future__ import annotations

from mcucompress.ir import Graph, Op
from mcucompress.passes.util import remove_op, sole_consumer

ACTIVATION_KINDS = ("RELU", "RELU6", "RELU_N1_TO_1")
FUSES_INTO = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "AVERAGE_POOL_2D",
              "MAX_POOL_2D", "CONCATENATION", "TRANSPOSE_CONV")


def rewrite(graph: Graph, op: Op) -> bool:
    if op.kind not in FUSES_INTO or op.attrs.activation != "NONE":
        return False
    out = graph.t(op.outputs[0])
    act = sole_consumer(graph, out.name)
    if act is None or act.kind not in ACTIVATION_KINDS:
        return False
    result = graph.t(act.outputs[0])
    if out.dtype == "int8" and (out.quant != result.quant or op.kind == "CONCATENATION"):
        return False  # TFLM's int8 CONCATENATION takes no fused activation
    op.attrs.activation = act.kind
    op.outputs = [result.name]
    remove_op(graph, act)
    return True
