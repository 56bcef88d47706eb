"""Float IR + calibration ranges -> int8 fixed-point IR (TFLite's int8 quantization scheme).

Activations: asymmetric int8 per tensor. Weights: symmetric int8, per output channel for CONV_2D,
DEPTHWISE_CONV_2D and FULLY_CONNECTED (or all per tensor). TF's converter keeps FULLY_CONNECTED per
tensor; per channel costs nothing at run time (TFLM, LiteRT and our C kernels support it) and gains
~10 dB output SQNR on the MLPerf Tiny autoencoder (bench/quant_sqnr.py). Biases: int32 with scale
input_scale * weight_scale. Ops whose TFLM kernel does not rescale (RESHAPE, pools, PAD, CONCATENATION,
RELU6: `shares_quant` in the op registry) share one quantization across their inputs and output, and
SOFTMAX/LOGISTIC/TANH outputs use TFLite's fixed ranges (`fixed_output`), exactly as TFLite's converter
does, so TFLM accepts our models.
"""

from __future__ import annotations

import copy

import numpy as np

from mcucompress.errors import QuantizationError, UnsupportedOpError
from mcucompress.ir import Graph, Op, QuantParams, Tensor
from mcucompress.ir.consistency import BROADCAST_BINARY
from mcucompress.ir.consistency_typed import ALL_OPERANDS
from mcucompress.ir.constraints_recurrent import refuse_quantizing
from mcucompress.ir.registry import spec
from mcucompress.ir.verify import verify
from mcucompress.quantize import recurrent

BIAS_LIMIT = float(2**30)  # largest |int32 bias| we emit before raising a weight scale


def activation_quant(lo: float, hi: float) -> QuantParams:
    """Asymmetric int8 covering [lo, hi] extended to include 0, so that 0.0 is exactly representable."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-8:
        hi = lo + 1e-8
    scale = np.float32((hi - lo) / 255.0)
    zp = int(np.clip(np.round(-128 - lo / float(scale)), -128, 127))
    return QuantParams(np.array([scale]), np.array([zp]))


def _shared_groups(graph: Graph, fixed: dict[str, tuple[float, int]]) -> dict[str, str]:
    """tensor -> representative of its shared-quantization group.

    A fixed-range tensor (a SOFTMAX/LOGISTIC/TANH output) is not merged into a CONCATENATION's group: it
    keeps its own quantization and a requantizing QUANTIZE brings it to the concatenation's."""
    parent: dict[str, str] = {}

    def find(n: str) -> str:
        parent.setdefault(n, n)
        while parent[n] != n:
            n = parent[n]
        return n

    def join(concatenations: bool, keep_apart: set[str]) -> None:
        for op in graph.ops:
            if spec(op.kind).shares_quant and (op.kind == "CONCATENATION") == concatenations:
                for n in [*op.inputs, *op.outputs[1:]]:  # SPLIT, UNPACK: every output in the group
                    if n and not graph.t(n).is_const and find(n) not in keep_apart and \
                            graph.t(n).dtype == "float32":  # SELECT_V2's bool condition stays apart
                        parent[find(n)] = find(op.outputs[0])

    join(False, set())
    join(True, {find(n) for n in fixed})  # a group with a fixed range stays apart
    return {n: find(n) for n in graph.tensors}


def quantize_weights(w: np.ndarray, axis: int | None, min_scale: np.ndarray | float = 0.0) -> tuple[np.ndarray, QuantParams]:
    """Symmetric int8 weights, per tensor (axis None) or per channel; scales are at least `min_scale`."""
    if axis is None:
        amax = np.array([np.abs(w).max()], np.float64)
    else:
        amax = np.abs(np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)).max(axis=1).astype(np.float64)
    # An all-zero channel (pruned, or dead) computes bias only, so its scale is free: it takes the median of the
    # live channels' so its requantization multiplier stays in the kernels' fast range (a bias-limited scale
    # of ~1e-8 gave a shift below -31 and made a pruned digits depthwise layer 3x slower on the M4).
    live = amax[amax > 0]
    amax = np.where(amax > 0, amax, np.median(live) if live.size else 127.0)
    scale = np.maximum(amax / 127.0, np.max(min_scale) if axis is None else min_scale).astype(np.float32)
    shape = [1] * w.ndim
    if axis is not None:
        shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, QuantParams(scale, np.zeros(scale.size), axis if scale.size > 1 else None)


