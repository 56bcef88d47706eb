"""Integer parameters of each int8 op, derived from the IR's scales exactly as TFLM's Prepare() does.

This is the fixed-point view of the graph: the reference executor and the C code generator both read
these records, so every number the kernels use is computed once, here, and nowhere else.
Float32 products follow TFLM's choice of float or double at each step; that is what keeps us bit-exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    """One rescale from input to output quantization, then a clamp (QUANTIZE int8->int8, RELU)."""

    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    act_min: int = QMIN
    act_max: int = QMAX


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
    sa, sb, so = F32(a.quant.s), F32(b.quant.s), F32(out.quant.s)
    if op.kind == "SUB":
        # TFLM's sub_common.cc divides in float32 (add_common.cc in double): same formulas, other roundings.
        twice = F32(2) * max(sa, sb)
        reals = (float(sa / twice), float(sb / twice), float(twice / (F32(1 << left_shift) * so)))
    else:
        twice_max_input_scale = 2.0 * float(max(sa, sb))
        reals = (float(sa) / twice_max_input_scale, float(sb) / twice_max_input_scale,
                 twice_max_input_scale / ((1 << left_shift) * float(so)))
    m1, m2, mo = (quantize_multiplier_smaller_than_one(r) for r in reals)
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
    # TfLiteSoftmaxParams.beta is a C float: an IR beta that is not a float32 value must be rounded first.
    real = min(float(F32(op.attrs.beta)) * float(F32(inp.quant.s)) * (1 << (31 - scaled_diff_integer_bits)), max_real)
    multiplier, left_shift = quantize_multiplier_greater_than_one(real)
    max_input_rescaled = (
        1.0 * ((1 << scaled_diff_integer_bits) - 1) * (1 << (31 - scaled_diff_integer_bits)) / (1 << left_shift)
    )
    return SoftmaxParams(multiplier, left_shift, -int(np.floor(max_input_rescaled)))


# ---------------------------------------------------------------- activations, requantize, MEAN


@dataclass
class LogisticParams:
    """LOGISTIC int8: (x - zp) rescaled to a Q4.27 fixed-point input; |x - zp| >= radius saturates.

    The output quantization is fixed (scale 1/256, zero point -128 for LOGISTIC; 1/128 and 0 for TANH).
    """

    input_zero_point: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int


@dataclass
class TanhParams(LogisticParams):
    """TANH int8: the same fields and Prepare arithmetic as LOGISTIC."""


@dataclass
class HardSwishParams:
    """HARD_SWISH int8: TFLite's int16 fixed point; both multipliers are int16, exponents are shifts."""

    input_zero_point: int
    output_zero_point: int
    reluish_multiplier_fixedpoint_int16: int
    reluish_multiplier_exponent: int  # > 0 left shift, < 0 rounding right shift
    output_multiplier_fixedpoint_int16: int
    output_multiplier_exponent: int  # <= 0 (TFLM rejects the op otherwise)


@dataclass
class LeakyReluParams:
    """LEAKY_RELU int8: x >= zp uses the identity rescale, x < zp the alpha one (multiplier negative if alpha < 0)."""

    input_zero_point: int
    output_zero_point: int
    output_multiplier_alpha: int
    output_shift_alpha: int
    output_multiplier_identity: int
    output_shift_identity: int


@dataclass
class Relu6Params:
    """RELU6 int8: TFLM clamps the raw input to [zero, six] in the input's quantization, with no rescale."""

    zero: int
    six: int


@dataclass
class MeanParams:
    """MEAN int8 over `num_elements` values per output (TFLM reduce.cc, QuantizedMeanOrSum):

    output = zp_out + MultiplyByQuantizedMultiplier(sum(x) - zp_in * num_elements, multiplier, shift),
    with 1/num_elements folded into multiplier and shift. TFLM takes this path even when input and
    output quantization are equal (checked against tflite-micro: no truncating integer mean there).
    """

    input_zero_point: int
    output_zero_point: int
    num_elements: int
    multiplier: int
    shift: int


@dataclass
class AffineQuantizeParams:
    """QUANTIZE float32 -> int8 and DEQUANTIZE int8 -> float32; `scale` is the float32 value (C float)."""

    scale: float
    zero_point: int


def _sigmoid_tanh_fields(inp: Tensor) -> tuple[int, int, int, int]:
    """TFLM's Prepare of LOGISTIC/TANH int8: input scale * 2^27 split by frexp in double, radius by floor."""
    input_integer_bits = 4
    q, left_shift = math.frexp(float(F32(inp.quant.s)) * float(1 << (31 - input_integer_bits)))
    if left_shift < 0:
        raise UnsupportedOpError(f"input scale {inp.quant.s!r} is too small for TFLM's fixed-point sigmoid/tanh")
    multiplier = tflite_round(q * (1 << 31))  # < 2^31 for any float32 scale: TFLM does not renormalise here
    radius = math.floor(1.0 * ((1 << input_integer_bits) - 1) * (1 << (31 - input_integer_bits)) / (1 << left_shift))
    return inp.quant.zp, radius, multiplier, left_shift


