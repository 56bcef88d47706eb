"""Integer parameters of the 16x8 ops (int16 activations, zero point 0; int8 weights), as TFLM's Prepare() derives them.

The int16 variants share most of their int8 arithmetic; what differs is recorded here: the int16 activation
range, the bias type of the weighted ops (int64 bias: a 64-bit accumulator and TFLM's "reduced" 16-bit
multiplier; int32 bias: a 32-bit accumulator and the ordinary multiplier), ADD's 15-bit headroom and the
SOFTMAX input rescale onto its exp lookup table. Both the reference executor and the C lowering read these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcucompress.errors import UnsupportedOpError
from mcucompress.fixedpoint import params as fp
from mcucompress.fixedpoint.scaling import quantize_multiplier, quantize_multiplier_smaller_than_one, tflite_round
from mcucompress.ir import Graph, Op, Tensor

Q16MIN, Q16MAX = -32768, 32767
F32 = np.float32


def activation_range_s16(activation: str, out: Tensor) -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized for an int16 output (float32 division, std::round)."""
    scale, zp = F32(out.quant.s), out.quant.zp

    def quantize(f: float) -> int:
        return zp + tflite_round(float(F32(f) / scale))

    if activation == "NONE":
        return Q16MIN, Q16MAX
    if activation == "RELU":
        return max(Q16MIN, quantize(0.0)), Q16MAX
    if activation == "RELU6":
        return max(Q16MIN, quantize(0.0)), min(Q16MAX, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(Q16MIN, quantize(-1.0)), min(Q16MAX, quantize(1.0))
    raise UnsupportedOpError(f"fused activation {activation} is not supported")


@dataclass
class Conv16Params(fp.ConvParams):
    """CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED 16x8; wide_bias: int64 bias and accumulator (else int32)."""

    wide_bias: bool = True


def conv_params_s16(graph: Graph, op: Op) -> Conv16Params:
    """The int8 multipliers (same Prepare arithmetic), the int16 clamp, and the bias width.

    TFLM takes the 32-bit path only for an int32 bias tensor; no bias means the 64-bit path."""
    p = fp.conv_params(graph, op)
    p.act_min, p.act_max = activation_range_s16(op.attrs.activation, graph.t(op.outputs[0]))
    bias = op.inputs[2] if len(op.inputs) > 2 else ""
    wide = not bias or graph.t(bias).dtype == "int64"
    return Conv16Params(**vars(p), wide_bias=wide)


def add_params_s16(graph: Graph, op: Op) -> fp.AddSubParams:
    """ADD int16: TFLM's general int8 rescaling with 15 bits of headroom instead of 20 (double arithmetic)."""
    a, b, out = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    left_shift = 15
    sa, sb, so = (float(F32(t.quant.s)) for t in (a, b, out))
    twice = 2.0 * max(sa, sb)
    reals = (sa / twice, sb / twice, twice / ((1 << left_shift) * so))
    m1, m2, mo = (quantize_multiplier_smaller_than_one(r) for r in reals)
    act_min, act_max = activation_range_s16(op.attrs.activation, out)
    return fp.AddSubParams(left_shift, -a.quant.zp, *m1, -b.quant.zp, *m2, out.quant.zp, *mo, act_min, act_max)


def mul_params_s16(graph: Graph, op: Op) -> fp.MulParams:
    """MUL int16: the int8 multiplier (double product of the scales) with the int16 clamp."""
    p = fp.mul_params(graph, op)
    p.act_min, p.act_max = activation_range_s16(op.attrs.activation, graph.t(op.outputs[0]))
    return p


@dataclass
class Softmax16Params:
    """SOFTMAX int16: (x - max) * multiplier << shift maps [-65535, 0] onto the exp table's [-10, 0]."""

    input_multiplier: int
    input_left_shift: int


def softmax_params_s16(graph: Graph, op: Op) -> Softmax16Params:
    real = float(F32(graph.t(op.inputs[0]).quant.s)) * float(F32(op.attrs.beta)) / (10.0 / 65535.0)
    return Softmax16Params(*quantize_multiplier(real))


def requantize_params_16(graph: Graph, op: Op) -> fp.RequantParams:
    """QUANTIZE between int8 and int16 (TFLM's Requantize): the double ratio of the scales, the output's clamp."""
    p = fp.requantize_params(graph, op)
    if graph.t(op.outputs[0]).dtype == "int16":
        p.act_min, p.act_max = Q16MIN, Q16MAX
    return p