def quantize_graph(graph: Graph, ranges: dict[str, tuple[float, float]], per_channel: bool = True,
                   per_channel_fc: bool = True, bias_correction_data: np.ndarray | None = None,
                   activations: str = "int8", int16_layers: set[str] | None = None) -> Graph:
    """A new int8 graph; `graph` (float32) is left unchanged.

    bias_correction_data: float calibration samples; when given, conv/FC biases absorb the mean output
    error that quantization causes on them (see bias_correction.py).
    activations "int16": every op with a 16x8 variant runs with int16 activations; int16_layers: only these
    ops (names) and their consumers do (quantize/int16.py). The model's input and output stay int8."""
    if activations not in ("int8", "int16"):
        raise QuantizationError(f"activations '{activations}' is unknown; use int8 or int16")
    refuse_quantizing(graph)
    q = copy.deepcopy(graph)
    _fold_zeros_like(q)
    fixed = {op.outputs[0]: spec(op.kind).fixed_output for op in q.ops if spec(op.kind).fixed_output}
    groups = _shared_groups(q, fixed)
    group_range: dict[str, tuple[float, float]] = {}
    for name, (lo, hi) in ranges.items():
        g = groups[name]
        a, b = group_range.get(g, (np.inf, -np.inf))
        group_range[g] = (min(a, lo), max(b, hi))
    for name in list(fixed):  # a reshape/pool/pad of a fixed-range tensor shares its fixed quantization
        for other in (n for n, g in groups.items() if g == groups[name]):
            fixed.setdefault(other, fixed[name])
    for name, t in q.tensors.items():
        if t.is_const or t.dtype != "float32":
            continue
        if name in fixed:
            scale, zp = fixed[name]
            t.quant = QuantParams(np.array([scale], np.float32), np.array([zp]))
        elif groups[name] in group_range:
            t.quant = activation_quant(*group_range[groups[name]])
        else:
            raise QuantizationError(f"tensor '{name}' has no calibration range")
        t.dtype = "int8"
    _requantize_concat_inputs(q)
    for index, op in enumerate(q.ops):
        if spec(op.kind).weight_axis is not None:
            _quantize_weighted(q, op, per_channel, per_channel_fc)
        elif op.kind == recurrent.KIND:
            recurrent.quantize_lstm(q, op, ranges)
        elif any(n and q.t(n).is_const and q.t(n).dtype == "float32" for n in op.inputs):
            _quantize_const_operands(q, op, index)
    if bias_correction_data is not None:
        from mcucompress.quantize.bias_correction import correct_biases

        correct_biases(graph, q, bias_correction_data)
    if activations == "int16" or int16_layers:
        from mcucompress.quantize.int16 import to_16x8

        q = to_16x8(graph, q, ranges, None if activations == "int16" else set(int16_layers))
    verify(q)
    return q


def _quantize_weighted(q: Graph, op, per_channel: bool, per_channel_fc: bool) -> None:
    w = q.t(op.inputs[1])
    axis = spec(op.kind).weight_axis if (per_channel and (op.kind != "FULLY_CONNECTED" or per_channel_fc)) else None
    in_scale = np.float64(q.t(op.inputs[0]).quant.s)
    b = q.t(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] else None
    # A dead channel (weights ~1e-30) with a live bias would need a bias beyond int32 at scale
    # in_scale * w_scale; raise that weight scale so the bias fits in 2^30 (as TFLite's converter does).
    min_scale = 0.0 if b is None else np.abs(b.data.astype(np.float64)) / (in_scale * BIAS_LIMIT)
    w.data, w.quant = quantize_weights(w.data, axis, min_scale)
    w.dtype = "int8"
    if b is not None:
        bias_scale = (in_scale * w.quant.scale.astype(np.float64)).astype(np.float32)
        scale = np.broadcast_to(bias_scale.astype(np.float64), b.data.shape)
        b.data = np.clip(np.round(b.data / scale), -(2**31), 2**31 - 1).astype(np.int32)  # float64: no overflow
        b.dtype = "int32"
        b.quant = QuantParams(bias_scale, np.zeros(bias_scale.size), 0 if bias_scale.size > 1 else None)


def _quantize_const_operands(q: Graph, op, index: int) -> None:
    """Constant float operands of the broadcasting binary ops, CONCATENATION, PRELU (alpha), ADD_N and BATCH_MATMUL
    (per tensor, as TFLM's int8 BATCH_MATMUL takes it) become int8: with their own range, or the output's
    quantization where the op shares it (CONCATENATION, MAXIMUM, MINIMUM, ADD_N; values outside clamp)."""
    if op.kind not in (*BROADCAST_BINARY, "CONCATENATION", "PRELU", "ADD_N", "BATCH_MATMUL", *ALL_OPERANDS):
        raise UnsupportedOpError(f"op {index} ({op.kind}) has a constant float operand that cannot be quantized")
    for n in op.inputs:
        t = q.t(n)
        if t.is_const and t.dtype == "float32":
            if spec(op.kind).shares_quant:
                t.quant = q.t(op.outputs[0]).quant
            else:
                t.quant = activation_quant(float(t.data.min()), float(t.data.max()))
            scaled = np.round(t.data / t.quant.s) + t.quant.zp
            t.data = np.clip(scaled, -128, 127).astype(np.int8)
            t.dtype = "int8"


def _fold_zeros_like(q: Graph) -> None:
    """ZEROS_LIKE's output is known from the (static) shape alone: it becomes a constant of zeros (as the TFLite
    converter folds it), which its consumer quantizes exactly (0.0 is always representable) instead of a fixed
    range forced onto a shared group (SELECT_V2(c, x, ZEROS_LIKE(x)) would clip x)."""
    for op in [op for op in q.ops if op.kind == "ZEROS_LIKE" and op.outputs[0] not in q.outputs]:
        t = q.t(op.outputs[0])
        t.data = np.zeros(t.shape, t.dtype)
        q.ops.remove(op)


def _requantize_concat_inputs(q: Graph) -> None:
    """TFLM's CONCATENATION needs every input quantized like its output: a fixed-range input (e.g. a LOGISTIC
    output, scale 1/256) gets a requantizing QUANTIZE (int8 -> int8) in front of the concatenation."""
    for op in list(q.ops):
        if op.kind != "CONCATENATION":
            continue
        out_q = q.t(op.outputs[0]).quant
        for i, n in enumerate(op.inputs):
            t = q.t(n)
            if t.is_const or t.dtype != "int8" or t.quant == out_q:
                continue
            name = f"{n}_requantized_for_{op.outputs[0]}"
            q.add_tensor(Tensor(name, t.shape, "int8", QuantParams(out_q.scale.copy(), out_q.zero_point.copy())))
            q.ops.insert(q.ops.index(op), Op("QUANTIZE", [n], [name], name=f"requantize_{name}"))
            op.inputs[i] = name
