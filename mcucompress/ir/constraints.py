"""What TFLM's int8 kernels accept: `check_<op>(graph, op)` functions raising UnsupportedOpError.

Each docstring states the rule as the user sees it; the op registry (mcucompress.ir.registry) names the
check of each kind. The rules are TFLM's Prepare() checks (a model breaking them does not run on TFLM),
plus the cases where TFLM runs but silently ignores a quantization that TFLite honours (RELU6, PAD):
there our int8 result would not mean what the model says. `check_graph` runs the checks of every int8
op and names every failing op at once; float32 ops have no such rules.
"""

from __future__ import annotations

import numpy as np

from mcucompress.errors import UnsupportedOpError
from mcucompress.fixedpoint import params as fp
from mcucompress.ir import constraints_int16, registry
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


def check_maximum_minimum(graph: Graph, op: Op) -> None:
    """MAXIMUM / MINIMUM int8: both inputs quantized exactly like the output (TFLM compares raw int8 values)."""
    for name in op.inputs:
        _same_quant(graph, op, name, f"TFLM's {op.kind} compares int8 values without rescaling")


def check_squared_difference(graph: Graph, op: Op) -> None:
    """SQUARED_DIFFERENCE int8: the output scale exceeds (2 * the larger input scale)^2 / 2^14 (TFLM rescales the
    square down only)."""
    s1, s2, so = (_qp(graph, n)[0] for n in (*op.inputs, op.outputs[0]))
    if (2 * max(s1, s2)) ** 2 / (1 << 14) >= so:
        raise UnsupportedOpError(f"{_where(op)}: output scale {so:g} is too small for input scales {s1:g}, {s2:g}; "
                                 "re-quantize the model")


def check_reduce_max_min(graph: Graph, op: Op) -> None:
    """REDUCE_MAX / REDUCE_MIN int8: input and output share scale and zero point (TFLM compares raw values)."""
    _same_quant(graph, op, op.inputs[0], f"TFLM's {op.kind} requires equal quantization")


def check_rsqrt(graph: Graph, op: Op) -> None:
    """RSQRT int8: inputs below the zero point (negative reals), where TFLM stops with an error, give 127."""


def check_l2_normalization(graph: Graph, op: Op) -> None:
    """L2_NORMALIZATION int8: the output scale is 1/128 and its zero point 0."""
    _fixed_output(graph, op, 1 / 128, 0, "1/128")


def check_log_softmax(graph: Graph, op: Op) -> None:
    """LOG_SOFTMAX int8: the output scale is 16/256 and its zero point 127."""
    _fixed_output(graph, op, 16 / 256, 127, "16/256")


def check_float_only(graph: Graph, op: Op) -> None:
    """SQRT, EXP, NEG, LOG: float32 only (TFLM has no int8 kernel for them); an int8 model with one does not run on TFLM."""
    raise UnsupportedOpError(f"{_where(op)}: TFLM has no int8 {op.kind} kernel; keep this part of the model in float32")


def check_prelu(graph: Graph, op: Op) -> None:
    """PRELU int8: alpha is a constant int8 tensor with one scale and zero point (per-tensor)."""
    alpha = graph.t(op.inputs[1])
    if not alpha.is_const or alpha.quant is None or alpha.quant.per_axis:
        raise UnsupportedOpError(f"{_where(op)}: alpha '{alpha.name}' must be a constant quantized per tensor")


def check_quantize(graph: Graph, op: Op) -> None:
    """QUANTIZE: float32 or int8 in, int8 out, per-tensor output quantization."""
    inp, out = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if inp.dtype not in ("float32", "int8") or out.dtype != "int8" or out.quant is None or out.quant.scale.size != 1:
        raise UnsupportedOpError(f"{_where(op)}: only float32/int8 -> per-tensor int8 QUANTIZE is supported ({inp.dtype} -> {out.dtype})")


def _weighted(graph: Graph, op: Op, axis: int, symmetric: bool) -> None:
    """The weights and bias rules TFLM's conv, depthwise and fully connected Prepare() share."""
    x, w, out = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    if x.dtype != "int8":
        raise UnsupportedOpError(f"{_where(op)}: input '{x.name}' is {x.dtype}; an int8 {op.kind} takes an int8 input")
    if w.dtype != "int8" or not w.is_const or w.quant is None:
        raise UnsupportedOpError(f"{_where(op)}: weights '{w.name}' must be constant int8 with quantization parameters")
    if w.quant.per_axis and w.quant.axis != axis:
        raise UnsupportedOpError(f"{_where(op)}: weights '{w.name}' are quantized along axis {w.quant.axis}; "
                                 f"quantize them per tensor or per output channel (axis {axis})")
    if (symmetric or w.quant.per_axis) and (w.quant.zero_point != 0).any():
        raise UnsupportedOpError(f"{_where(op)}: weights '{w.name}' must be symmetric (zero point 0); "
                                 "re-quantize the weights symmetrically")
    if len(op.inputs) > 2 and op.inputs[2]:
        b, channels = graph.t(op.inputs[2]), out.shape[-1]
        if b.dtype != "int32" or not b.is_const:
            raise UnsupportedOpError(f"{_where(op)}: bias '{b.name}' must be constant int32 (it is {b.dtype})")
        if b.size != channels:
            raise UnsupportedOpError(f"{_where(op)}: bias '{b.name}' has {b.size} values for {channels} output channels")


