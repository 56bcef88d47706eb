"""ONNX QDQ models (QuantizeLinear/DequantizeLinear around float ops) imported as an int8 IR.

As onnxruntime.quantization.quantize_static(quant_format=QDQ) writes them: a float op between DQ
inputs and a Q output is the int8 op with the Q's scale and zero point on its output; DQ of an int8
initializer is int8 weights (per channel or per tensor), DQ of an int32 initializer is the bias.
Where TFLM needs an int8 op's input quantized like its output (pools, PAD, RESHAPE, CONCATENATION,
RELU6) or fixes the output quantization (SOFTMAX, LOGISTIC, TANH), a requantizing QUANTIZE is added
(`shares_quant` and `fixed_output` of the op registry).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import ModelProto, numpy_helper

from mcucompress.errors import UnsupportedOpError
from mcucompress.frontend import onnx_const
from mcucompress.frontend.onnx_layout import Value
from mcucompress.ir import QuantParams, registry

MOVES_DATA = ("Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Dropout", "MaxPool")
INT8_HINT = "quantize with int8 (onnxruntime.quantization: activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)"


@dataclass
class QConst:
    """A dequantized initializer: integer data and its scale, zero point and ONNX axis."""

    data: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None


def is_qdq(model: ModelProto) -> bool:
    return any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in model.graph.node)


def _small_consts(model: ModelProto) -> dict[str, np.ndarray]:
    """Initializers and Constant-node values: where QDQ scales and zero points live."""
    out = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    out[n.output[0]] = numpy_helper.to_array(a.t)
    return out


def _fmt(dtype) -> str:
    return np.dtype(dtype).name


class Qdq:
    """The quantization every QuantizeLinear assigns, and the int8 side of conversion."""

    def __init__(self, path, model: ModelProto):
        self.path = path
        self.quant_of: dict[str, QuantParams] = {}  # float tensor -> quantization of its QuantizeLinear
        consts = _small_consts(model)
        for index, node in enumerate(model.graph.node):
            if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
                continue
            where = f"{path}: node {index} '{node.name or node.output[0]}' ({node.op_type})"
            scale = consts.get(node.input[1]) if len(node.input) > 1 else None
            zp = consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            if scale is None:
                raise UnsupportedOpError(f"{where}: the scale must be a constant")
            zp_dtype = zp.dtype if zp is not None else np.dtype(np.uint8)  # ONNX's default zero point is uint8
            data_dtype = consts[node.input[0]].dtype if node.input[0] in consts else None
            if node.op_type == "DequantizeLinear" and data_dtype is not None:
                if data_dtype not in (np.int8, np.int32):
                    raise UnsupportedOpError(f"{where}: constant '{node.input[0]}' is {_fmt(data_dtype)}; {INT8_HINT}")
                continue
            if zp_dtype != np.int8:
                raise UnsupportedOpError(f"{where}: tensor '{node.input[0]}' is quantized to {_fmt(zp_dtype)}; "
                                         f"{INT8_HINT}")
            if node.op_type == "QuantizeLinear" and node.input[0] not in consts:
                if scale.size != 1:
                    raise UnsupportedOpError(f"{where}: per-axis quantization of activation '{node.input[0]}' is not "
                                             "supported; quantize activations per tensor")
                q = QuantParams(scale.reshape(1).astype(np.float32), zp.reshape(1).astype(np.int64))
                old = self.quant_of.setdefault(node.input[0], q)
                if old != q:
                    raise UnsupportedOpError(f"{where}: tensor '{node.input[0]}' is quantized twice, differently")

    # ---------------------------------------------------------------- tensors
    def input_quant(self, ctx, name: str, consumers) -> tuple[str, QuantParams | None]:
        """A model input read only by QuantizeLinear nodes (or by data movement whose output is quantized,
        which commutes with quantization: onnxruntime leaves a leading Flatten in float) becomes int8."""
        quants = []
        for n in consumers:
            if n.op_type == "QuantizeLinear":
                quants.append(self.quant_of[name])
            elif n.op_type in MOVES_DATA and n.output[0] in self.quant_of:
                quants.append(self.quant_of[n.output[0]])
            else:
                return "float32", None
        if quants and all(q == quants[0] for q in quants):
            return "int8", quants[0]
        return "float32", None

    def output_quant(self, ctx, onnx_name: str, quant_src: Value | None) -> tuple[str, QuantParams | None]:
        if onnx_name in self.quant_of:
            return "int8", self.quant_of[onnx_name]
        if quant_src is not None:
            src = ctx.graph.t(quant_src.name)
            return src.dtype, src.quant  # data movement (Reshape, Identity, pad, ...): keeps the quantization
        ctx.fail(f"output '{onnx_name}' has no QuantizeLinear: this op stays float in the QDQ model; mixed float/int8 "
                 "models are not supported, quantize every op")

    def int8_input(self, ctx, name: str) -> Value:
        v = ctx.act(name)
        if ctx.graph.t(v.name).dtype != "int8":
            ctx.fail(f"input '{name}' is not quantized (no QuantizeLinear/DequantizeLinear before this op)")
        return v

    # ---------------------------------------------------------------- Q and DQ nodes
    def convert(self, ctx, node) -> None:
        x = node.input[0]
        if node.op_type == "DequantizeLinear":
            if x in ctx.consts:
                data = ctx.consts[x]
                scale = ctx.const(node.input[1], "scale").astype(np.float32)
                zp = ctx.consts[node.input[2]] if len(node.input) > 2 and node.input[2] else np.zeros(1, data.dtype)
                axis = ctx.attr("axis", 1) if scale.size > 1 else None
                ctx.qconsts[node.output[0]] = QConst(data, scale.reshape(-1), zp.reshape(-1).astype(np.int64), axis)
                shape = [1] * data.ndim
                if axis is not None:
                    shape[axis] = -1
                real = (data.astype(np.float64) - zp.reshape(shape)) * scale.reshape(shape)
                ctx.consts[node.output[0]] = real.astype(np.float32)
                return
            v = self.int8_input(ctx, x)
            ctx.values[node.output[0]] = v  # the float view of an int8 tensor is the int8 tensor
            return
        if x in ctx.consts:  # float weights quantized inside the graph: fold to the int8 constant
            names = [n for n in node.input if n]
            ctx.consts[node.output[0]] = onnx_const.evaluate(node, {n: ctx.const(n, "input") for n in names},
                                                             ctx.model.opset_import)[0]
            return
        v = ctx.act(x)
        q = self.quant_of[x]
        t = ctx.graph.t(v.name)
        if t.dtype == "int8" and t.quant == q:
            ctx.values[node.output[0]] = v
            return
        y = ctx.add_act(node.output[0], v.perm, v.order, shape=ctx.shape(x), dtype="int8", quant=q)
        ctx.emit("QUANTIZE", [v.name], [y.name])

    # ---------------------------------------------------------------- weights and biases
    def weights(self, ctx, name: str, transform, onnx_axis: int, ir_axis: int, symmetric: bool) -> str:
        qc = ctx.qconsts.get(name)
        if qc is None or qc.data.dtype != np.int8:
            ctx.fail(f"weights '{name}' are not int8 (no DequantizeLinear of int8 data); {INT8_HINT}")
        if qc.axis is not None and qc.axis % qc.data.ndim != onnx_axis:
            ctx.fail(f"weights '{name}' are quantized along axis {qc.axis}; only per-output-channel "
                     f"(axis {onnx_axis}) or per-tensor quantization is supported")
        if symmetric and (qc.zero_point != 0).any():
            ctx.fail(f"weights '{name}' have non-zero zero points; quantize weights symmetrically (WeightSymmetric)")
        if qc.axis is None and np.unique(qc.zero_point).size > 1:
            ctx.fail(f"weights '{name}' have several zero points for one scale")
        quant = QuantParams(qc.scale, qc.zero_point, ir_axis if qc.scale.size > 1 else None)
        return ctx.add_const(name, transform(qc.data), "int8", quant)

    def bias(self, ctx, name: str, channels: int, x: Value, w_name: str) -> str:
        """int32 bias with scale input_scale * weight_scale (rescaled if the model's DQ scale differs)."""
        in_scale = np.float64(ctx.graph.t(x.name).quant.s)
        w_scale = ctx.graph.t(w_name).quant.scale.astype(np.float64)
        scale = (in_scale * w_scale).astype(np.float32)
        full = np.broadcast_to(scale, (channels,)).astype(np.float64)
        if not name:
            data = np.zeros(channels, np.int64)
        elif name in ctx.qconsts and ctx.qconsts[name].data.dtype == np.int32:
            qc = ctx.qconsts[name]
            data = qc.data.reshape(-1).astype(np.int64)
            have = np.broadcast_to(qc.scale.astype(np.float64), (channels,))
            if not np.allclose(have, full, rtol=1e-6, atol=0):
                data = np.round(data * have / full).astype(np.int64)
        else:
            data = np.round(np.broadcast_to(ctx.const(name, "bias").reshape(-1), (channels,)) / full).astype(np.int64)
        data = np.clip(data, -(2**31), 2**31 - 1)
        quant = QuantParams(scale, np.zeros(scale.size), 0 if scale.size > 1 else None)
        return ctx.add_const(name or f"{w_name}_bias", data, "int32", quant)

    def operand(self, ctx, name: str, transform) -> str:
        """A constant operand of ADD/SUB/MUL/CONCATENATION: int8 per tensor."""
        qc = ctx.qconsts.get(name)
        if qc is None or qc.data.dtype != np.int8 or qc.scale.size != 1:
            ctx.fail(f"constant '{name}' is not quantized per tensor to int8; {INT8_HINT}")
        return ctx.add_const(name, transform(qc.data), "int8", QuantParams(qc.scale, qc.zero_point))

    # ---------------------------------------------------------------- what TFLM needs of int8 ops
    def fix_int8(self, ctx, kind: str, inputs: list[str], outputs: list[str]):
        """Requantize inputs of same-quantization ops and outputs of fixed-range ops; returns (ins, outs, after)."""
        g = ctx.graph
        out = g.t(outputs[0])
        if out.dtype != "int8" or kind == "QUANTIZE":
            return inputs, outputs, []
        for n in inputs:
            if n and not g.t(n).is_const and g.t(n).dtype != "int8":
                ctx.fail(f"input '{n}' is float but the output is quantized: a float op inside the QDQ model; "
                         "mixed float/int8 models are not supported, quantize every op")
        if not registry.is_kind(kind):  # an intermediate kind (HARD_SIGMOID, ...) that a pass rewrites or rejects
            return inputs, outputs, []
        policy = registry.spec(kind)
        if policy.shares_quant:
            inputs = [self._requantized(ctx, n, out.quant) for n in inputs]
            if len(outputs) > 1:  # SPLIT: every output quantized like the first, requantized after if not
                outs, after = [outputs[0]], []
                for n in outputs[1:]:
                    t = g.t(n)
                    if t.quant == out.quant:
                        outs.append(n)
                    else:
                        outs.append(ctx.tmp(f"{n}_shared", t.shape, t, out.quant))
                        after.append(("QUANTIZE", [outs[-1]], [n]))
                return inputs, outs, after
        if policy.fixed_output:
            scale, zp = policy.fixed_output
            fixed = QuantParams(np.array([scale], np.float32), np.array([zp]))
            if out.quant != fixed:
                tmp = ctx.tmp(f"{out.name}_fixed", out.shape, out, fixed)
                return inputs, [tmp], [("QUANTIZE", [tmp], [out.name])]
        return inputs, outputs, []

    def _requantized(self, ctx, name: str, q: QuantParams) -> str:
        t = ctx.graph.t(name)
        if t.dtype != "int8" or t.quant == q:
            return name
        if t.is_const:
            real = (t.data.astype(np.float64) - t.quant.zp) * t.quant.s
            data = np.clip(np.round(real / q.s) + q.zp, -128, 127)
            return ctx.add_const(f"{name}_requant", data, "int8", q)
        tmp = ctx.tmp(f"{name}_requant", t.shape, t, q)
        ctx.emit("QUANTIZE", [name], [tmp])
        return tmp


def make_qdq(path, model: ModelProto) -> Qdq | None:
    return Qdq(path, model) if is_qdq(model) else None

