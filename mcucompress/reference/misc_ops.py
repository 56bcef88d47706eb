"""Reference kernels of ADD_N, CUMSUM (int8 and float32), and the float32-only L2_POOL_2D and LOG.

ADD_N and CUMSUM int8 follow TFLM's reference_ops (add_n.h, cumsum.h): each term (x - zp) << 20 is scaled
to twice the input scale, the int32 sum (wrapping as the C does) is requantized to the output. TFLM starts
that sum from the scaled -zp (its comment says 0, its code does not): kept, since TFLM is the oracle.
Float32 sums run in TFLM's order (input by input; along the axis), which is numpy's sequential accumulate.
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint.arith import multiply_by_quantized_multiplier_smaller_than_one_exp as mbqm_small
from mcucompress.fixedpoint.arith import wrap_int32
from mcucompress.fixedpoint.params_misc import AccumulateParams, accumulate_params
from mcucompress.ir import Graph, Op
from mcucompress.reference.executor import FLOAT_ACT_RANGE
from mcucompress.reference.pool import _windows

F32 = np.float32


def _term(x, p: AccumulateParams) -> np.ndarray:
    y = (np.asarray(x, np.int64) + p.input_offset) * (1 << p.left_shift)
    return mbqm_small(y, p.input_multiplier, p.input_shift)


def _requantize(acc, p: AccumulateParams) -> np.ndarray:
    out = mbqm_small(acc, p.output_multiplier, p.output_shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


def add_n(graph: Graph, op: Op, xs: list) -> np.ndarray:
    if graph.t(op.outputs[0]).dtype == "int8":
        p = accumulate_params(graph, op)
        acc = _term(0, p)  # TFLM's start: the scaled -zp
        for x in xs:
            acc = wrap_int32(acc + _term(x, p))
        return _requantize(acc, p)
    acc = np.zeros(np.broadcast_shapes(*[np.shape(x) for x in xs]), F32)
    for x in xs:
        acc = acc + np.asarray(x, F32)
    return acc


def cumsum(graph: Graph, op: Op, xs: list) -> np.ndarray:
    shape = graph.t(op.inputs[0]).shape
    a = op.attrs
    axis = a.axis % len(shape)
    x = np.asarray(xs[0]).reshape((-1,) + tuple(shape))  # samples first, so a batch never sums across samples
    axis += 1
    if a.reverse:
        x = np.flip(x, axis)
    if graph.t(op.outputs[0]).dtype == "int8":
        p = accumulate_params(graph, op)
        terms = _term(x, p)
        if a.exclusive:  # each output leaves its own term out
            terms = np.concatenate([np.zeros_like(np.take(terms, [0], axis)), np.delete(terms, -1, axis)], axis)
        acc = wrap_int32(np.cumsum(terms, axis=axis) + _term(0, p))
        y = _requantize(acc, p)
    else:
        x = x.astype(F32)
        if a.exclusive:
            x = np.concatenate([np.zeros_like(np.take(x, [0], axis)), np.delete(x, -1, axis)], axis)
        y = np.cumsum(x, axis=axis, dtype=F32)
    if a.reverse:
        y = np.flip(y, axis)
    return y.reshape((-1,) + tuple(shape[1:]))


def l2_pool(graph: Graph, op: Op, xs: list) -> np.ndarray:
    """float32 only (TFLM has no int8 L2_POOL_2D): sqrt(sum of squares / count) over the window's taps inside
    the input, summed row by row in float32 as TFLM's reference L2Pool."""
    a, out_shape = op.attrs, graph.t(op.outputs[0]).shape
    win, valid = _windows(np.asarray(xs[0], F32), a, out_shape[1], out_shape[2], F32(0))
    acc = np.zeros(win.shape[:3] + win.shape[5:], F32)
    for fy in range(win.shape[3]):
        for fx in range(win.shape[4]):
            v = win[:, :, :, fy, fx, :]
            acc = (acc + v * v).astype(F32)
    count = valid.sum(axis=(2, 3))[None, :, :, None].astype(F32)
    lo, hi = FLOAT_ACT_RANGE[a.activation]
    return np.clip(np.sqrt((acc / count).astype(F32)), lo, hi).astype(F32)


def log(graph: Graph, op: Op, xs: list) -> np.ndarray:
    """float32 only: libm's logf, correctly rounded, is float64 log rounded once."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.asarray(xs[0], F32).astype(np.float64)).astype(F32)
