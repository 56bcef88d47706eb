"""What TFLM's int8 kernels accept: one `check_<op>(graph, op)` per op kind, raising UnsupportedOpError.

Each docstring states the rule as the user sees it. The rules are TFLM's Prepare() checks (a model
breaking them does not run on TFLM), plus the cases where TFLM runs but silently ignores a
quantization that TFLite honours (RELU6, PAD): there our int8 result would not mean what the model says.
`check_graph` runs the checks of every int8 op; float32 ops have no such rules.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mcucompress.errors import UnsupportedOpError
from mcucompress.fixedpoint import params as fp
from mcucompress.ir.graph import Graph
from mcucompress.ir.ops import Op


def _where(op: Op) -> str:
    return f"op '{op.name}' ({op.kind})"


def _qp(graph: Graph, name: str) -> tuple[float, int]:
    q = graph.t(name).quant
    return float(np.float32(q.s)), q.zp


def _fixed_output(graph: Graph, op: Op, scale: float, zp: int, scale_text: str) -> None:
    s, z = _qp(graph, op.outputs[0])
    if z != zp or abs(s - scale) > 0.001 * scale:
        raise UnsupportedOpError(
            f"{_where(op)}: int8 output must have scale {scale_text} and zero point {zp} (has {s:g}, {z}); re-quantize the model"
        )


def check_logistic(graph: Graph, op: Op) -> None:
    """LOGISTIC int8: the output scale is 1/256 and its zero point -128."""
    _fixed_output(graph, op, 1 / 256, -128, "1/256")


def check_tanh(graph: Graph, op: Op) -> None:
    """TANH int8: the output scale is 1/128 and its zero point 0."""
    _fixed_output(graph, op, 1 / 128, 0, "1/128")


def check_softmax(graph: Graph, op: Op) -> None:
    """SOFTMAX int8: the output scale is 1/256 and its zero point -128."""
    _fixed_output(graph, op, 1 / 256, -128, "1/256")


def check_hard_swish(graph: Graph, op: Op) -> None:
    """HARD_SWISH int8: the output scale must exceed about input scale / 128 (TFLM needs a right shift)."""
    p = fp.hard_swish_params(graph, op)
    if p.output_multiplier_exponent > 0:
        s_in, s_out = _qp(graph, op.inputs[0])[0], _qp(graph, op.outputs[0])[0]
        raise UnsupportedOpError(f"{_where(op)}: output scale {s_out:g} is too small for input scale {s_in:g} (TFLM needs > input/128)")


def _same_quant(graph: Graph, op: Op, name: str, why: str, tolerance: float = 0.0) -> None:
    (s_in, z_in), (s_out, z_out) = _qp(graph, name), _qp(graph, op.outputs[0])
    if z_in != z_out or abs(s_in - s_out) > tolerance:
        raise UnsupportedOpError(
            f"{_where(op)}: input '{name}' quantization ({s_in:g}, {z_in}) differs from the output's ({s_out:g}, {z_out}); {why}"
        )


def check_relu6(graph: Graph, op: Op) -> None:
    """RELU6 int8: input and output share scale and zero point (TFLM clamps without rescaling)."""
    _same_quant(graph, op, op.inputs[0], "TFLM's RELU6 does not rescale")


def check_pad(graph: Graph, op: Op) -> None:
    """PAD int8: input and output share scale and zero point (TFLM copies values without rescaling)."""
    _same_quant(graph, op, op.inputs[0], "TFLM's PAD does not rescale")


def check_pool(graph: Graph, op: Op) -> None:
    """MAX_POOL_2D / AVERAGE_POOL_2D int8: input and output share the zero point and the scale (within 1e-6)."""
    _same_quant(graph, op, op.inputs[0], "TFLM's pooling requires equal quantization", tolerance=1e-6)


def check_concatenation(graph: Graph, op: Op) -> None:
    """CONCATENATION int8: no fused activation, at most 10 inputs of rank <= 6, all quantized exactly like the output."""
    if op.attrs.activation != "NONE":
        raise UnsupportedOpError(f"{_where(op)}: TFLM does not support a fused activation ({op.attrs.activation}) on CONCATENATION")
    if len(op.inputs) > 10:
        raise UnsupportedOpError(f"{_where(op)}: {len(op.inputs)} inputs; TFLM concatenates at most 10")
    if len(graph.t(op.outputs[0]).shape) > 6:
        raise UnsupportedOpError(f"{_where(op)}: rank {len(graph.t(op.outputs[0]).shape)}; TFLM concatenates tensors of rank <= 6")
    for name in op.inputs:
        _same_quant(graph, op, name, "TFLM's CONCATENATION requires every input quantized like the output")


def check_quantize(graph: Graph, op: Op) -> None:
    """QUANTIZE: float32 or int8 in, int8 out, per-tensor output quantization."""
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if inp.dtype not in ("float32", "int8") or out.dtype != "int8" or out.quant is None or out.quant.scale.size != 1:
        raise UnsupportedOpError(f"{_where(op)}: only float32/int8 -> per-tensor int8 QUANTIZE is supported ({inp.dtype} -> {out.dtype})")


CHECKS: dict[str, Callable[[Graph, Op], None]] = {
    "LOGISTIC": check_logistic,
    "TANH": check_tanh,
    "SOFTMAX": check_softmax,
    "HARD_SWISH": check_hard_swish,
    "RELU6": check_relu6,
    "PAD": check_pad,
    "MAX_POOL_2D": check_pool,
    "AVERAGE_POOL_2D": check_pool,
    "CONCATENATION": check_concatenation,
    "QUANTIZE": check_quantize,
}


def check_graph(graph: Graph) -> None:
    """Run the check of every op whose output is int8."""
    for op in graph.ops:
        check = CHECKS.get(op.kind)
        if check is not None and graph.t(op.outputs[0]).dtype == "int8":
            check(graph, op)
