"""Integer parameters of the element-wise math ops of issue 10 (ABS, PRELU, ...), as TFLM's Prepare() derives them.

Kept apart from params.py (the activations, pools and binary ops) so each file stays small; the reference
executor and the C code generator read these records, as they read params.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcucompress.fixedpoint.arith import multiply_by_quantized_multiplier as mbqm
from mcucompress.fixedpoint.inv_sqrt import inv_sqrt_multiplier_exp
from mcucompress.fixedpoint.params import MeanParams, RequantParams
from mcucompress.fixedpoint.scaling import quantize_multiplier
from mcucompress.ir import Graph, Op

F32 = np.float32


def abs_params(graph: Graph, op: Op) -> RequantParams:
    """ABS int8: |x - zp_in| rescaled by input scale / output scale, a float32 division as TFLM's elementwise.cc."""
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    m, s = quantize_multiplier(float(F32(inp.quant.s) / F32(out.quant.s)))
    return RequantParams(inp.quant.zp, out.quant.zp, m, s)


@dataclass
class PreluParams:
    """PRELU int8 (TFLM prelu.cc): x - zp_in >= 0 is rescaled by in/out, else (x - zp_in) * (alpha - zp_alpha) by
    in * alpha / out; offsets are negated zero points."""

    input_offset: int
    alpha_offset: int
    output_offset: int
    output_multiplier_1: int
    output_shift_1: int
    output_multiplier_2: int
    output_shift_2: int


def prelu_params(graph: Graph, op: Op) -> PreluParams:
    inp, alpha, out = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    s_in, s_a, s_out = (float(F32(t.quant.s)) for t in (inp, alpha, out))  # double products, as TFLM
    m1, sh1 = quantize_multiplier(s_in / s_out)
    m2, sh2 = quantize_multiplier(s_in * s_a / s_out)
    return PreluParams(-inp.quant.zp, -alpha.quant.zp, out.quant.zp, m1, sh1, m2, sh2)


@dataclass
class SquaredDifferenceParams:
    """SQUARED_DIFFERENCE int8 (TFLite squared_difference.cc): both inputs, left-shifted by 7, are rescaled to a
    common 2 * max(scale); the squared difference is rescaled to the output. Offsets are negated zero points."""

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


def squared_difference_params(graph: Graph, op: Op) -> SquaredDifferenceParams:
    a, b, out = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    left_shift = 7
    sa, sb, so = (float(F32(t.quant.s)) for t in (a, b, out))
    twice = 2.0 * max(sa, sb)  # double arithmetic on the float scales
    m1, s1 = quantize_multiplier(sa / twice)
    m2, s2 = quantize_multiplier(sb / twice)
    mo, sh = quantize_multiplier(twice * twice / ((1 << (2 * left_shift)) * so))
    return SquaredDifferenceParams(left_shift, -a.quant.zp, m1, s1, -b.quant.zp, m2, s2, out.quant.zp, mo, sh)


def _tflite_round_f32(x: np.ndarray) -> np.ndarray:
    """TfLiteRound on float32 values: halves away from zero."""
    return np.copysign(np.floor(np.abs(x.astype(np.float64)) + 0.5), x)


def elu_table(graph: Graph, op: Op) -> np.ndarray:
    """ELU int8: TFLM's 256-entry lookup table, entry v + 128 for input value v, built in float32 as its Prepare
    does: dequantize, exp(x) - 1 below zero (libm's expf, correctly rounded: float64 then one rounding), requantize."""
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    values = np.arange(-128, 128)
    x = (F32(inp.quant.s) * (values - inp.quant.zp).astype(F32)).astype(F32)
    y = np.where(x < 0, np.exp(x.astype(np.float64)).astype(F32) - F32(1), x).astype(F32)
    scaled = (y * (F32(1) / F32(out.quant.s))).astype(F32)
    q = _tflite_round_f32(scaled).astype(np.int64) + out.quant.zp
    return np.clip(q, -128, 127).astype(np.int8)


def sum_params(graph: Graph, op: Op) -> MeanParams:
    """SUM int8 (TFLM reduce.cc, QuantizedMeanOrSum computing a sum): MEAN's arithmetic without the 1/count fold:
    zp_out + MultiplyByQuantizedMultiplier(sum(x) - zp_in * count, in/out as a double ratio)."""
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    count = int(np.prod([inp.shape[a] for a in op.attrs.axes], dtype=np.int64))
    m, s = quantize_multiplier(float(F32(inp.quant.s)) / float(F32(out.quant.s)))
    return MeanParams(inp.quant.zp, out.quant.zp, count, m, s)


def rsqrt_table(graph: Graph, op: Op) -> np.ndarray:
    """RSQRT int8 (TFLM elementwise.cc) for each input value v (entry v + 128): d = v - zp_in; d == 0 gives 127;
    otherwise 1/sqrt(d) from TFLite's fixed-point inverse square root, brought to 2^20 units and rescaled by
    1 / (sqrt(input scale) * output scale) (float32 product, as TFLM). Values below the zero point, which TFLM
    refuses at run time, map to 127 as well."""
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    k_shift = 20
    m, s = quantize_multiplier(1.0 / float(F32(np.sqrt(F32(inp.quant.s))) * F32(out.quant.s)))
    table = np.full(256, 127, np.int64)
    for v in range(-128, 128):
        d = v - inp.quant.zp
        if d <= 0:
            continue
        inv_m, inv_s = inv_sqrt_multiplier_exp(d, -1)
        data = mbqm(1, inv_m, inv_s + k_shift)
        table[v + 128] = int(mbqm(data, m, s - k_shift)) + out.quant.zp
    return np.clip(table, -128, 127).astype(np.int8)


def gelu_table(graph: Graph, op: Op) -> np.ndarray:
    """GELU int8: LiteRT's table (mcucompress.reference.gelu)."""
    from mcucompress.reference.gelu import gelu_table as table  # the reference module imports the IR

    return table(graph, op)


def lookup_table(graph: Graph, op: Op) -> np.ndarray:
    """LOOKUP (internal, passes/float_island.py): the table it carries."""
    return np.asarray(op.attrs.table, np.int8)


TABLES = {"ELU": elu_table, "RSQRT": rsqrt_table, "GELU": gelu_table,  # ops the C code evaluates through mcc_lookup_s8
          "LOOKUP": lookup_table}


@dataclass
class LogSoftmaxParams:
    """LOG_SOFTMAX int8 (TFLM log_softmax.cc, beta 1): SOFTMAX's input scaling to Q5.26 plus the reverse scaling
    (reverse_scaling_shift <= 0, a right shift) that maps a Q5.26 log-sum back to input units."""

    input_multiplier: int
    input_left_shift: int
    reverse_scaling_divisor: int
    reverse_scaling_shift: int
    diff_min: int


def log_softmax_params(graph: Graph, op: Op) -> LogSoftmaxParams:
    from mcucompress.fixedpoint.params import softmax_params
    from mcucompress.ir.ops import SoftmaxAttrs

    sp = softmax_params(graph, Op("SOFTMAX", op.inputs, op.outputs, SoftmaxAttrs(1.0)))
    divisor, shift = quantize_multiplier((1 << (31 - sp.input_left_shift)) / float(sp.input_multiplier))
    return LogSoftmaxParams(sp.input_multiplier, sp.input_left_shift, divisor, shift, sp.diff_min)
