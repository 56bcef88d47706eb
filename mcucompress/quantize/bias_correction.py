"""Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization", section 4.2, empirical form).

Quantizing weights (and activations upstream) shifts the mean of each output channel of a conv or FC
layer: E[W x] != E[W_q x_q]. Fused ReLUs then turn that shift into a bias that grows with depth. For
every CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED in execution order we measure, on the calibration
data, the per-channel mean of the float pre-activation output E[W x + b] and of the int8 layer's
dequantized pre-activation E[W_q x_q + b_q] (x_q: the int8 model's own input to that layer, already
bias-corrected upstream), and add the difference to the int32 bias. The int8 arithmetic is unchanged,
so the result stays bit-exact with TFLM.
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op, QuantParams, Tensor
from mcucompress.reference import conv, executor

WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def correct_biases(float_graph: Graph, q: Graph, x: np.ndarray, chunk: int = 32) -> None:
    """Fold the measured mean output error into the int32 biases of `q` (in place); x: float samples."""
    f_vals = {n: t.data for n, t in float_graph.tensors.items() if t.is_const}
    q_vals = {n: t.data for n, t in q.tensors.items() if t.is_const}
    f_vals[float_graph.inputs[0]] = x.astype(np.float32)
    q_vals[q.inputs[0]] = _quantize_input(q, x)
    float_ops = {op.outputs[0]: op for op in float_graph.ops}  # q may hold extra requantizing ops
    last_use = _last_use(q, float_ops)
    for index, q_op in enumerate(q.ops):
        f_op = float_ops.get(q_op.outputs[0])
        if f_op is not None and q_op.kind in WEIGHTED and q.t(q_op.inputs[0]).dtype == "int8":
            _correct(float_graph, f_op, q, q_op, f_vals, q_vals, chunk)
        runs = [(q, q_op, q_vals)] + ([(float_graph, f_op, f_vals)] if f_op is not None else [])
        for graph, op, vals in runs:
            vals.update(executor.outputs_of(op, _run_op(graph, op, vals, chunk)))
        for n in last_use.get(index, ()):
            f_vals.pop(n, None)
            q_vals.pop(n, None)


def _correct(fg: Graph, f_op: Op, q: Graph, q_op: Op, f_vals: dict, q_vals: dict, chunk: int) -> None:
    bias = _bias_tensor(q, q_op)
    w, x_t = q.t(q_op.inputs[1]), q.t(q_op.inputs[0])
    axis = w.quant.axis if w.quant.per_axis else None
    w_deq = w.data.astype(np.float32) * _broadcast(w.quant.scale, w.data.ndim, axis)
    b_scale = np.broadcast_to(bias.quant.scale.astype(np.float64), bias.data.shape)
    b_deq = (bias.data.astype(np.float64) * b_scale).astype(np.float32)
    f_w = fg.t(f_op.inputs[1]).data
    f_b = fg.t(f_op.inputs[2]).data if len(f_op.inputs) > 2 and f_op.inputs[2] else None
    out_shape = q.t(q_op.outputs[0]).shape
    f_mean = _channel_mean(f_op, f_vals[f_op.inputs[0]], f_w, f_b, out_shape, chunk)
    q_mean = _channel_mean(q_op, q_vals[q_op.inputs[0]], w_deq, b_deq, out_shape, chunk, x_t.quant)
    shift = (f_mean - q_mean) / b_scale
    bias.data = np.clip(np.round(bias.data.astype(np.float64) + shift), -(2**31), 2**31 - 1).astype(np.int32)
    q_vals[bias.name] = bias.data


def _channel_mean(op: Op, x: np.ndarray, w, b, out_shape, chunk: int, x_quant: QuantParams | None = None) -> np.ndarray:
    """Mean over samples and positions of the layer's pre-activation output, per output channel.

    x is float, or int8 with `x_quant` (dequantized here chunk by chunk; int8 padding is the zero point,
    so the float kernels' zero padding matches)."""
    total, count = np.zeros(out_shape[-1]), 0
    for start in range(0, len(x), chunk):
        xs = x[start : start + chunk]
        xs = xs.astype(np.float32) if x_quant is None else (xs.astype(np.float32) - x_quant.zp) * np.float32(x_quant.s)
        y = conv.weighted_f32(op.kind, xs, w, b, op.attrs, out_shape).reshape(-1, out_shape[-1]).astype(np.float64)
        total += y.sum(axis=0)
        count += len(y)
    return total / count


def _bias_tensor(q: Graph, op: Op) -> Tensor:
    """The op's int32 bias, private to it (created as zeros when the op has none)."""
    w, x_t = q.t(op.inputs[1]), q.t(op.inputs[0])
    name = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] else ""
    if name and len([o for o in q.ops if name in o.inputs]) == 1:
        return q.t(name)
    channels = q.t(op.outputs[0]).shape[-1]
    scale = (np.float64(x_t.quant.s) * np.broadcast_to(w.quant.scale, (channels,)).astype(np.float64)).astype(np.float32)
    if w.quant.per_axis:
        quant = QuantParams(scale, np.zeros(channels), 0)
    else:
        quant = QuantParams(scale[:1], np.zeros(1))
    data = q.t(name).data.copy() if name else np.zeros(channels, np.int32)
    new = q.add_tensor(Tensor(f"{op.outputs[0]}_corrected_bias", (channels,), "int32", data=data, quant=quant))
    inputs = list(op.inputs) + [""] * (3 - len(op.inputs))
    inputs[2] = new.name
    op.inputs = inputs
    return new


def _broadcast(scale: np.ndarray, ndim: int, axis: int | None) -> np.ndarray:
    if axis is None:
        return np.float32(scale[0])
    shape = [1] * ndim
    shape[axis] = -1
    return scale.reshape(shape)


def _run_op(graph: Graph, op: Op, vals: dict, chunk: int) -> np.ndarray:
    """The executor's kernel for one op over all samples, in chunks to bound the im2col memory."""
    n = len(vals[op.inputs[0]])
    outs = []
    for start in range(0, n, chunk):
        xs = [vals[i][start : start + chunk] if i and not graph.t(i).is_const else (vals[i] if i else None)
              for i in op.inputs]
        outs.append(executor.run_op(graph, op, xs))
    return executor.concat_chunks(op, outs)


def _last_use(graph: Graph, float_ops: dict[str, Op]) -> dict[int, list[str]]:
    """q op index -> activation tensors that no later op of `graph` nor of its float twin reads (freed then
    to bound memory)."""
    last: dict[str, int] = {}
    for index, op in enumerate(graph.ops):
        twin = float_ops.get(op.outputs[0])
        for n in op.inputs + (twin.inputs if twin is not None else []):
            if n and n in graph.tensors and not graph.t(n).is_const:
                last[n] = index
    keep = set(graph.outputs)
    out: dict[int, list[str]] = {}
    for n, index in last.items():
        if n not in keep:
            out.setdefault(index, []).append(n)
    return out


def _quantize_input(q: Graph, x: np.ndarray) -> np.ndarray:
    from mcucompress.dataset import quantize_input

    return quantize_input(x, q.t(q.inputs[0]))

