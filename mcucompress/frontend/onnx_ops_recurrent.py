"""ONNX LSTM and GRU as PyTorch exports them (one layer, forward, batch 1, zero initial state).

LSTM becomes UNIDIRECTIONAL_SEQUENCE_LSTM (batch-major, TFLM's kernel): ONNX's gate blocks i, o, f, c are
reordered to TFLite's i, f, c, o and the two biases summed. The IR LSTM keeps its state in variable tensors
across invokes (TFLM's behaviour) while an ONNX LSTM starts every run from zero: run such a model with
state="reset" (`mcucompress run --state reset`) to get ONNX's results over several samples. Y is the op's
output, Y_h its last time step (a STRIDED_SLICE); Y_c (the cell state) is refused when used.

GRU has no TFLite builtin: it is unrolled over its time steps into FULLY_CONNECTED / ADD / SUB / MUL /
LOGISTIC / TANH (what TF's converter makes of an unrolled Keras GRU), honouring linear_before_reset as
onnxruntime computes it. Every op keeps the batch axis first, so calibration batches run through it; a
sequence-first model input [seq, 1, features] becomes the IR input [1, seq, features] (same bytes) for that.
"""

from __future__ import annotations

import numpy as np

from mcucompress.frontend.onnx_context import Importer, converter
from mcucompress.frontend.onnx_layout import Value
from mcucompress.ir import Tensor
from mcucompress.ir import ops as irops

# IR layout of ONNX's Y [seq, directions, batch, hidden]: the IR tensor is [batch, directions, seq, hidden].
Y_PERM = (2, 1, 0, 3)
SEQ_MAJOR = (1, 0, 2)  # X [seq, batch, input] held as the IR's batch-major [batch, seq, input]
LSTM_GATES = (0, 2, 3, 1)  # ONNX's block of TFLite's gate i, f, c, o (ONNX orders them i, o, f, c)


def _used(ctx: Importer, name: str) -> bool:
    if not name:
        return False
    g = ctx.model.graph
    return any(name in n.input for n in g.node) or any(o.name == name for o in g.output)


def _check_common(ctx: Importer, node, n_gates: int, activations: tuple[str, ...]) -> tuple[int, int, int]:
    """Attributes and operands both ops share; returns (sequence length, input size, hidden size)."""
    what = node.op_type
    if ctx.qdq is not None:
        ctx.fail(f"a quantized (QDQ) {what} is not supported; import the float model and quantize it with mcucompress")
    if ctx.attr("direction", "forward") != "forward":
        ctx.fail(f"direction '{ctx.attr('direction')}' is not supported; only a forward (unidirectional) {what}")
    if ctx.attr("layout", 0) != 0:
        ctx.fail("layout=1 (batch-major X) is not supported; export with layout 0 (PyTorch's default)")
    if ctx.attr("clip") is not None:
        ctx.fail(f"clip is not supported (ONNX clips the gate inputs, TFLite the cell state); export the {what} "
                 "without clip")
    acts = ctx.attr("activations")
    if acts is not None and tuple(a.lower() for a in acts) != tuple(a.lower() for a in activations):
        ctx.fail(f"activations {list(acts)} are not supported; only the default {list(activations)}")
    if ctx.attr("activation_alpha") is not None or ctx.attr("activation_beta") is not None:
        ctx.fail("activation_alpha / activation_beta are not supported; only the default activations")
    seq, batch, n_in = ctx.shape(node.input[0])
    if batch != 1:
        ctx.fail(f"batch {batch}: only batch 1 is supported (one sequence per invoke)")
    hidden = int(ctx.attr("hidden_size", 0) or ctx.shape(node.input[2])[-1])
    w, r = ctx.const(node.input[1], "W"), ctx.const(node.input[2], "R")
    if w.shape != (1, n_gates * hidden, n_in) or r.shape != (1, n_gates * hidden, hidden):
        ctx.fail(f"W {list(w.shape)} / R {list(r.shape)} do not match hidden_size {hidden} and input size {n_in}")
    if ctx.inp(4):
        lens = ctx.const(ctx.inp(4), "sequence_lens")
        if not np.all(lens == seq):
            ctx.fail(f"sequence_lens {lens.tolist()} differ from the sequence length {seq}; give full sequences")
    for i in (5, 6) if what == "LSTM" else (5,):
        if ctx.inp(i) and np.any(ctx.const(ctx.inp(i), "initial state") != 0):
            ctx.fail(f"initial state '{ctx.inp(i)}' is not zero; only an omitted or constant zero initial state "
                     "is supported")
    return seq, n_in, hidden


