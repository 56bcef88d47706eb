"""Verifier shape rules of UNIDIRECTIONAL_SEQUENCE_LSTM and SVDF (registered in mcucompress.ir.consistency).

Both ops carry TFLite's operand lists ("" for an absent optional operand) and read variable state tensors.
The LSTM variants TFLM does not run (peephole, projection, layer norm, coupled input-forget gate) are refused
here, for float and int8 alike, in one line naming the op.
"""

from __future__ import annotations

from mcucompress.errors import GraphError, UnsupportedOpError
from mcucompress.fixedpoint.params_recurrent import (
    LSTM_ABSENT,
    LSTM_BIASES,
    LSTM_CELL_STATE,
    LSTM_HIDDEN_STATE,
    LSTM_INPUT_WEIGHTS,
    LSTM_RECURRENT_WEIGHTS,
    SVDF_STATE,
)

FIX = "the model file is inconsistent; re-export it"
LSTM_VARIANTS = {9: "peephole", 10: "peephole", 11: "peephole", 16: "projection", 17: "projection",
                 20: "layer normalization", 21: "layer normalization", 22: "layer normalization",
                 23: "layer normalization"}


def lstm_variant_problem(op) -> str | None:
    """Why this LSTM is a variant we do not run (one line), or None for the standard LSTM."""
    where = f"op '{op.name}' (UNIDIRECTIONAL_SEQUENCE_LSTM)"
    if len(op.inputs) != 24:
        return f"{where}: has {len(op.inputs)} operands; only the 24-operand LSTM is supported"
    for i in LSTM_ABSENT:
        if op.inputs[i]:
            return f"{where}: uses {LSTM_VARIANTS[i]}; only the standard LSTM (no peephole, projection or layer norm) is supported"
    if not all(op.inputs[i] for i in (*LSTM_INPUT_WEIGHTS, *LSTM_RECURRENT_WEIGHTS, *LSTM_BIASES)):
        return f"{where}: has no input gate (CIFG) or lacks a bias; only the LSTM with all four gates and biases is supported"
    if op.attrs.cell_activation != "TANH":
        return f"{where}: cell activation {op.attrs.cell_activation}; only TANH is supported"
    if op.attrs.proj_clip:
        return f"{where}: has a projection clip without a projection; re-export it without"
    return None


def _shape(where: str, t, shape: tuple[int, ...], what: str) -> None:
    if tuple(t.shape) != tuple(shape):
        raise GraphError(f"{where}: {what} '{t.name}' has shape {list(t.shape)}; expected {list(shape)}; {FIX}")


def _state(where: str, t, size: int, dtype: str, what: str) -> None:
    if t is None or not t.variable:
        raise GraphError(f"{where}: {what} must be a variable (state) tensor; {FIX}")
    if t.size != size or t.dtype != dtype:
        raise GraphError(f"{where}: {what} '{t.name}' is {t.dtype} {list(t.shape)}; expected {size} values of {dtype}; {FIX}")


def lstm_shape(where: str, op, ins, out):
    problem = lstm_variant_problem(op)
    if problem:
        raise UnsupportedOpError(problem)
    x = ins[0]
    if len(x.shape) != 3:
        raise GraphError(f"{where}: input '{x.name}' has shape {list(x.shape)}; it must be [batch, time, features]; {FIX}")
    batch = x.shape[1] if op.attrs.time_major else x.shape[0]
    features = x.shape[2]
    units = ins[LSTM_INPUT_WEIGHTS[0]].shape[0] if ins[LSTM_INPUT_WEIGHTS[0]].shape else 0
    quantized = out.dtype == "int8"
    for i in LSTM_INPUT_WEIGHTS:
        _shape(where, ins[i], (units, features), "input weights")
    for i in LSTM_RECURRENT_WEIGHTS:
        _shape(where, ins[i], (units, units), "recurrent weights")
    for i in LSTM_BIASES:
        _shape(where, ins[i], (units,), "bias")
        if ins[i].dtype != ("int32" if quantized else "float32") or not ins[i].is_const:
            raise GraphError(f"{where}: bias '{ins[i].name}' must be a constant {'int32' if quantized else 'float32'} "
                             f"tensor; {FIX}")
    for i in (*LSTM_INPUT_WEIGHTS, *LSTM_RECURRENT_WEIGHTS):
        if not ins[i].is_const or ins[i].dtype != out.dtype:
            raise GraphError(f"{where}: weights '{ins[i].name}' must be constant {out.dtype}; {FIX}")
    _state(where, ins[LSTM_HIDDEN_STATE], batch * units, out.dtype, "hidden state (operand 18)")
    _state(where, ins[LSTM_CELL_STATE], batch * units, "int16" if quantized else "float32", "cell state (operand 19)")
    return (*x.shape[:2], units)


def svdf_shape(where: str, op, ins, out):
    if len(ins) != 5 or any(ins[i] is None for i in (1, 2, SVDF_STATE)):
        raise GraphError(f"{where}: takes input, feature weights, time weights, bias (optional) and state; {FIX}")
    x, wf, wt, bias, state = ins[0], ins[1], ins[2], ins[3], ins[SVDF_STATE]
    if len(x.shape) != 2 or len(wf.shape) != 2 or len(wt.shape) != 2:
        raise GraphError(f"{where}: input, feature and time weights must be 2-D; {FIX}")
    batch, features = x.shape
    filters, memory = wt.shape
    rank = op.attrs.rank
    if not isinstance(rank, int) or rank < 1 or filters % rank:
        raise GraphError(f"{where}: rank {rank} does not divide the {filters} filters; {FIX}")
    _shape(where, wf, (filters, features), "feature weights")
    units = filters // rank
    quantized = out.dtype == "int8"
    if not wf.is_const or not wt.is_const:
        raise GraphError(f"{where}: the feature and time weights must be constant; {FIX}")
    if bias is not None:
        _shape(where, bias, (units,), "bias")
    state_dtype = wt.dtype if quantized else "float32"
    _state(where, state, batch * filters * memory, state_dtype, "state (operand 4)")
    return batch, units
