"""UNIDIRECTIONAL_SEQUENCE_LSTM and SVDF: TFLM's integer arithmetic (int8 in/out, int16 cell state or SVDF
state) and float32.

Both ops read and rewrite their state tensors (TFLite variable tensors): the executor hands the state
arrays in and these functions update them in place, so two calls with the same arrays are TFLM's two
consecutive invokes. Batch rows never mix, so the LSTM runs all rows of a time step at once whether the
model is batch-major or time-major (TFLM loops batch by batch in the first case; the results are equal).
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint import sigmoid16
from mcucompress.fixedpoint.arith import multiply_by_quantized_multiplier, wrap_int32
from mcucompress.fixedpoint.params_recurrent import LSTM_CELL_STATE, LSTM_HIDDEN_STATE, lstm_params, svdf_params
from mcucompress.ir import Graph, Op

# TFLite's 256-entry table of sigmoid(i / 24) in unsigned 0.16 fixed point, shared by its int16 sigmoid and
# tanh (tanh(x) = 2 sigmoid(2x) - 1); the C kernel receives the same array from the lowering.
SIGMOID_TABLE_U16 = sigmoid16.TABLE.astype(np.int64)


def _sat16(x) -> np.ndarray:
    return np.clip(x, -32768, 32767)


def _table(abs_x: np.ndarray, step_bits: int) -> np.ndarray:
    """Interpolated table value << step_bits for |x| (saturating entries beyond the table are the caller's)."""
    uh = np.minimum(abs_x >> step_bits, 254)
    ua, ub = SIGMOID_TABLE_U16[uh], SIGMOID_TABLE_U16[uh + 1]
    return (ua << step_bits) + (abs_x & ((1 << step_bits) - 1)) * (ub - ua)


def sigmoid_s16(x: np.ndarray) -> np.ndarray:
    """reference_integer_ops::Logistic on Q3.12 int16 with multiplier 0 (x3 then a 9-bit table step) -> Q0.15."""
    v = x.astype(np.int64) * 3
    a = np.abs(v)
    r = np.where((a >> 9) >= 255, 0x7FFF << 10, _table(a, 9))
    r = np.where(v >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1)
    return (r >> 10).astype(np.int16)


def tanh_s16(x: np.ndarray, scale_power: int) -> np.ndarray:
    """TFLM's lstm Tanh: reference_integer_ops::Tanh of int16 at scale 2^scale_power -> Q0.15."""
    shift = 15 + scale_power - 3
    if shift >= 0:
        mult, shift = 3 << shift, 0
    else:
        mult, shift = 3, -shift
    rnd = (1 << (shift - 1)) if shift > 0 else 0
    v = (x.astype(np.int64) * mult + rnd) >> shift
    a = np.abs(v)
    r = np.where((a >> 8) >= 255, 0xFFFF << 8, _table(a, 8))
    r = np.where(v >= 0, r - (1 << 23) + (1 << 7), -r + (1 << 23) + (1 << 7) - 1)
    return (r >> 8).astype(np.int16)


def _gate_product(x: np.ndarray, offset: int, w: np.ndarray, mult: int, shift: int, bias=None) -> np.ndarray:
    """One int8 x int8 matrix product of a gate, rescaled to Q3.12 int16 (FullyConnected to int16)."""
    acc = (x.astype(np.int64) + offset) @ w.astype(np.int64).T
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    return _sat16(multiply_by_quantized_multiplier(wrap_int32(acc), mult, shift))


def _mul(a: np.ndarray, b: np.ndarray, mult: int, shift: int, offset: int, lo: int, hi: int) -> np.ndarray:
    prod = a.astype(np.int64) * b.astype(np.int64)
    return np.clip(multiply_by_quantized_multiplier(prod, mult, shift) + offset, lo, hi)


def _time_steps(x: np.ndarray, time_major: bool) -> np.ndarray:
    """The input as [time, batch, features]."""
    return x if time_major else np.swapaxes(x, 0, 1)


def lstm_s8(x, wi, wr, b, h, c, p, time_major: bool) -> np.ndarray:
    """x int8 [B,T,I] or [T,B,I]; wi/wr/b: per gate (input, forget, cell, output); h int8 and c int16 [B,S]
    are updated in place. Returns the int8 output, shaped as x with S features."""
    xs = _time_steps(x, time_major)
    hs, cs = h.reshape(xs.shape[1], -1), c.reshape(xs.shape[1], -1)
    ys = np.empty(xs.shape[:2] + (hs.shape[1],), np.int8)

    def gate(k: int, xt: np.ndarray) -> np.ndarray:
        g = p.gates[k]
        a = _gate_product(xt, p.input_offset, wi[k], g.input_multiplier, g.input_shift, b[k])
        r = _gate_product(hs, p.hidden_offset, wr[k], g.recurrent_multiplier, g.recurrent_shift)
        s = _sat16(a + r)
        return tanh_s16(s, -12) if k == 2 else sigmoid_s16(s)

    for t in range(xs.shape[0]):
        f, i, g = gate(1, xs[t]), gate(0, xs[t]), gate(2, xs[t])
        kept = _mul(f, cs, p.forget_multiplier, p.forget_shift, 0, -32768, 32767)
        added = _mul(i, g, p.input_multiplier, p.input_shift, 0, -32768, 32767)
        new_c = _sat16(kept + added)
        if p.cell_clip > 0:
            new_c = np.clip(new_c, -p.cell_clip, p.cell_clip)
        cs[...] = new_c
        o = gate(3, xs[t])
        hs[...] = _mul(tanh_s16(cs, p.cell_scale_power), o, p.output_multiplier, p.output_shift,
                       p.output_zero_point, -128, 127)
        ys[t] = hs
    return _time_steps(ys, time_major)


def _sigmoid_f32(v: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-v.astype(np.float64)))).astype(np.float32)


