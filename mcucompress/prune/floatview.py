"""Float view of an int8 graph, and writing pruned float weights back onto the int8 grid.

Pruning works on float weights. For an int8 model the float view has the same ops and tensor names, every
constant dequantized exactly and every activation float32, so the float executor gives the calibration
activations the pruning and recovery steps need. `write_back` then puts the float view's weights into the
int8 graph: a weight or bias that pruning did not change keeps its int8 value bit for bit, a changed one
is rounded onto its channel's original scale (raised only when a refitted weight outgrows it), and the
activation quantization is never touched, so the result is still the same model's int8 arithmetic.
"""

from __future__ import annotations

import copy

import numpy as np

from mcucompress.errors import UnsupportedOpError
from mcucompress.ir import Graph, QuantParams, Tensor
from mcucompress.prune.layers import weighted_ops


def _broadcast(q: QuantParams, ndim: int, values: np.ndarray) -> np.ndarray:
    shape = [1] * ndim
    if q.per_axis:
        shape[q.axis] = -1
    return np.asarray(values).reshape(shape) if q.per_axis else np.asarray(values).reshape(-1)[0]


def dequantize(t: Tensor) -> np.ndarray:
    q = t.quant
    scale = _broadcast(q, t.data.ndim, q.scale.astype(np.float64))
    zp = _broadcast(q, t.data.ndim, q.zero_point)
    return ((t.data.astype(np.float64) - zp) * scale).astype(np.float32)


def float_view(graph: Graph) -> Graph:
    """A float32 copy of an int8 `graph` (same names and ops; constants dequantized, quantization dropped)."""
    for op in graph.ops:
        if op.kind in ("QUANTIZE", "DEQUANTIZE"):
            raise UnsupportedOpError(f"op {op.name} ({op.kind}): pruning an int8 model with requantizing "
                                     f"QUANTIZE/DEQUANTIZE ops inside is not supported; prune the float model")
    f = copy.deepcopy(graph)
    for t in f.tensors.values():
        if t.quant is None or t.dtype not in ("int8", "int32"):
            continue
        if t.is_const:
            data = dequantize(t)
            t.dtype, t.data = "float32", data
        else:
            t.dtype = "float32"
        t.quant = None
    return f


def write_back(q: Graph, f: Graph) -> None:
    """Requantize every weighted op's weights and bias of the (already reshaped) int8 graph `q` from the float
    view `f` (same op order and shapes)."""
    for op_q, op_f in zip(weighted_ops(q), weighted_ops(f)):
        w, wf = q.t(op_q.inputs[1]), f.t(op_f.inputs[1]).data
        axis = w.quant.axis if w.quant.per_axis else None
        old = dequantize(w)
        s_old = w.quant.scale.astype(np.float64)
        if axis is None:
            amax = np.array([np.abs(wf).max()])
        else:
            amax = np.abs(np.moveaxis(wf, axis, 0).reshape(wf.shape[axis], -1)).max(axis=1)
        s_new = np.where(amax / 127.0 > s_old * (1 + 1e-6), amax / 127.0, s_old).astype(np.float32)
        raised = s_new != w.quant.scale
        s_b = _broadcast(w.quant, wf.ndim, s_new.astype(np.float64))
        rounded = np.clip(np.round(wf / s_b), -127, 127).astype(np.int8)
        keep = (wf == old) & ~np.broadcast_to(_broadcast(w.quant, wf.ndim, raised), wf.shape)
        w.data = np.where(keep, w.data, rounded).astype(np.int8)
        w.quant = QuantParams(s_new, np.zeros(s_new.size), w.quant.axis)
        if len(op_q.inputs) < 3 or not op_q.inputs[2]:
            if len(op_f.inputs) > 2 and op_f.inputs[2]:  # recovery gave the float view a bias
                _add_bias(q, op_q, f.t(op_f.inputs[2]).data)
            continue
        _requantize_bias(q, op_q, f.t(op_f.inputs[2]).data, raised)


def _bias_scale(q: Graph, op, w_scale: np.ndarray) -> np.ndarray:
    in_scale = np.float64(q.t(op.inputs[0]).quant.s)
    return (in_scale * w_scale.astype(np.float64)).astype(np.float32)


def _requantize_bias(q: Graph, op, bf: np.ndarray, raised: np.ndarray) -> None:
    b = q.t(op.inputs[2])
    old = dequantize(b)
    n = b.data.shape[0]
    new_scale = _bias_scale(q, op, np.broadcast_to(q.t(op.inputs[1]).quant.scale, (n,)))
    old_scale = np.broadcast_to(b.quant.scale, (n,))
    raised = np.broadcast_to(raised, (n,))
    scale = np.where(raised, new_scale, old_scale).astype(np.float32)
    rounded = np.clip(np.round(bf.astype(np.float64) / scale.astype(np.float64)), -(2**31), 2**31 - 1)
    keep = (bf == old) & ~raised
    b.data = np.where(keep, b.data, rounded).astype(np.int32)
    b.quant = QuantParams(scale, np.zeros(n), 0 if n > 1 else None)


def _add_bias(q: Graph, op, bf: np.ndarray) -> None:
    n = bf.shape[0]
    scale = _bias_scale(q, op, np.broadcast_to(q.t(op.inputs[1]).quant.scale, (n,)))
    name = f"{op.outputs[0]}_pruning_bias"
    data = np.clip(np.round(bf.astype(np.float64) / scale), -(2**31), 2**31 - 1).astype(np.int32)
    q.add_tensor(Tensor(name, (n,), "int32", QuantParams(scale, np.zeros(n), 0 if n > 1 else None), data))
    op.inputs = op.inputs[:2] + [name]
