"""BATCH_MATMUL: int8 with TFLM's integer arithmetic (reference batch_matmul.h) and float32 in TFLM's order.

out[..., r, c] = sum_k lhs[..., r, k] * rhs[..., k, c] after adj_x / adj_y swap the last two axes of lhs /
rhs; the leading (batch) axes broadcast as numpy's (a size-1 axis repeats; ranks 2 to 5). int8: int32 sums of
(lhs - zp_lhs) * (rhs - zp_rhs), MultiplyByQuantizedMultiplier by lhs scale x rhs scale / output scale (a
double product of the float scales, as GetQuantizedConvolutionMultipler), plus zp_out, clamped to int8.
float32: the products summed one depth step after another in float32, as TFLM's reference loop.

The geometry (`geometry`) and the integer parameters (`batch_matmul_params`) are shared with the C lowering.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcucompress.fixedpoint.arith import multiply_by_quantized_multiplier as mbqm
from mcucompress.fixedpoint.arith import wrap_int32
from mcucompress.fixedpoint.scaling import quantize_multiplier
from mcucompress.ir import Graph, Op

F32 = np.float32
MAX_BATCH_AXES = 3  # rank 5: three batch axes, as TFLM's reference kernel extends every shape to 5-D


@dataclass
class BatchMatmulGeometry:
    """One op's matrix sizes and its broadcast batch axes (left-padded to MAX_BATCH_AXES with 1)."""

    rows: int  # M: output rows (lhs rows after adj_x)
    cols: int  # N: output columns (rhs columns after adj_y)
    depth: int  # K: the summed axis
    out_batch: tuple[int, ...]  # output batch extents
    lhs_strides: tuple[int, ...]  # elements between consecutive lhs matrices along each batch axis; 0 = broadcast
    rhs_strides: tuple[int, ...]


def _batch_strides(shape: tuple[int, ...], matrix: int) -> tuple[int, ...]:
    """Element strides of the batch axes of `shape` (left-padded to MAX_BATCH_AXES); a size-1 axis repeats: 0."""
    batch = (1,) * (MAX_BATCH_AXES - (len(shape) - 2)) + tuple(shape[:-2])
    strides, step = [], matrix
    for d in reversed(batch):
        strides.append(0 if d == 1 else step)
        step *= d
    return tuple(reversed(strides))


def geometry(lhs_shape, rhs_shape, adj_x: bool, adj_y: bool) -> BatchMatmulGeometry:
    """Sizes of BATCH_MATMUL on these shapes; ValueError naming what does not fit (ranks 2..5, depths, batches)."""
    lhs_shape, rhs_shape = tuple(int(d) for d in lhs_shape), tuple(int(d) for d in rhs_shape)
    if not (2 <= len(lhs_shape) <= 5 and 2 <= len(rhs_shape) <= 5):
        raise ValueError(f"operands of rank {len(lhs_shape)} and {len(rhs_shape)}; BATCH_MATMUL takes ranks 2 to 5")
    rows, depth = (lhs_shape[-1], lhs_shape[-2]) if adj_x else (lhs_shape[-2], lhs_shape[-1])
    rdepth, cols = (rhs_shape[-1], rhs_shape[-2]) if adj_y else (rhs_shape[-2], rhs_shape[-1])
    if depth != rdepth:
        raise ValueError(f"lhs {list(lhs_shape)} (adj_x={adj_x}) sums over {depth} values, rhs {list(rhs_shape)} "
                         f"(adj_y={adj_y}) over {rdepth}")
    try:
        batch = tuple(np.broadcast_shapes(lhs_shape[:-2], rhs_shape[:-2]))
    except ValueError:
        raise ValueError(f"batch axes of {list(lhs_shape)} and {list(rhs_shape)} do not broadcast") from None
    out_batch = (1,) * (MAX_BATCH_AXES - len(batch)) + batch
    return BatchMatmulGeometry(rows, cols, depth, out_batch, _batch_strides(lhs_shape, rows * depth),
                               _batch_strides(rhs_shape, depth * cols))


