"""What TFLM's int8 UNIDIRECTIONAL_SEQUENCE_LSTM and SVDF kernels accept (docstrings are the user-facing rules)."""

from __future__ import annotations

import math

import numpy as np

from mcucompress.errors import UnsupportedOpError
from mcucompress.fixedpoint.params_recurrent import (
    LSTM_BIASES,
    LSTM_CELL_STATE,
    LSTM_HIDDEN_STATE,
    LSTM_INPUT_WEIGHTS,
    LSTM_RECURRENT_WEIGHTS,
    SVDF_STATE,
)
from mcucompress.ir.graph import Graph
from mcucompress.ir.ops import Op


def _where(op: Op) -> str:
    return f"op '{op.name}' ({op.kind})"


def _per_tensor_symmetric(graph: Graph, op: Op, name: str, dtypes: tuple[str, ...]) -> None:
    w = graph.t(name)
    if w.dtype not in dtypes or w.quant is None or w.quant.per_axis or w.quant.zp != 0:
        raise UnsupportedOpError(f"{_where(op)}: weights '{name}' must be {' or '.join(dtypes)} quantized per tensor "
                                 "with zero point 0; re-quantize them")


def check_lstm(graph: Graph, op: Op) -> None:
    """UNIDIRECTIONAL_SEQUENCE_LSTM int8 (TFLM's integer kernel): int8 input, batch-major or time-major.
    All four gates with int8 weights per tensor (zero point 0) and int32 biases; no peephole, projection, layer norm.
    Hidden state: int8 variable tensor [batch, units]; the output has its scale and zero point (it is a copy).
    Cell state: int16 variable tensor, zero point 0, scale a power of two (at most 8); cell gate activation TANH.
    """
    x, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    h, c = graph.t(op.inputs[LSTM_HIDDEN_STATE]), graph.t(op.inputs[LSTM_CELL_STATE])
    if x.dtype != "int8" or h.dtype != "int8" or c.dtype != "int16":
        raise UnsupportedOpError(f"{_where(op)}: needs int8 input and hidden state and an int16 cell state "
                                 f"(has {x.dtype}, {h.dtype}, {c.dtype}); 16-bit activations are not supported")
    for i in (*LSTM_INPUT_WEIGHTS, *LSTM_RECURRENT_WEIGHTS):
        _per_tensor_symmetric(graph, op, op.inputs[i], ("int8",))
    for i in LSTM_BIASES:
        if graph.t(op.inputs[i]).dtype != "int32":
            raise UnsupportedOpError(f"{_where(op)}: bias '{op.inputs[i]}' must be int32")
    if out.quant is None or h.quant is None or out.quant.s != h.quant.s or out.quant.zp != h.quant.zp:
        raise UnsupportedOpError(f"{_where(op)}: output '{out.name}' must have the hidden state's scale and zero point "
                                 "(TFLM copies the hidden state to the output); re-quantize the model")
    power = math.log2(float(np.float32(c.quant.s))) if c.quant is not None and c.quant.s > 0 else 0.5
    if c.quant is None or c.quant.zp != 0 or power != round(power) or power > 3:
        raise UnsupportedOpError(f"{_where(op)}: cell state '{c.name}' must have zero point 0 and a power-of-two scale "
                                 "of at most 8 (TFLM's int16 tanh overflows beyond)")


def check_svdf(graph: Graph, op: Op) -> None:
    """SVDF int8: int8 input [batch, input size] and output [batch, units]; int8 feature weights [filters, input size].
    Time weights [filters, memory] and the state variable [batch, filters x memory]: both int16 or both int8.
    Bias: int32 [units] (required), scale = state scale x time weights scale; filters = units x rank.
    The fused activation is not applied in int8 (as TFLM).
    """
    x, wf, wt = (graph.t(op.inputs[i]) for i in (0, 1, 2))
    st = graph.t(op.inputs[SVDF_STATE])
    if x.dtype != "int8" or wf.dtype != "int8":
        raise UnsupportedOpError(f"{_where(op)}: input and feature weights must be int8 (are {x.dtype}, {wf.dtype})")
    if wt.dtype not in ("int8", "int16") or st.dtype != wt.dtype:
        raise UnsupportedOpError(f"{_where(op)}: time weights and state must both be int16 or both int8 "
                                 f"(are {wt.dtype}, {st.dtype})")
    for t in (x, wf, wt, st, graph.t(op.outputs[0])):
        if t.quant is None or t.quant.per_axis:
            raise UnsupportedOpError(f"{_where(op)}: '{t.name}' must be quantized per tensor")
    if not op.inputs[3] or graph.t(op.inputs[3]).dtype != "int32":
        raise UnsupportedOpError(f"{_where(op)}: needs an int32 bias (TFLM's int8 SVDF requires one)")
    b = graph.t(op.inputs[3])
    expected = float(np.float32(st.quant.s) * np.float32(wt.quant.s))
    if b.quant is None or abs(float(b.quant.s) - expected) >= 1e-5:
        raise UnsupportedOpError(f"{_where(op)}: bias '{b.name}' scale must be state scale x time weights scale "
                                 f"({expected:g})")


def refuse_quantizing(graph: Graph) -> None:
    """What our post-training quantizer does not quantize: SVDF, and the time-major LSTM (calibration
    samples are stacked along the first axis, which is time there): one line naming the op."""
    for op in graph.ops:
        if graph.t(op.outputs[0]).dtype != "float32":
            continue
        if op.kind == "SVDF" or (op.kind == "UNIDIRECTIONAL_SEQUENCE_LSTM" and op.attrs.time_major):
            what = "SVDF" if op.kind == "SVDF" else "time-major LSTMs"
            raise UnsupportedOpError(f"{_where(op)}: quantizing {what} is not supported; convert the model to "
                                     "int8 with the TFLite converter and compile that")
