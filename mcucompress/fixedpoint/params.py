"""Integer parameters of each int8 op, derived from the IR's scales exactly as TFLM's Prepare() does.

This is the fixed-point view of the graph: the reference executor and the C code generator both read
these records, so every number the kernels use is computed once, here, and nowhere else.
Float32 products follow TFLM's choice of float or double at each step; that is what keeps us bit-exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mcucompress.errors import UnsupportedOpError
from mcucompress.fixedpoint.scaling import (
    quantize_multiplier,
    quantize_multiplier_greater_than_one,
    quantize_multiplier_smaller_than_one,
    tflite_round,
)
from mcucompress.ir import Graph, Op, Tensor

QMIN, QMAX = -128, 127
F32 = np.float32


def activation_range(activation: str, out: Tensor) -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized for int8 (float32 division, std::round)."""
    scale, zp = F32(out.quant.s), out.quant.zp

    def quantize(f: float) -> int:
        return zp + tflite_round(float(F32(f) / scale))

    if activation == "NONE":
        return QMIN, QMAX
    if activation == "RELU":
        return max(QMIN, quantize(0.0)), QMAX
    if activation == "RELU6":
        return max(QMIN, quantize(0.0)), min(QMAX, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(QMIN, quantize(-1.0)), min(QMAX, quantize(1.0))
    raise UnsupportedOpError(f"fused activation {activation} is not supported")


@dataclass
class ConvParams:
    """CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: offsets are negated zero points (CMSIS-NN)."""

    input_offset: int
    filter_offset: int
    output_offset: int
    multipliers: np.ndarray  # int32 per output channel (length 1 when per-tensor)
    shifts: np.ndarray
    act_min: int
    act_max: int
    bias: np.ndarray  # int32 per output channel (zeros when the model has none)


@dataclass
class PoolParams:
    act_min: int
    act_max: int


@dataclass
class AddSubParams:
    """ADD/SUB: both inputs rescaled to a common 2*max(scale) with 20 bits of headroom (TFLM)."""

    left_shift: int
    input1_offset: int
    input1_multiplier: int
    input1_shift: int
    input2_offset: int
    input2_multiplier: int
    input2_shift: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


@dataclass
class MulParams:
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


@dataclass
class SoftmaxParams:
    input_multiplier: int
    input_left_shift: int
    diff_min: int


@dataclass
class RequantParams:
    """One rescale from input to output quantization (QUANTIZE int8->int8, RELU, RELU6, MEAN...)."""

    input_offset: int
    output_offset: int
    multiplier: int
    shift: int
    act_min: int = QMIN
    act_max: int = QMAX
    extra: dict = field(default_factory=dict)


def conv_params(graph: Graph, op: Op) -> ConvParams:
    inp, weights, out = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    bias_name = op.inputs[2] if len(op.inputs) > 2 else ""
    channels = out.shape[-1]
    in_scale, out_scale = F32(inp.quant.s), F32(out.quant.s)
    w_scales = weights.quant.scale
    if op.kind == "FULLY_CONNECTED" and w_scales.size == 1:
        # TFLM's GetQuantizedConvolutionMultipler: the input*filter product is taken in float32.
        real = float(F32(in_scale * F32(w_scales[0]))) / float(out_scale)
        pairs = [quantize_multiplier(real)]
    else:
        scales = np.broadcast_to(w_scales, (channels,)) if w_scales.size == 1 else w_scales
        pairs = [quantize_multiplier(float(in_scale) * float(F32(s)) / float(out_scale)) for s in scales]
    bias = graph.t(bias_name).data.astype(np.int64) if bias_name else np.zeros(channels, np.int64)
    act_min, act_max = activation_range(op.attrs.activation, out)
    return ConvParams(
        input_offset=-inp.quant.zp,
        filter_offset=-weights.quant.zp,
        output_offset=out.quant.zp,
        multipliers=np.array([m for m, _ in pairs], np.int64),
        shifts=np.array([s for _, s in pairs], np.int64),
        act_min=act_min,
        act_max=act_max,
        bias=bias,
    )


def pool_params(graph: Graph, op: Op) -> PoolParams:
    return PoolParams(*activation_range(op.attrs.activation, graph.t(op.outputs[0])))


def add_sub_params(graph: Graph, op: Op) -> AddSubParams:
    a, b, out = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    left_shift = 20
    twice_max_input_scale = 2.0 * float(max(F32(a.quant.s), F32(b.quant.s)))
    m1 = quantize_multiplier_smaller_than_one(float(F32(a.quant.s)) / twice_max_input_scale)
    m2 = quantize_multiplier_smaller_than_one(float(F32(b.quant.s)) / twice_max_input_scale)
    mo = quantize_multiplier_smaller_than_one(twice_max_input_scale / ((1 << left_shift) * float(F32(out.quant.s))))
    act_min, act_max = activation_range(op.attrs.activation, out)
    return AddSubParams(left_shift, -a.quant.zp, *m1, -b.quant.zp, *m2, out.quant.zp, *mo, act_min, act_max)


def mul_params(graph: Graph, op: Op) -> MulParams:
    a, b, out = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    real = float(F32(a.quant.s)) * float(F32(b.quant.s)) / float(F32(out.quant.s))
    act_min, act_max = activation_range(op.attrs.activation, out)
    return MulParams(-a.quant.zp, -b.quant.zp, out.quant.zp, *quantize_multiplier(real), act_min, act_max)


def softmax_params(graph: Graph, op: Op) -> SoftmaxParams:
    inp = graph.t(op.inputs[0])
    scaled_diff_integer_bits = 5
    max_real = (1 << 31) - 1.0
    real = min(float(op.attrs.beta) * float(F32(inp.quant.s)) * (1 << (31 - scaled_diff_integer_bits)), max_real)
    multiplier, left_shift = quantize_multiplier_greater_than_one(real)
    max_input_rescaled = (
        1.0 * ((1 << scaled_diff_integer_bits) - 1) * (1 << (31 - scaled_diff_integer_bits)) / (1 << left_shift)
    )
    return SoftmaxParams(multiplier, left_shift, -int(np.floor(max_input_rescaled)))
