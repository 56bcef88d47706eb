"""Ops with int32 or bool tensors, as TFLM computes them: ARG_MAX, ARG_MIN (int32 indices), the comparisons
EQUAL ... GREATER_EQUAL (bool output; int8 inputs rescaled to a common scale), SELECT_V2 (bool condition),
ZEROS_LIKE and FILL. Broadcasting is numpy's, which is TFLite's.
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint.arith import multiply_by_quantized_multiplier_smaller_than_one_exp as mbqm_small
from mcucompress.fixedpoint.params_compare import compare_params

COMPARE = {"EQUAL": np.equal, "NOT_EQUAL": np.not_equal, "LESS": np.less, "LESS_EQUAL": np.less_equal,
           "GREATER": np.greater, "GREATER_EQUAL": np.greater_equal}


def arg_min_max(graph, op, xs) -> np.ndarray:
    """The index of the first largest (ARG_MAX) or smallest (ARG_MIN) value along the axis: TFLM replaces its
    running best only on a strictly greater (less) value, so ties go to the lowest index, as numpy's."""
    x = xs[0]
    fn = np.argmax if op.kind == "ARG_MAX" else np.argmin
    return fn(x, axis=op.attrs.axis).astype(graph.t(op.outputs[0]).dtype)


def compare_s8(kind: str, a: np.ndarray, b: np.ndarray, p) -> np.ndarray:
    """TFLM's ComparisonWithScaling: ((q + offset) << 8) * input multiplier, per input, then compare."""
    sa = mbqm_small((a.astype(np.int64) + p.input1_offset) * (1 << p.left_shift), p.input1_multiplier, p.input1_shift)
    sb = mbqm_small((b.astype(np.int64) + p.input2_offset) * (1 << p.left_shift), p.input2_multiplier, p.input2_shift)
    return COMPARE[kind](sa, sb)


def compare(graph, op, xs) -> np.ndarray:
    a, b = xs
    if graph.t(op.inputs[0]).dtype == "int8":
        return compare_s8(op.kind, a, b, compare_params(graph, op))
    return COMPARE[op.kind](a, b)  # float32, int32: the raw values


def select_v2(graph, op, xs) -> np.ndarray:
    """x where the condition holds, else y; TFLM copies raw values (x, y and the output share a quantization)."""
    cond, x, y = xs
    return np.where(cond.astype(bool), x, y)


def zeros_like(graph, op, xs) -> np.ndarray:
    """Raw zeros, also for int8: TFLM writes 0, not the zero point (0 means 0.0 only with zero point 0)."""
    return np.zeros(xs[0].shape, graph.t(op.outputs[0]).dtype)


def fill(graph, op, xs) -> np.ndarray:
    """The scalar value (raw, TFLM copies it) at every position of the output's shape; a batch of values (one
    per sample, as calibration runs them) gives a batch of filled outputs."""
    out = graph.t(op.outputs[0])
    values = np.asarray(xs[0]).reshape(-1)
    if not out.shape:
        return values.reshape(()).astype(out.dtype)
    per_sample = values.reshape((-1,) + (1,) * (len(out.shape) - 1))
    return np.broadcast_to(per_sample, (len(values),) + tuple(out.shape[1:])).astype(out.dtype)
