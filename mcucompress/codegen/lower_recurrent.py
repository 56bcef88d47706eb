"""Lowering of UNIDIRECTIONAL_SEQUENCE_LSTM and SVDF to mcc_lstm_s8 / mcc_svdf_s8, and their state buffers.

State design: each variable (state) tensor of the graph becomes a static array of model.c, outside the arena
(the arena is scratch shared between invokes; the state must survive them), `<prefix>_state<k>`. The
function `<prefix>_reset_state()` sets every state to TFLM's reset value (an int8 state to its zero point,
anything else to 0); `<prefix>_invoke` calls it once before its first run, so a fresh boot equals a fresh
TFLM interpreter, and the caller calls it to start a new sequence (TFLM's ResetVariableTensors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcucompress.codegen.records import ArrayArg, CArray, CStatic, KernelCall, StructArg, TensorArg
from mcucompress.errors import UnsupportedOpError
from mcucompress.fixedpoint import sigmoid16
from mcucompress.fixedpoint.params_recurrent import (
    LSTM_BIASES,
    LSTM_CELL_STATE,
    LSTM_HIDDEN_STATE,
    LSTM_INPUT_WEIGHTS,
    LSTM_RECURRENT_WEIGHTS,
    SVDF_STATE,
    lstm_params,
    svdf_params,
)
from mcucompress.ir import Graph, Op
from mcucompress.reference.executor import state_reset_value

CTYPES = {"int8": "int8_t", "int16": "int16_t"}


@dataclass
class StateBuffer:
    """One static state array of model.c."""

    name: str  # C symbol
    tensor: str  # the IR's variable tensor
    ctype: str
    size: int  # elements
    reset: int  # value every element gets from <prefix>_reset_state()

    @property
    def nbytes(self) -> int:
        return self.size * (2 if self.ctype == "int16_t" else 1)


def state_buffers(graph: Graph, prefix: str) -> list[StateBuffer]:
    """The graph's variable tensors as static C arrays, in tensor order."""
    out = []
    for t in graph.tensors.values():
        if t.variable:
            if t.dtype not in CTYPES:
                raise UnsupportedOpError(f"state tensor '{t.name}' is {t.dtype}; the C code keeps int8 or int16 state")
            out.append(StateBuffer(f"{prefix}_state{len(out)}", t.name, CTYPES[t.dtype], t.size, state_reset_value(t)))
    return out


def _state_symbol(low, name: str) -> str:
    return next(s.name for s in state_buffers(low.graph, low.prefix) if s.tensor == name)


def lstm_scratch(graph: Graph, op: Op) -> int:
    """mcc_lstm_s8_get_buffer_size: three int16 gate rows and the step's input and hidden rows as int16."""
    return (4 * graph.t(op.outputs[0]).shape[-1] + graph.t(op.inputs[0]).shape[2]) * 2


def _quant(m: int, s: int) -> str:
    return f"{{{m}, {s}}}"


def lower_lstm(low, index: int, op: Op) -> KernelCall:
    g = low.graph
    x, out = g.t(op.inputs[0]), g.t(op.outputs[0])
    p = lstm_params(g, op)
    time_major = op.attrs.time_major
    batches = x.shape[1] if time_major else x.shape[0]
    steps = x.shape[0] if time_major else x.shape[1]
    units = out.shape[-1]
    wi = CArray(low.sym(index, "input_weights"), "int8_t",
                np.concatenate([g.t(op.inputs[i]).data.reshape(-1) for i in LSTM_INPUT_WEIGHTS]).astype(np.int64),
                "input weights [4][units][input] (input, forget, cell, output)")
    wr = CArray(low.sym(index, "recurrent_weights"), "int8_t",
                np.concatenate([g.t(op.inputs[i]).data.reshape(-1) for i in LSTM_RECURRENT_WEIGHTS]).astype(np.int64),
                "recurrent weights [4][units][units]")
    bias = CArray(low.sym(index, "bias"), "int32_t",
                  np.concatenate([g.t(op.inputs[i]).data.reshape(-1) for i in LSTM_BIASES]).astype(np.int64))
    table = CArray(low.sym(index, "sigmoid"), "uint16_t", sigmoid16.TABLE, "sigmoid(i / 24), 0.16 fixed point")
    params = CStatic("mcc_lstm_params", low.sym(index, "params"), [
        ("batches", str(batches)), ("time_steps", str(steps)), ("input_size", str(x.shape[2])),
        ("units", str(units)), ("time_major", str(int(time_major))),
        ("input_offset", str(p.input_offset)), ("hidden_offset", str(p.hidden_offset)),
        ("input_quant", "{" + ", ".join(_quant(q.input_multiplier, q.input_shift) for q in p.gates) + "}"),
        ("recurrent_quant", "{" + ", ".join(_quant(q.recurrent_multiplier, q.recurrent_shift) for q in p.gates) + "}"),
        ("forget_quant", _quant(p.forget_multiplier, p.forget_shift)),
        ("input_gate_quant", _quant(p.input_multiplier, p.input_shift)),
        ("output_quant", _quant(p.output_multiplier, p.output_shift)),
        ("output_zero_point", str(p.output_zero_point)), ("cell_scale_power", str(p.cell_scale_power)),
        ("cell_clip", str(p.cell_clip)), ("sigmoid_table", table.name),
    ])
    ctx = low.scratch_ctx(index)
    hidden, cell = op.inputs[LSTM_HIDDEN_STATE], op.inputs[LSTM_CELL_STATE]
    args = [StructArg(ctx), StructArg(params), low.tensor(op.inputs[0]), ArrayArg(wi), ArrayArg(wr), ArrayArg(bias),
            TensorArg(hidden, _state_symbol(low, hidden)), TensorArg(cell, _state_symbol(low, cell)),
            low.tensor(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_lstm_s8", args, statics=[ctx, params],
                      arrays=[wi, wr, bias, table])


def lower_svdf(low, index: int, op: Op) -> KernelCall:
    g = low.graph
    x, wf, wt = (g.t(op.inputs[i]) for i in (0, 1, 2))
    p = svdf_params(g, op)
    feature = CArray(low.sym(index, "feature_weights"), "int8_t", wf.data.reshape(-1).astype(np.int64), wf.name)
    time = CArray(low.sym(index, "time_weights"), CTYPES[wt.dtype], wt.data.reshape(-1).astype(np.int64), wt.name)
    bias = CArray(low.sym(index, "bias"), "int32_t", g.t(op.inputs[3]).data.reshape(-1).astype(np.int64))
    params = CStatic("mcc_svdf_params", low.sym(index, "params"), [
        ("batches", str(x.shape[0])), ("input_size", str(x.shape[1])), ("filters", str(wt.shape[0])),
        ("memory", str(wt.shape[1])), ("rank", str(op.attrs.rank)), ("input_offset", str(-p.input_zero_point)),
        ("state_zero_point", str(p.state_zero_point)), ("output_zero_point", str(p.output_zero_point)),
        ("feature_quant", _quant(p.feature_multiplier, p.feature_shift)),
        ("time_quant", _quant(p.time_multiplier, p.time_shift)),
        ("state_bits", "16" if wt.dtype == "int16" else "8"),
    ])
    state = op.inputs[SVDF_STATE]
    args = [StructArg(params), low.tensor(op.inputs[0]), ArrayArg(feature), ArrayArg(time), ArrayArg(bias),
            TensorArg(state, _state_symbol(low, state)), low.tensor(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_svdf_s8", args, statics=[params], arrays=[feature, time, bias])
