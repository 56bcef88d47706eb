"""What TFLM's 16x8 kernels accept (int16 activations, int8 weights): `check_<op>_int16(graph, op)` functions.

Each docstring is the user-facing rule (`mcucompress ops`, docs/SUPPORTED_OPS.md); mcucompress.ir.constraints
runs the check of an op whose output is int16 (or a QUANTIZE from int16). A kind with no entry in CHECKS has
no int16 variant here and is refused with one line naming it.
"""

from __future__ import annotations

import numpy as np

from mcucompress.errors import UnsupportedOpError
from mcucompress.ir.graph import Graph
from mcucompress.ir.ops import Op


def _where(op: Op) -> str:
    return f"op '{op.name}' ({op.kind})"


def _int16_activations(graph: Graph, op: Op, names) -> None:
    for name in names:
        t = graph.t(name)
        if t.is_const and op.kind in ("ADD", "MUL") and t.dtype == "int16":
            continue
        if t.dtype != "int16" or t.quant is None or t.quant.scale.size != 1 or (t.quant.zero_point != 0).any():
            raise UnsupportedOpError(f"{_where(op)}: tensor '{name}' must be int16 with one scale and zero point 0 "
                                     f"(it is {t.dtype}); 16x8 ops take symmetric int16 activations")


def _weighted(graph: Graph, op: Op, axis: int, bias_types: tuple[str, ...]) -> None:
    _int16_activations(graph, op, [op.inputs[0], op.outputs[0]])
    w, out = graph.t(op.inputs[1]), graph.t(op.outputs[0])
    if w.dtype != "int8" or not w.is_const or w.quant is None or (w.quant.zero_point != 0).any():
        raise UnsupportedOpError(f"{_where(op)}: weights '{w.name}' must be constant symmetric int8 (zero point 0)")
    if w.quant.per_axis and w.quant.axis != axis:
        raise UnsupportedOpError(f"{_where(op)}: weights '{w.name}' are quantized along axis {w.quant.axis}; "
                                 f"quantize them per tensor or per output channel (axis {axis})")
    if len(op.inputs) > 2 and op.inputs[2]:
        b = graph.t(op.inputs[2])
        if b.dtype not in bias_types or not b.is_const or b.size != out.shape[-1]:
            raise UnsupportedOpError(f"{_where(op)}: bias '{b.name}' must be constant {' or '.join(bias_types)} with "
                                     f"one value per output channel (it is {b.dtype} {list(b.shape)})")


def check_conv_2d_int16(graph: Graph, op: Op) -> None:
    """CONV_2D 16x8: int16 input and output (zero point 0); constant symmetric int8 weights [out, kh, kw, in],
    per tensor or per output channel; bias int64 (TFLite's 16x8 default) or int32, one per output channel."""
    _weighted(graph, op, 0, ("int64", "int32"))
    if graph.t(op.inputs[1]).shape[-1] != graph.t(op.inputs[0]).shape[-1]:
        raise UnsupportedOpError(f"{_where(op)}: grouped convolutions are not supported")


def check_depthwise_conv_2d_int16(graph: Graph, op: Op) -> None:
    """DEPTHWISE_CONV_2D 16x8: int16 input and output (zero point 0); constant symmetric int8 weights
    [1, kh, kw, out], per tensor or per channel (axis 3); bias int64 (TFLM reads no other), one per channel."""
    _weighted(graph, op, 3, ("int64",))
    x, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if x.shape[-1] * op.attrs.depth_multiplier != out.shape[-1]:
        raise UnsupportedOpError(f"{_where(op)}: input channels x depth_multiplier must equal the output channels")


def check_fully_connected_int16(graph: Graph, op: Op) -> None:
    """FULLY_CONNECTED 16x8: int16 input and output (zero point 0); constant symmetric int8 weights
    [units, depth], per tensor or per unit; bias int64 or int32, one per unit."""
    _weighted(graph, op, 0, ("int64", "int32"))
    w, x = graph.t(op.inputs[1]), graph.t(op.inputs[0])
    if len(w.shape) != 2 or x.size % w.shape[1]:
        raise UnsupportedOpError(f"{_where(op)}: weights {list(w.shape)} do not fit input {list(x.shape)}")


def check_add_int16(graph: Graph, op: Op) -> None:
    """ADD int16: inputs and output int16 with zero point 0 (any scales; TFLM's general rescaling)."""
    _int16_activations(graph, op, [*op.inputs[:2], op.outputs[0]])
    scales = [float(graph.t(n).quant.s) for n in op.inputs[:2]]
    if 2 * max(scales) / ((1 << 15) * float(graph.t(op.outputs[0]).quant.s)) >= 1.0:
        raise UnsupportedOpError(f"{_where(op)}: output scale is below 2 * max(input scales) / 2^15; widen it")