def output_shape(lhs_shape, rhs_shape, adj_x: bool, adj_y: bool) -> tuple[int, ...]:
    g = geometry(lhs_shape, rhs_shape, adj_x, adj_y)
    rank = max(len(lhs_shape), len(rhs_shape))
    return (*g.out_batch[MAX_BATCH_AXES - (rank - 2):], g.rows, g.cols)


@dataclass
class BatchMatmulParams:
    """int8 BATCH_MATMUL (TFLM batch_matmul.cc Prepare): offsets are negated zero points, output_offset the zp."""

    lhs_offset: int
    rhs_offset: int
    output_offset: int
    multiplier: int
    shift: int


def batch_matmul_params(graph: Graph, op: Op) -> BatchMatmulParams:
    lhs, rhs, out = (graph.t(n) for n in (*op.inputs[:2], op.outputs[0]))
    real = float(F32(lhs.quant.s)) * float(F32(rhs.quant.s)) / float(F32(out.quant.s))
    m, s = quantize_multiplier(real)
    return BatchMatmulParams(-lhs.quant.zp, -rhs.quant.zp, out.quant.zp, m, s)


def _oriented(x: np.ndarray, adj: bool) -> np.ndarray:
    return np.swapaxes(x, -1, -2) if adj else x


def _per_sample(graph: Graph, op: Op, xs: list, fn) -> np.ndarray:
    """Run fn(lhs, rhs) sample by sample: activations may arrive batched along axis 0 (calibration runs several
    samples at once), each sample of the graph's shape; constants have the graph's shape."""
    shapes = [graph.t(n).shape for n in op.inputs[:2]]
    consts = [graph.t(n).is_const for n in op.inputs[:2]]
    counts = {x.size // int(np.prod(s)) for x, s, c in zip(xs, shapes, consts) if not c}
    n = counts.pop() if len(counts) == 1 else 1
    if n == 1:
        return fn(xs[0].reshape(shapes[0]), xs[1].reshape(shapes[1]))
    split = [x if c else x.reshape((n, *s)) for x, s, c in zip(xs, shapes, consts)]
    return np.concatenate([fn(split[0] if consts[0] else split[0][i], split[1] if consts[1] else split[1][i])
                           for i in range(n)])


def batch_matmul_s8(lhs: np.ndarray, rhs: np.ndarray, p: BatchMatmulParams, adj_x: bool, adj_y: bool) -> np.ndarray:
    a = _oriented(lhs.astype(np.int64) + p.lhs_offset, adj_x)
    b = _oriented(rhs.astype(np.int64) + p.rhs_offset, adj_y)
    acc = wrap_int32(np.matmul(a, b))  # exact in int64; the int32 sum wraps as TFLM's would
    out = mbqm(acc, p.multiplier, p.shift) + p.output_offset
    return np.clip(out, -128, 127).astype(np.int8)


def batch_matmul_f32(lhs: np.ndarray, rhs: np.ndarray, adj_x: bool, adj_y: bool) -> np.ndarray:
    a, b = _oriented(lhs.astype(F32), adj_x), _oriented(rhs.astype(F32), adj_y)
    total = np.zeros(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1]), F32)
    for k in range(a.shape[-1]):  # one rounding per step, in TFLM's order
        total = (total + a[..., :, k : k + 1] * b[..., k : k + 1, :]).astype(F32)
    return total


def batch_matmul(graph: Graph, op: Op, xs: list) -> np.ndarray:
    a = op.attrs
    if graph.t(op.outputs[0]).dtype == "int8":
        p = batch_matmul_params(graph, op)
        return _per_sample(graph, op, xs, lambda x, y: batch_matmul_s8(x, y, p, a.adj_x, a.adj_y))
    return _per_sample(graph, op, xs, lambda x, y: batch_matmul_f32(x, y, a.adj_x, a.adj_y))
