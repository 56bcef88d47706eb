"""Post-training quantization of UNIDIRECTIONAL_SEQUENCE_LSTM to TFLM's integer LSTM layout.

Calibration runs the float LSTM on each batch of samples (each sample from the reset state) and records
the largest |cell state| over every time step (`track`); the hidden state shares the output's range (TFLM
copies it to the output). Quantization then gives: the hidden state the output's int8 quantization; the
cell state int16, zero point 0, the smallest power-of-two scale whose range covers the calibrated cell
values (what TFLM's integer tanh needs); the eight weight matrices int8 per tensor, symmetric; the biases
int32 at input scale x input-weights scale. SVDF and time-major LSTMs are not quantized (refused in one line
by mcucompress.ir.constraints_recurrent.refuse_quantizing).
"""

from __future__ import annotations

import math

import numpy as np

from mcucompress.fixedpoint.params_recurrent import (
    LSTM_BIASES,
    LSTM_CELL_STATE,
    LSTM_HIDDEN_STATE,
    LSTM_INPUT_WEIGHTS,
    LSTM_RECURRENT_WEIGHTS,
)
from mcucompress.ir import Graph, Op, QuantParams

KIND = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def _float_lstms(graph: Graph) -> list[Op]:
    return [op for op in graph.ops if op.kind == KIND and graph.t(op.outputs[0]).dtype == "float32"]


def track(graph: Graph, values: dict, cell_max: dict[str, float]) -> None:
    """Update cell_max[cell state name] with the largest |cell state| of one calibration batch."""
    from mcucompress.reference.recurrent import lstm_f32

    for op in _float_lstms(graph):
        units = graph.t(op.outputs[0]).shape[-1]
        x = values[op.inputs[0]]
        ins = [values[n] if n else None for n in op.inputs]
        peak = [0.0]
        zeros = np.zeros((x.shape[0], units), np.float32)
        lstm_f32(x, [ins[i] for i in LSTM_INPUT_WEIGHTS], [ins[i] for i in LSTM_RECURRENT_WEIGHTS],
                 [ins[i] for i in LSTM_BIASES], zeros.copy(), zeros.copy(), op.attrs, peak)
        name = op.inputs[LSTM_CELL_STATE]
        cell_max[name] = max(cell_max.get(name, 0.0), peak[0])


def ranges(graph: Graph, found: dict, cell_max: dict[str, float]) -> None:
    """Calibrated ranges of the LSTM state tensors: the cell's tracked peak, the hidden state's = the output's."""
    for op in _float_lstms(graph):
        m = cell_max.get(op.inputs[LSTM_CELL_STATE], 0.0)
        found[op.inputs[LSTM_CELL_STATE]] = (-m, m)
        found[op.inputs[LSTM_HIDDEN_STATE]] = found[op.outputs[0]]


def quantize_lstm(q: Graph, op: Op, found: dict) -> None:
    """The LSTM's states, weights and biases (its input and output are quantized as any activation);
    `found`: the calibrated ranges (ranges() put the cell state's peak there)."""
    x, y = q.t(op.inputs[0]), q.t(op.outputs[0])
    h, c = q.t(op.inputs[LSTM_HIDDEN_STATE]), q.t(op.inputs[LSTM_CELL_STATE])
    h.quant, h.dtype = QuantParams(y.quant.scale.copy(), y.quant.zero_point.copy()), "int8"
    m = max(float(found[c.name][1]), 1e-6)
    power = min(3, math.ceil(math.log2(m / 32767.0)))
    c.quant, c.dtype = QuantParams(np.array([2.0**power], np.float32), np.array([0])), "int16"
    for wi_index, wr_index, b_index in zip(LSTM_INPUT_WEIGHTS, LSTM_RECURRENT_WEIGHTS, LSTM_BIASES):
        for index in (wi_index, wr_index):
            w = q.t(op.inputs[index])
            amax = float(np.abs(w.data).max())
            scale = np.float32(amax / 127.0 if amax > 0 else 1.0)
            w.data = np.clip(np.round(w.data / scale), -127, 127).astype(np.int8)
            w.quant, w.dtype = QuantParams(np.array([scale]), np.array([0])), "int8"
        b = q.t(op.inputs[b_index])
        bias_scale = np.float32(np.float32(x.quant.s) * q.t(op.inputs[wi_index]).quant.scale[0])
        b.data = np.clip(np.round(b.data.astype(np.float64) / float(bias_scale)), -(2**31), 2**31 - 1).astype(np.int32)
        b.quant, b.dtype = QuantParams(np.array([bias_scale]), np.array([0])), "int32"