def check_mul_int16(graph: Graph, op: Op) -> None:
    """MUL int16: inputs and output int16 with zero point 0."""
    _int16_activations(graph, op, [*op.inputs[:2], op.outputs[0]])


def check_pool_int16(graph: Graph, op: Op) -> None:
    """MAX_POOL_2D / AVERAGE_POOL_2D int16: input and output int16 with zero point 0 and the same scale."""
    _int16_activations(graph, op, [op.inputs[0], op.outputs[0]])
    s_in, s_out = (float(np.float32(graph.t(n).quant.s)) for n in (op.inputs[0], op.outputs[0]))
    if abs(s_in - s_out) > 1e-6 * s_in:
        raise UnsupportedOpError(f"{_where(op)}: input scale {s_in:g} differs from the output's {s_out:g}")


def check_softmax_int16(graph: Graph, op: Op) -> None:
    """SOFTMAX int16: int16 input with zero point 0; output scale 1/32768 and zero point 0."""
    _int16_activations(graph, op, [op.inputs[0], op.outputs[0]])
    s = float(np.float32(graph.t(op.outputs[0]).quant.s))
    if abs(s - 1 / 32768) > 0.001 / 32768:
        raise UnsupportedOpError(f"{_where(op)}: int16 output must have scale 1/32768 and zero point 0 (has {s:g})")


def check_logistic_tanh_int16(graph: Graph, op: Op) -> None:
    """LOGISTIC / TANH int16: int16 input with zero point 0 and scale below 32767/12288 (TFLM's table input
    multiplier must fit 15 bits); output scale 1/32768 and zero point 0."""
    _int16_activations(graph, op, [op.inputs[0], op.outputs[0]])
    s_in = float(np.float32(graph.t(op.inputs[0]).quant.s))
    if s_in * 4096.0 * 3.0 > 32767.0:
        raise UnsupportedOpError(f"{_where(op)}: input scale {s_in:g} is too large for TFLM's int16 table (<= 2.666)")
    s = float(np.float32(graph.t(op.outputs[0]).quant.s))
    if abs(np.log2(s) + 15) >= 1e-3:
        raise UnsupportedOpError(f"{_where(op)}: int16 output must have scale 1/32768 and zero point 0 (has {s:g})")


def check_quantize_int16(graph: Graph, op: Op) -> None:
    """QUANTIZE with int16: float32, int8 or int16 to int16 (zero point 0), or int16 to int8; per-tensor output."""
    x, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    ok = (out.dtype == "int16" and x.dtype in ("float32", "int8", "int16")) or (x.dtype, out.dtype) == ("int16", "int8")
    if not ok or out.quant is None or out.quant.scale.size != 1:
        raise UnsupportedOpError(f"{_where(op)}: {x.dtype} -> {out.dtype} is not an int16 QUANTIZE TFLM runs")
    for t in (x, out):
        if t.dtype == "int16" and (t.quant is None or (t.quant.zero_point != 0).any()):
            raise UnsupportedOpError(f"{_where(op)}: int16 tensor '{t.name}' must have zero point 0")


def check_reshape_int16(graph: Graph, op: Op) -> None:
    """RESHAPE int16: input and output int16 with the same quantization."""
    _int16_activations(graph, op, [op.inputs[0], op.outputs[0]])


CHECKS = {
    "CONV_2D": check_conv_2d_int16, "DEPTHWISE_CONV_2D": check_depthwise_conv_2d_int16,
    "FULLY_CONNECTED": check_fully_connected_int16, "ADD": check_add_int16, "MUL": check_mul_int16,
    "MAX_POOL_2D": check_pool_int16, "AVERAGE_POOL_2D": check_pool_int16, "SOFTMAX": check_softmax_int16,
    "LOGISTIC": check_logistic_tanh_int16, "TANH": check_logistic_tanh_int16,
    "QUANTIZE": check_quantize_int16, "RESHAPE": check_reshape_int16,
}


def runs_int16(graph: Graph, op: Op) -> bool:
    """The op is a 16x8 one: its output is int16, or it is a QUANTIZE from int16."""
    return graph.t(op.outputs[0]).dtype == "int16" or (op.kind == "QUANTIZE" and graph.t(op.inputs[0]).dtype == "int16")


def check(graph: Graph, op: Op) -> None:
    """The int16 rule of the op's kind; UnsupportedOpError when the kind has no int16 variant."""
    fn = CHECKS.get(op.kind)
    if fn is None:
        raise UnsupportedOpError(f"{_where(op)}: no int16 (16x8) variant; int16 is supported for "
                                 f"{', '.join(sorted(CHECKS))}")
    fn(graph, op)