def _sequence_input(ctx: Importer, name: str) -> Value:
    """X [seq, 1, features] as the IR's batch-major [1, seq, features]. A sequence-first model input read here
    first becomes [1, seq, features] itself (the same bytes): samples then stack along the batch axis, as
    calibration, datasets and the harness expect."""
    v = ctx.act(name)
    t = ctx.graph.t(v.name)
    if v.plain and v.name in ctx.graph.inputs and t.shape[0] > 1 and not any(v.name in op.inputs
                                                                             for op in ctx.graph.ops):
        t.shape = (1, t.shape[0], *t.shape[2:])
        ctx.values[name] = Value(v.name, SEQ_MAJOR)
    return ctx.act_as(name, SEQ_MAJOR)


def _bias(ctx: Importer, node, n_gates: int, hidden: int) -> np.ndarray:
    """ONNX's B [1, 2 x gates x hidden] as (Wb, Rb), each [gates, hidden]; zeros when absent."""
    if not ctx.inp(3):
        return np.zeros((2, n_gates, hidden), np.float32)
    return ctx.const(node.input[3], "B").astype(np.float32).reshape(2, n_gates, hidden)


def _sequence_output(ctx: Importer, node, y_ir: str, seq: int, hidden: int) -> None:
    """ONNX's Y [seq, 1, 1, hidden] from the IR's [1, seq, hidden] (or [1, seq x hidden])."""
    y = ctx.add_act(node.output[0], Y_PERM, shape=(seq, 1, 1, hidden))
    ctx.emit("RESHAPE", [y_ir], [y.name])