def check_conv_2d(graph: Graph, op: Op) -> None:
    """CONV_2D int8: int8 input; constant int8 weights [out, kh, kw, in] with zero point 0.
    Weights quantized per tensor or per output channel (axis 0).
    Bias (optional): constant int32, one value per output channel.
    The weights' input channels equal the input's (no grouped convolution).
    """
    _weighted(graph, op, 0, symmetric=True)
    w, x = graph.t(op.inputs[1]), graph.t(op.inputs[0])
    if w.shape[-1] != x.shape[-1]:
        raise UnsupportedOpError(f"{_where(op)}: weights '{w.name}' take {w.shape[-1]} input channels, the input has "
                                 f"{x.shape[-1]}; grouped convolutions are not supported")


def check_depthwise_conv_2d(graph: Graph, op: Op) -> None:
    """DEPTHWISE_CONV_2D int8: int8 input; constant int8 weights [1, kh, kw, out] with zero point 0.
    Weights quantized per tensor or per output channel (axis 3).
    Bias (optional): constant int32, one value per output channel.
    Output channels = input channels x depth_multiplier.
    """
    _weighted(graph, op, 3, symmetric=True)
    w, x, out = graph.t(op.inputs[1]), graph.t(op.inputs[0]), graph.t(op.outputs[0])
    m = op.attrs.depth_multiplier
    if w.shape[0] != 1 or w.shape[-1] != out.shape[-1] or x.shape[-1] * m != out.shape[-1]:
        raise UnsupportedOpError(f"{_where(op)}: {x.shape[-1]} input channels x depth_multiplier {m} must equal the "
                                 f"{out.shape[-1]} output channels and the weights' [1, kh, kw, out] {list(w.shape)}")


def check_fully_connected(graph: Graph, op: Op) -> None:
    """FULLY_CONNECTED int8: int8 input whose size is a multiple of the depth; constant int8 weights [units, depth].
    Weights quantized per tensor (any zero point) or per output channel (axis 0, zero point 0).
    Bias (optional): constant int32, one value per unit.
    """
    _weighted(graph, op, 0, symmetric=False)
    w, x, out = graph.t(op.inputs[1]), graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if len(w.shape) != 2 or x.size % w.shape[1] or out.shape[-1] != w.shape[0]:
        raise UnsupportedOpError(f"{_where(op)}: weights {list(w.shape)} do not map input {list(x.shape)} to output "
                                 f"{list(out.shape)}; give [units, depth] weights")


def _int8_input(graph: Graph, op: Op, k: int = 0) -> bool:
    return graph.t(op.inputs[k]).dtype == "int8"


def check_arg_min_max(graph: Graph, op: Op) -> None:
    """ARG_MAX / ARG_MIN: int8 or float32 input, a constant axis, int32 indices (TFLM has no int64 output).
    Ties give the lowest index; any int8 input quantization.
    A float32 model with int64 indices (tf.argmax's default) runs on the reference executor only."""
    if _int8_input(graph, op) and graph.t(op.outputs[0]).dtype != "int32":
        raise UnsupportedOpError(f"{_where(op)}: output is {graph.t(op.outputs[0]).dtype}; TFLM writes int32 "
                                 "indices only; convert with output_type int32")


def check_compare(graph: Graph, op: Op) -> None:
    """EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL: int8 or float32 inputs, bool output.
    int8 inputs may be quantized differently: TFLM rescales each by its own scale, which must be below 1.
    The two shapes broadcast (up to rank 4 in the C kernel)."""
    for name in op.inputs if _int8_input(graph, op) else []:
        if not float(np.float32(graph.t(name).quant.s)) < 1.0:
            raise UnsupportedOpError(f"{_where(op)}: input '{name}' has scale {graph.t(name).quant.s:g} >= 1; TFLM's "
                                     "int8 comparison needs scales below 1; re-quantize the model")


def check_select_v2(graph: Graph, op: Op) -> None:
    """SELECT_V2: bool condition, int8 or float32 values; the three shapes broadcast (up to rank 4 in C).
    int8: x, y and the output share one scale and zero point (TFLM copies raw values without rescaling)."""
    for name in op.inputs[1:] if _int8_input(graph, op, 1) else []:
        _same_quant(graph, op, name, "TFLM's SELECT_V2 copies int8 values without rescaling")


def check_zeros_like(graph: Graph, op: Op) -> None:
    """ZEROS_LIKE: int8, int32 or float32 (our quantizer folds it into a constant of zeros).
    int8: output zero point 0 (TFLM writes raw zeros, which mean 0.0 only then)."""
    out = graph.t(op.outputs[0])
    if out.dtype == "int8" and out.quant.zp != 0:
        raise UnsupportedOpError(f"{_where(op)}: int8 output zero point is {out.quant.zp}; TFLM writes raw zeros, "
                                 "so give the output zero point 0")