def logistic_params(graph: Graph, op: Op) -> LogisticParams:
    return LogisticParams(*_sigmoid_tanh_fields(graph.t(op.inputs[0])))


def tanh_params(graph: Graph, op: Op) -> TanhParams:
    return TanhParams(*_sigmoid_tanh_fields(graph.t(op.inputs[0])))


def _downscale_to_int16(multiplier: int) -> int:
    """TFLite's DownScaleInt32ToInt16Multiplier: round the Q31 multiplier to Q15, saturating."""
    rounding = 1 << 15
    if multiplier >= (1 << 31) - 1 - rounding:
        return (1 << 15) - 1
    return (multiplier + rounding) >> 16


def hard_swish_params(graph: Graph, op: Op) -> HardSwishParams:
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    # TFLM's hard_swish_common.cc: every scale ratio is a float32 division, widened to double afterwards.
    hires_input_scale = F32(1.0 / 128.0) * F32(inp.quant.s)
    reluish_scale = F32(3.0) / F32(32768.0)
    out_m, out_e = quantize_multiplier(float(hires_input_scale / F32(out.quant.s)))
    rel_m, rel_e = quantize_multiplier(float(hires_input_scale / reluish_scale))
    return HardSwishParams(inp.quant.zp, out.quant.zp, _downscale_to_int16(rel_m), rel_e, _downscale_to_int16(out_m), out_e)


def _quantize_signed_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier for a possibly negative real (LEAKY_RELU's alpha): frexp keeps the sign."""
    if real >= 0:
        return quantize_multiplier(real)
    q, shift = math.frexp(real)
    if shift < -31:
        return 0, 0
    if shift > 30:
        raise UnsupportedOpError(f"scale {real!r} is too large for a fixed-point multiplier")
    return tflite_round(q * (1 << 31)), shift


def leaky_relu_params(graph: Graph, op: Op) -> LeakyReluParams:
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    s_in, s_out = F32(inp.quant.s), F32(out.quant.s)
    alpha_m, alpha_s = _quantize_signed_multiplier(float(s_in * F32(op.attrs.alpha) / s_out))  # float32, as TFLM
    ident_m, ident_s = quantize_multiplier(float(s_in / s_out))
    return LeakyReluParams(inp.quant.zp, out.quant.zp, alpha_m, alpha_s, ident_m, ident_s)


def requantize_params(graph: Graph, op: Op) -> RequantParams:
    """QUANTIZE int8 -> int8 (TFLM's Requantize): double ratio of the scales."""
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    m, s = quantize_multiplier(float(F32(inp.quant.s)) / float(F32(out.quant.s)))
    return RequantParams(inp.quant.zp, out.quant.zp, m, s)


def relu_params(graph: Graph, op: Op) -> RequantParams:
    """RELU int8: rescale to the output quantization, then clamp below at the output's real 0."""
    p = requantize_params(graph, op)
    p.act_min = max(QMIN, p.output_zero_point)
    return p


def relu6_params(graph: Graph, op: Op) -> Relu6Params:
    inp = graph.t(op.inputs[0])
    six = inp.quant.zp + tflite_round(float(F32(6.0) / F32(inp.quant.s)))  # FloatToQuantizedType, float32 division
    return Relu6Params(inp.quant.zp, min(max(six, QMIN), QMAX))


def mean_params(graph: Graph, op: Op) -> MeanParams:
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    count = int(np.prod([inp.shape[a] for a in op.attrs.axes], dtype=np.int64))
    multiplier, shift = quantize_multiplier(float(F32(inp.quant.s)) / float(F32(out.quant.s)))
    if count > 0:
        # Fold 1/count in: multiplier * 2^k / count with k = floor(log2(count)), capped so the shift stays >= -31.
        k = min(count.bit_length() - 1, 32, 31 + shift)
        multiplier, shift = (multiplier << k) // count, shift - k
    return MeanParams(inp.quant.zp, out.quant.zp, count, multiplier, shift)


def quantize_params(graph: Graph, op: Op) -> AffineQuantizeParams:
    """QUANTIZE float32 -> int8: the output's scale and zero point."""
    out = graph.t(op.outputs[0])
    return AffineQuantizeParams(float(F32(out.quant.s)), out.quant.zp)


def dequantize_params(graph: Graph, op: Op) -> AffineQuantizeParams:
    inp = graph.t(op.inputs[0])
    return AffineQuantizeParams(float(F32(inp.quant.s)), inp.quant.zp)