@converter("LSTM")
def lstm(ctx: Importer, node) -> None:
    """LSTM -> UNIDIRECTIONAL_SEQUENCE_LSTM (zero initial state; run with state='reset' for ONNX's semantics)."""
    seq, n_in, hidden = _check_common(ctx, node, 4, ("Sigmoid", "Tanh", "Tanh"))
    if ctx.inp(7):
        ctx.fail("peepholes (P) are not supported; TFLM's integer LSTM has none")
    if ctx.attr("input_forget", 0):
        ctx.fail("input_forget=1 (coupled input and forget gates) is not supported")
    if len(node.output) > 2 and _used(ctx, node.output[2]):
        ctx.fail(f"output Y_c '{node.output[2]}' (the cell state) is used; only Y and Y_h can be imported")
    w = ctx.const(node.input[1], "W")[0].astype(np.float32).reshape(4, hidden, n_in)
    r = ctx.const(node.input[2], "R")[0].astype(np.float32).reshape(4, hidden, hidden)
    b = _bias(ctx, node, 4, hidden)
    x = _sequence_input(ctx, node.input[0])
    base = x.name
    wi = [ctx.add_const(f"{base}_lstm_w_{g}", w[k]) for g, k in zip("ifco", LSTM_GATES)]
    wr = [ctx.add_const(f"{base}_lstm_r_{g}", r[k]) for g, k in zip("ifco", LSTM_GATES)]
    bs = [ctx.add_const(f"{base}_lstm_b_{g}", b[0, k] + b[1, k]) for g, k in zip("ifco", LSTM_GATES)]
    h = ctx.graph.add_tensor(Tensor(ctx._unique(f"{base}_lstm_h"), (1, hidden), "float32", variable=True)).name
    c = ctx.graph.add_tensor(Tensor(ctx._unique(f"{base}_lstm_c"), (1, hidden), "float32", variable=True)).name
    out = ctx.tmp(f"{base}_lstm_y", (1, seq, hidden), ctx.graph.t(x.name))
    ins = [x.name, *wi, *wr, "", "", "", *bs, "", "", h, c, "", "", "", ""]
    ctx.emit("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [out], irops.LstmAttrs("TANH", 0.0, 0.0, False))
    if _used(ctx, node.output[0]):
        _sequence_output(ctx, node, out, seq, hidden)
    if len(node.output) > 1 and _used(ctx, node.output[1]):
        y_h = ctx.add_act(node.output[1], (0, 1, 2), shape=(1, 1, hidden))
        ctx.emit("STRIDED_SLICE", [out], [y_h.name],
                 irops.StridedSliceAttrs((0, seq - 1, 0), (1, seq, hidden), (1, 1, 1), 1, 1, 0))


@converter("GRU")
def gru(ctx: Importer, node) -> None:
    """GRU unrolled over its time steps (zero initial state, linear_before_reset 0 or 1)."""
    seq, n_in, hidden = _check_common(ctx, node, 3, ("Sigmoid", "Tanh"))
    before_reset = bool(ctx.attr("linear_before_reset", 0))
    w = ctx.const(node.input[1], "W")[0].astype(np.float32).reshape(3, hidden, n_in)  # z, r, h
    r = ctx.const(node.input[2], "R")[0].astype(np.float32).reshape(3, hidden, hidden)
    b = _bias(ctx, node, 3, hidden)
    x = _sequence_input(ctx, node.input[0])  # [1, seq, input]
    like = ctx.graph.t(x.name)
    base = f"{x.name}_gru"
    zeros = np.zeros(hidden, np.float32)

    def fc(src: str, weights: np.ndarray, bias: np.ndarray, shape, what: str) -> str:
        out = ctx.tmp(f"{base}_{what}", shape, like)
        wt, bt = ctx.add_const(f"{base}_{what}_w", weights), ctx.add_const(f"{base}_{what}_b", bias)
        ctx.emit("FULLY_CONNECTED", [src, wt, bt], [out], irops.FullyConnectedAttrs(keep_num_dims=len(shape) > 2))
        return out

    def op(kind: str, ins: list[str], what: str, attrs=None) -> str:
        out = ctx.tmp(f"{base}_{what}", (1, hidden), like)
        ctx.emit(kind, ins, [out], attrs if attrs is not None else irops.ElementwiseAttrs())
        return out

    # Input projections of all time steps at once; a recurrent bias that is simply added joins the input's.
    x_bias = {"z": b[0, 0] + b[1, 0], "r": b[0, 1] + b[1, 1], "h": b[0, 2] + (zeros if before_reset else b[1, 2])}
    proj = {g: fc(x.name, w[k], x_bias[g], (1, seq, hidden), f"x{g}") for k, g in enumerate("zrh")}
    h_bias = b[1, 2] if before_reset else zeros
    state = None  # the zero initial state adds nothing at step 0
    steps = []
    for t in range(seq):
        xt = {g: op("STRIDED_SLICE", [proj[g]], f"x{g}{t}",
                    irops.StridedSliceAttrs((0, t, 0), (1, t + 1, hidden), (1, 1, 1), 5, 5, 2)) for g in "zrh"}
        gates = {}
        for g, k in (("z", 0), ("r", 1)):
            pre = xt[g] if state is None else op("ADD", [xt[g], fc(state, r[k], zeros, (1, hidden), f"h{g}{t}")],
                                                 f"pre{g}{t}")
            gates[g] = op("LOGISTIC", [pre], f"{g}{t}", irops.NoAttrs())
        if before_reset:  # tanh(x W_h + Wb_h + r * (h R_h + Rb_h))
            if state is not None:
                rec = op("MUL", [gates["r"], fc(state, r[2], h_bias, (1, hidden), f"hh{t}")], f"rh{t}")
            elif np.any(h_bias != 0):
                rec = op("MUL", [gates["r"], ctx.add_const(f"{base}_rb_h", h_bias.reshape(1, hidden))], f"rh{t}")
            else:
                rec = None
        else:  # tanh(x W_h + Wb_h + Rb_h + (r * h) R_h)
            rec = None if state is None else fc(op("MUL", [gates["r"], state], f"rstate{t}"), r[2], zeros,
                                                (1, hidden), f"hh{t}")
        pre_h = xt["h"] if rec is None else op("ADD", [xt["h"], rec], f"preh{t}")
        cand = op("TANH", [pre_h], f"cand{t}", irops.NoAttrs())
        # h' = (1 - z) * cand + z * h = cand - z * (cand - h)
        diff = cand if state is None else op("SUB", [cand, state], f"diff{t}")
        state = op("SUB", [cand, op("MUL", [gates["z"], diff], f"zdiff{t}")], f"h{t}")
        steps.append(state)
    if _used(ctx, node.output[0]):
        if seq > 1:
            cat = ctx.tmp(f"{base}_y", (1, seq * hidden), like)
            ctx.emit("CONCATENATION", steps, [cat], irops.ConcatenationAttrs(1))
        else:
            cat = steps[0]
        _sequence_output(ctx, node, cat, seq, hidden)
    if len(node.output) > 1 and _used(ctx, node.output[1]):
        y_h = ctx.add_act(node.output[1], (0, 1, 2), shape=(1, 1, hidden))
        ctx.emit("RESHAPE", [state], [y_h.name])