def check_fill(graph: Graph, op: Op) -> None:
    """FILL: constant dims and a scalar int8, int32 or float32 value (a constant value is folded at import).
    int8: the value and the output share one scale and zero point (TFLM copies the raw value)."""
    if _int8_input(graph, op):
        _same_quant(graph, op, op.inputs[0], "TFLM's FILL copies the int8 value without rescaling")
def check_batch_matmul(graph: Graph, op: Op) -> None:
    """BATCH_MATMUL int8: both operands int8 (activations or constants), quantized per tensor like the output.
    Operands of rank 2 to 5 whose batch axes broadcast (a size-1 axis repeats)."""
    for name in (*op.inputs[:2], op.outputs[0]):
        t = graph.t(name)
        if t.dtype != "int8" or t.quant is None or t.quant.scale.size != 1:
            raise UnsupportedOpError(f"{_where(op)}: tensor '{name}' must be int8 quantized per tensor (one scale "
                                     "and zero point); TFLM's int8 BATCH_MATMUL has no per-channel quantization")
    for name in op.inputs[:2]:
        rank = len(graph.t(name).shape)
        if not 2 <= rank <= 5:
            raise UnsupportedOpError(f"{_where(op)}: operand '{name}' has rank {rank}; TFLM takes ranks 2 to 5")


def check_gelu(graph: Graph, op: Op) -> None:
    """GELU int8: TFLite's 256-entry table of the float function (per-tensor quantization), bit-exact with LiteRT.
    TFLM has no GELU kernel: TFLM cannot run such a model (our C code and LiteRT do)."""
    for name in (op.inputs[0], op.outputs[0]):
        if graph.t(name).quant is None or graph.t(name).quant.scale.size != 1:
            raise UnsupportedOpError(f"{_where(op)}: tensor '{name}' must be quantized per tensor")


def check_div(graph: Graph, op: Op) -> None:
    """DIV int8: inputs and output quantized per tensor.
    Division by zero (a divisor at its zero point; undefined in TFLM) gives the output bound of the dividend's sign."""
    for name in (*op.inputs[:2], op.outputs[0]):
        if graph.t(name).quant is None or graph.t(name).quant.scale.size != 1:
            raise UnsupportedOpError(f"{_where(op)}: tensor '{name}' must be quantized per tensor (one scale and "
                                     "zero point)")
def check_transpose_conv(graph: Graph, op: Op) -> None:
    """TRANSPOSE_CONV int8: int8 input; constant int8 weights [out, kh, kw, in] with zero point 0.
    Weights quantized per tensor or per output channel (axis 0).
    Bias (optional): constant int32, one value per output channel.
    The weights' input channels equal the input's.
    """
    _weighted(graph, op, 0, symmetric=True)
    w, x = graph.t(op.inputs[1]), graph.t(op.inputs[0])
    if w.shape[-1] != x.shape[-1]:
        raise UnsupportedOpError(f"{_where(op)}: weights '{w.name}' take {w.shape[-1]} input channels, the input has "
                                 f"{x.shape[-1]}; give weights [out, kh, kw, {x.shape[-1]}]")


def problem(graph: Graph, op: Op) -> str | None:
    """Why `op` cannot be compiled as it is (one line naming it), or None when it can."""
    if not registry.is_kind(op.kind):
        return f"op '{op.name}' is {op.kind}, which is not supported"
    if constraints_int16.runs_int16(graph, op):  # 16x8 ops have their own rules
        try:
            constraints_int16.check(graph, op)
        except UnsupportedOpError as exc:
            return str(exc)
        return None
    check = registry.spec(op.kind).check
    if check is not None and graph.t(op.outputs[0]).dtype in ("int8", "int32", "int64", "bool"):
        try:
            check(graph, op)
        except UnsupportedOpError as exc:
            return str(exc)
    return None


def check_graph(graph: Graph) -> None:
    """Run the check of every op whose output is int8 (or int32 / bool from int8 inputs: ARG_MAX, comparisons);
    one UnsupportedOpError names every failing op."""
    problems = [p for op in graph.ops if (p := problem(graph, op)) is not None]
    if problems:
        raise UnsupportedOpError("; ".join(problems))


def check_lookup(graph: Graph, op: Op) -> None:
    """LOOKUP (internal, never in a model file): int8 -> DEQUANTIZE -> element-wise float32 ops -> QUANTIZE -> int8.
    Such a float island (the TF converter leaves ELU in float32) becomes one 256-entry table before code generation.
    The table is computed with TFLM's float32 arithmetic (bit-exact with TFLM); input and output are per tensor."""
    for name in (op.inputs[0], op.outputs[0]):
        t = graph.t(name)
        if t.dtype != "int8" or t.quant is None or t.quant.scale.size != 1:
            raise UnsupportedOpError(f"{_where(op)}: tensor '{name}' must be int8 quantized per tensor")
