"""MEAN, SUM, REDUCE_MAX, REDUCE_MIN over any axes, int8 (TFLM reduce.cc integer paths) and float32 (TFLM's
sequential float sum).

int8 MEAN: sum minus zp_in * count, then one MultiplyByQuantizedMultiplier with 1/count folded in; TFLM
does this whether or not input and output quantization are equal. SUM is the same without the 1/count.
REDUCE_MAX/MIN compare raw values (input and output share one quantization).
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint import params as fp
from mcucompress.fixedpoint import params_math as pm
from mcucompress.fixedpoint.arith import multiply_by_quantized_multiplier


def _reduced_first(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """[count, rest...]: the reduced axes moved to the front and flattened in row-major order."""
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, list(axes) + kept)
    return moved.reshape((-1,) + tuple(x.shape[a] for a in kept))


def mean_s8(x: np.ndarray, axes: tuple[int, ...], p: fp.MeanParams) -> np.ndarray:
    """Result has the kept axes only (keep_dims is a reshape, left to the caller)."""
    total = _reduced_first(x.astype(np.int64), axes).sum(axis=0)
    if p.num_elements == 0:
        return np.zeros(total.shape, np.int8)
    shifted = total - p.input_zero_point * p.num_elements
    y = multiply_by_quantized_multiplier(shifted, p.multiplier, p.shift) + p.output_zero_point
    return np.clip(y, -128, 127).astype(np.int8)


def sum_f32(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Accumulate in float32 in TFLM's order (row-major over the reduced elements)."""
    rows = _reduced_first(x.astype(np.float32), axes)
    acc = np.zeros(rows.shape[1:], np.float32)
    for row in rows:
        acc += row
    return acc


def mean_f32(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    rows = _reduced_first(x, axes).shape[0]
    return (sum_f32(x, axes) / np.float32(rows)).astype(np.float32)


def _axes(op, x: np.ndarray) -> tuple[int, ...]:
    return tuple(sorted({a % x.ndim for a in op.attrs.axes}))


def mean(graph, op, xs):
    axes = _axes(op, xs[0])
    if graph.t(op.outputs[0]).dtype == "int8":
        return mean_s8(xs[0], axes, fp.mean_params(graph, op))
    return mean_f32(xs[0], axes)


def reduce_sum(graph, op, xs):
    axes = _axes(op, xs[0])
    if graph.t(op.outputs[0]).dtype == "int8":
        return mean_s8(xs[0], axes, pm.sum_params(graph, op))
    return sum_f32(xs[0], axes)


def reduce_max_min(graph, op, xs):
    fn = np.max if op.kind == "REDUCE_MAX" else np.min
    return fn(xs[0], axis=_axes(op, xs[0]))
