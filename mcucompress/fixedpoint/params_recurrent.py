"""Integer parameters of the recurrent ops (UNIDIRECTIONAL_SEQUENCE_LSTM, SVDF), derived as TFLM's Prepare() does.

LSTM (TFLM's integer lstm_eval, int8 activations and weights, int16 cell state): every gate's two matrix
products land in int16 at the fixed scale 2^-12 (Q3.12, the sigmoid/tanh input), gate outputs are int16 at
2^-15 (Q0.15), the cell state is int16 at a power-of-two scale, the hidden state (= the output) int8 at the
hidden-state tensor's scale and zero point. SVDF: two rescalings computed in float32, as TFLM does.
The reference executor and the C code generator both read these records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mcucompress.fixedpoint.scaling import quantize_multiplier
from mcucompress.ir import Graph, Op

F32 = np.float32
GATE_INPUT_SCALE = 2.0**-12  # Q3.12: the int16 sum of the two products entering sigmoid/tanh
GATE_OUTPUT_SCALE = 2.0**-15  # Q0.15: sigmoid/tanh outputs
GATES = ("input", "forget", "cell", "output")  # TFLite's order of the weight and bias operands

# IR operand positions of UNIDIRECTIONAL_SEQUENCE_LSTM (TFLite's 24, "" for an absent optional one).
LSTM_INPUT_WEIGHTS = (1, 2, 3, 4)
LSTM_RECURRENT_WEIGHTS = (5, 6, 7, 8)
LSTM_BIASES = (12, 13, 14, 15)
LSTM_HIDDEN_STATE, LSTM_CELL_STATE = 18, 19
LSTM_ABSENT = (9, 10, 11, 16, 17, 20, 21, 22, 23)  # peephole, projection, layer norm
SVDF_STATE = 4


@dataclass
class LstmGateParams:
    input_multiplier: int
    input_shift: int
    recurrent_multiplier: int
    recurrent_shift: int


@dataclass
class LstmParams:
    """One LSTM's integers; gates in TFLite's order (input, forget, cell, output)."""

    input_offset: int  # -input zero point
    hidden_offset: int  # -hidden state zero point (the recurrent products' input offset)
    gates: tuple[LstmGateParams, ...]
    forget_multiplier: int  # forget gate x cell state -> cell state
    forget_shift: int
    input_multiplier: int  # input gate x cell gate -> cell state
    input_shift: int
    output_multiplier: int  # tanh(cell) x output gate -> hidden state
    output_shift: int
    output_zero_point: int  # the hidden state's
    cell_scale_power: int  # cell state scale = 2^cell_scale_power
    cell_clip: int  # quantized clip of the cell state; 0: none


def _product_multiplier(s1: float, s2: float, out: float) -> tuple[int, int]:
    """TFLite's GetQuantizedConvolutionMultipler: the float32 product of the scales, divided in double."""
    return quantize_multiplier(float(F32(s1) * F32(s2)) / out)


def lstm_params(graph: Graph, op: Op) -> LstmParams:
    x = graph.t(op.inputs[0]).quant
    h = graph.t(op.inputs[LSTM_HIDDEN_STATE]).quant
    c = graph.t(op.inputs[LSTM_CELL_STATE]).quant
    gates = []
    for wi, wr in zip(LSTM_INPUT_WEIGHTS, LSTM_RECURRENT_WEIGHTS):
        im, ish = _product_multiplier(x.s, graph.t(op.inputs[wi]).quant.s, GATE_INPUT_SCALE)
        rm, rsh = _product_multiplier(h.s, graph.t(op.inputs[wr]).quant.s, GATE_INPUT_SCALE)
        gates.append(LstmGateParams(im, ish, rm, rsh))
    cs = float(F32(c.s))
    fm, fsh = quantize_multiplier(GATE_OUTPUT_SCALE * cs / cs)
    inm, insh = quantize_multiplier(GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE / cs)
    om, osh = quantize_multiplier(GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE / float(F32(h.s)))
    clip = float(F32(op.attrs.cell_clip))
    qclip = int(min(max(clip / cs, -32768.0), 32767.0)) if clip > 0 else 0  # static_cast<int16_t> truncates
    return LstmParams(-x.zp, -h.zp, tuple(gates), fm, fsh, inm, insh, om, osh, h.zp,
                      round(math.log2(cs)), qclip)


@dataclass
class SvdfParams:
    input_zero_point: int
    state_zero_point: int
    output_zero_point: int
    feature_multiplier: int  # input x feature weights -> state
    feature_shift: int
    time_multiplier: int  # state x time weights -> output
    time_shift: int


def svdf_params(graph: Graph, op: Op) -> SvdfParams:
    """TFLM's PrepareSvdf: both effective scales are float32 expressions (a * b / c), then doubles."""
    x, wf, wt, st = (graph.t(op.inputs[i]).quant for i in (0, 1, 2, SVDF_STATE))
    out = graph.t(op.outputs[0]).quant
    s1 = float(F32(F32(x.s) * F32(wf.s)) / F32(st.s))
    s2 = float(F32(F32(st.s) * F32(wt.s)) / F32(out.s))
    m1, sh1 = quantize_multiplier(s1)
    m2, sh2 = quantize_multiplier(s2)
    return SvdfParams(x.zp, st.zp, out.zp, m1, sh1, m2, sh2)