def lstm_f32(x, wi, wr, b, h, c, attrs, cell_peak: list | None = None) -> np.ndarray:
    """Float32 LSTM (no peephole, projection or layer norm); h and c [B,S] are updated in place.
    cell_peak: a one-element list raised to the largest |cell state| of any step (calibration)."""
    xs = _time_steps(x.astype(np.float32), attrs.time_major)
    hs, cs = h.reshape(xs.shape[1], -1), c.reshape(xs.shape[1], -1)
    ys = np.empty(xs.shape[:2] + (hs.shape[1],), np.float32)
    for t in range(xs.shape[0]):
        pre = [xs[t] @ wi[k].T + b[k] + hs @ wr[k].T for k in range(4)]
        i, f, o = _sigmoid_f32(pre[0]), _sigmoid_f32(pre[1]), _sigmoid_f32(pre[3])
        new_c = f * cs + i * np.tanh(pre[2])
        if attrs.cell_clip > 0:
            new_c = np.clip(new_c, -attrs.cell_clip, attrs.cell_clip)
        cs[...] = new_c
        if cell_peak is not None and cs.size:
            cell_peak[0] = max(cell_peak[0], float(np.abs(cs).max()))
        hs[...] = o * np.tanh(cs)
        ys[t] = hs
    return _time_steps(ys, attrs.time_major)


def lstm(graph: Graph, op: Op, xs: list) -> np.ndarray:
    """Registry entry: xs are the present operands in TFLite order (input, 4 + 4 weights, 4 biases, h, c)."""
    x, wi, wr, b, h, c = xs[0], xs[1:5], xs[5:9], xs[9:13], xs[13], xs[14]
    rows, units = x.shape[1] if op.attrs.time_major else x.shape[0], graph.t(op.outputs[0]).shape[-1]
    if h.size != rows * units:  # samples stacked beyond the model's batch (calibration): each from the reset state
        from mcucompress.reference.executor import state_reset_value

        h, c = (np.full((rows, units), state_reset_value(graph.t(op.inputs[i])), graph.t(op.inputs[i]).dtype)
                for i in (LSTM_HIDDEN_STATE, LSTM_CELL_STATE))
    if graph.t(op.outputs[0]).dtype == "int8":
        return lstm_s8(x, wi, wr, b, h, c, lstm_params(graph, op), op.attrs.time_major)
    return lstm_f32(x, wi, wr, b, h, c, op.attrs)


def _svdf_shift_and_feature(state: np.ndarray, features: np.ndarray, memory: int) -> np.ndarray:
    """Move every filter's memory one step to the left and write the newest features at its end; [B, F, M]."""
    s = state.reshape(state.shape[0], -1, memory)
    s[:, :, :-1] = s[:, :, 1:].copy()
    s[:, :, -1] = features
    return s


def svdf_s8(x, wf, wt, bias, state, rank: int, p) -> np.ndarray:
    """x int8 [B,I], wf int8 [F,I], wt int8/int16 [F,M], bias int32 [U], state [B, F*M] (wt's dtype, updated)."""
    lo, hi = np.iinfo(state.dtype).min, np.iinfo(state.dtype).max
    dot = (x.astype(np.int64) - p.input_zero_point) @ wf.astype(np.int64).T
    feat = np.clip(multiply_by_quantized_multiplier(wrap_int32(dot), p.feature_multiplier, p.feature_shift), lo, hi)
    s = _svdf_shift_and_feature(state, (feat + p.state_zero_point).astype(state.dtype), wt.shape[1])
    per_filter = wrap_int32(np.einsum("bfm,fm->bf", s.astype(np.int64) - p.state_zero_point, wt.astype(np.int64)))
    acc = wrap_int32(per_filter.reshape(x.shape[0], -1, rank).sum(axis=2) + bias.astype(np.int64))
    y = multiply_by_quantized_multiplier(acc, p.time_multiplier, p.time_shift) + p.output_zero_point
    return np.clip(y, -128, 127).astype(np.int8)


FLOAT_ACTIVATIONS = {"NONE": (-np.inf, np.inf), "RELU": (0.0, np.inf), "RELU6": (0.0, 6.0),
                     "RELU_N1_TO_1": (-1.0, 1.0)}


def svdf_f32(x, wf, wt, bias, state, rank: int, activation: str) -> np.ndarray:
    feat = x.astype(np.float32) @ wf.astype(np.float32).T
    s = _svdf_shift_and_feature(state, feat, wt.shape[1])
    per_filter = np.einsum("bfm,fm->bf", s, wt.astype(np.float32))
    y = per_filter.reshape(x.shape[0], -1, rank).sum(axis=2) + (bias if bias is not None else 0)
    return np.clip(y, *FLOAT_ACTIVATIONS[activation]).astype(np.float32)


def svdf(graph: Graph, op: Op, xs: list) -> np.ndarray:
    """Registry entry: operands input, feature weights, time weights, bias (optional), state."""
    x, wf, wt, state = xs[0], xs[1], xs[2], xs[-1]
    bias = xs[3] if op.inputs[3] else None
    if graph.t(op.outputs[0]).dtype == "int8":
        return svdf_s8(x, wf, wt, bias, state, op.attrs.rank, svdf_params(graph, op))
    return svdf_f32(x, wf, wt, bias, state, op.attrs.rank, op.attrs.activation)
