"""BatchNorm folding: a per-channel MUL or ADD/SUB by a constant after CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED or TRANSPOSE_CONV moves into that op's weights and bias.

Importers express an inference BatchNorm as MUL(scale) then ADD(shift); this rewrite folds them one at
a time (a MatMul's bias ADD too). Float32 only, the weighted op must have no fused activation and its
output no other reader; otherwise (e.g. a BN after a conv whose output is also used elsewhere) the
MUL/ADD stay as ordinary ops.
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op, Tensor
from mcucompress.passes.util import channel_vector, remove_op, sole_consumer, unique_name

WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV")  # output channels: weight axis 0 but DW
FOLDABLE = ("MUL", "ADD", "SUB")


def _scaled_weights(kind: str, w: np.ndarray, s: np.ndarray) -> np.ndarray:
    if kind == "DEPTHWISE_CONV_2D":
        return w * s  # [1, kh, kw, C*M]: output channels are the last axis
    return w * s.reshape((-1,) + (1,) * (w.ndim - 1))  # [O, ...]


def rewrite(graph: Graph, op: Op) -> bool:
    if op.kind not in WEIGHTED or op.attrs.activation != "NONE":
        return False
    out = graph.t(op.outputs[0])
    nxt = sole_consumer(graph, out.name)
    if out.dtype != "float32" or nxt is None or nxt.kind not in FOLDABLE:
        return False
    other = nxt.inputs[1] if nxt.inputs[0] == out.name else nxt.inputs[0]
    if nxt.kind == "SUB" and nxt.inputs[0] != out.name:
        return False  # c - conv(x) is not a bias
    channels = out.shape[-1]
    vec = channel_vector(graph, other, len(out.shape), channels)
    if vec is None or graph.t(nxt.outputs[0]).shape != out.shape:
        return False
    w = graph.t(op.inputs[1])
    bias = graph.t(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] else np.zeros(channels, np.float32)
    weights = w.data
    if nxt.kind == "MUL":
        weights, bias = _scaled_weights(op.kind, w.data, vec), bias * vec
    else:
        bias = bias + vec if nxt.kind == "ADD" else bias - vec
    # New tensors: the old weights may be shared with another op.
    w_name = unique_name(graph, f"{w.name}_folded") if nxt.kind == "MUL" else w.name
    graph.add_tensor(Tensor(w_name, w.shape, "float32", None, weights.astype(np.float32)))
    b_name = unique_name(graph, f"{op.name or out.name}_bias_folded")
    graph.add_tensor(Tensor(b_name, (channels,), "float32", None, bias.astype(np.float32)))
    op.inputs = [op.inputs[0], w_name, b_name]
    op.outputs = list(nxt.outputs)
    op.attrs.activation = nxt.attrs.activation
    remove_op(graph, nxt)
    return True
