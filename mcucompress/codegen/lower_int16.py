"""Lowering of the 16x8 ops (int16 activations, int8 weights) to the mcc_*_s16 kernels.

Called from codegen.lower.Lowering when an op's output (or a QUANTIZE's input) is int16. The parameter
structs are the int8 ones filled from mcucompress.fixedpoint.params_int16; tensors in the arena are passed as
int16_t pointers (Lowering.tensor types them by dtype). The C model's input and output stay int8: int16
tensors live inside the arena only.
"""

from __future__ import annotations

import numpy as np

from mcucompress.codegen.records import ArrayArg, CArray, CStatic, IntArg, KernelCall, StructArg, TensorArg
from mcucompress.errors import UnsupportedOpError
from mcucompress.fixedpoint import lut16, sigmoid16
from mcucompress.fixedpoint import params_int16 as p16


def is_int16(graph, op) -> bool:
    """The op runs a 16x8 kernel: its output is int16, or it is a QUANTIZE from int16."""
    return "int16" in (graph.t(op.outputs[0]).dtype, graph.t(op.inputs[0]).dtype)


def ptr(low, name: str) -> TensorArg:
    """The tensor's address, typed by its dtype (int16 tensors are never the model's input or output)."""
    arg = low.tensor(name)
    if low.graph.t(name).dtype == "int16" and arg.pointer in ("input", "output"):
        raise UnsupportedOpError(f"tensor '{name}' is int16 and a model {arg.pointer}; the C model's input and output "
                                 "are int8: quantize with int8 inputs and outputs (QUANTIZE ops to and from int16)")
    return arg


def _fields(p, names) -> list[tuple[str, str]]:
    return [(k, str(getattr(p, k))) for k in names]


def _weights_arrays(low, index: int, op, p) -> list[CArray]:
    w = low.graph.t(op.inputs[1])
    return [CArray(low.sym(index, "weights"), "int8_t", w.data.reshape(-1), f"{w.name} {list(w.shape)}"),
            CArray(low.sym(index, "bias"), "int64_t", p.bias.astype(np.int64)),
            CArray(low.sym(index, "multiplier"), "int32_t", p.multipliers.astype(np.int64)),
            CArray(low.sym(index, "shift"), "int32_t", p.shifts.astype(np.int64))]


def conv(low, index: int, op) -> KernelCall:
    """CONV_2D and DEPTHWISE_CONV_2D: mcc_convolve_s16 / mcc_depthwise_conv_s16."""
    g, a = low.graph, op.attrs
    x, w, out = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    p = p16.conv_params_s16(g, op)
    arrays = _weights_arrays(low, index, op, p)
    params = CStatic("mcc_conv_params", low.sym(index, "params"), [
        ("input_offset", str(p.input_offset)), ("output_offset", str(p.output_offset)),
        ("stride_h", str(a.stride_h)), ("stride_w", str(a.stride_w)), ("pad_h", str(a.pad_top)),
        ("pad_w", str(a.pad_left)), ("dilation_h", str(a.dilation_h)), ("dilation_w", str(a.dilation_w)),
        ("depth_multiplier", str(getattr(a, "depth_multiplier", 1))), ("act_min", str(p.act_min)),
        ("act_max", str(p.act_max)),
    ])
    quant = CStatic("mcc_per_channel_quant", low.sym(index, "quant"),
                    [("multiplier", arrays[2].name), ("shift", arrays[3].name)])
    statics = [params, quant, low.dims_static(index, "in_dims", x.shape), low.dims_static(index, "filter_dims", w.shape),
               low.dims_static(index, "out_dims", out.shape)]
    s = [StructArg(st) for st in statics]
    depthwise = op.kind == "DEPTHWISE_CONV_2D"
    acc32 = [] if depthwise else [IntArg(int(not p.wide_bias))]
    args = [s[0], s[1], *acc32, s[2], ptr(low, op.inputs[0]), s[3], ArrayArg(arrays[0]), ArrayArg(arrays[1]), s[4],
            ptr(low, op.outputs[0])]
    function = "mcc_depthwise_conv_s16" if depthwise else "mcc_convolve_s16"
    return KernelCall(index, op.name, op.kind, function, args, statics=statics, arrays=arrays)


def fully_connected(low, index: int, op) -> KernelCall:
    g = low.graph
    x, w = g.t(op.inputs[0]), g.t(op.inputs[1])
    p = p16.conv_params_s16(g, op)
    depth, units = w.shape[1], w.shape[0]
    batches = x.size // depth
    arrays = _weights_arrays(low, index, op, p)
    params = CStatic("mcc_fc_params", low.sym(index, "params"), [
        ("input_offset", str(p.input_offset)), ("filter_offset", str(p.filter_offset)),
        ("output_offset", str(p.output_offset)), ("per_channel", str(int(p.multipliers.size > 1))),
        ("act_min", str(p.act_min)), ("act_max", str(p.act_max)),
    ])
    quant = CStatic("mcc_per_channel_quant", low.sym(index, "quant"),
                    [("multiplier", arrays[2].name), ("shift", arrays[3].name)])
    statics = [params, quant, low.dims_static(index, "in_dims", (batches, 1, 1, depth)),
               low.dims_static(index, "filter_dims", (units, 1, 1, depth)),
               low.dims_static(index, "out_dims", (batches, 1, 1, units))]
    s = [StructArg(st) for st in statics]
    args = [s[0], s[1], IntArg(int(not p.wide_bias)), s[2], ptr(low, op.inputs[0]), s[3], ArrayArg(arrays[0]),
            ArrayArg(arrays[1]), s[4], ptr(low, op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_fully_connected_s16", args, statics=statics, arrays=arrays)


def pool(low, index: int, op) -> KernelCall:
    g, a = low.graph, op.attrs
    x, out = g.t(op.inputs[0]), g.t(op.outputs[0])
    lo, hi = p16.activation_range_s16(a.activation, out)
    params = CStatic("mcc_pool_params", low.sym(index, "params"), [
        ("filter_h", str(a.filter_h)), ("filter_w", str(a.filter_w)), ("stride_h", str(a.stride_h)),
        ("stride_w", str(a.stride_w)), ("pad_h", str(a.pad_top)), ("pad_w", str(a.pad_left)),
        ("act_min", str(lo)), ("act_max", str(hi)),
    ])
    statics = [params, low.dims_static(index, "in_dims", x.shape), low.dims_static(index, "out_dims", out.shape)]
    function = "mcc_avgpool_s16" if op.kind == "AVERAGE_POOL_2D" else "mcc_maxpool_s16"
    args = [StructArg(statics[0]), StructArg(statics[1]), ptr(low, op.inputs[0]), StructArg(statics[2]),
            ptr(low, op.outputs[0])]
    return KernelCall(index, op.name, op.kind, function, args, statics=statics)


def binary(low, index: int, op) -> KernelCall:
    """ADD and MUL; constant operands become int16 flash arrays."""
    if op.kind == "ADD":
        p, ctype, function = p16.add_params_s16(low.graph, op), "mcc_add_params", "mcc_add_s16"
    elif op.kind == "MUL":
        p, ctype, function = p16.mul_params_s16(low.graph, op), "mcc_mul_params", "mcc_mul_s16"
    else:
        raise UnsupportedOpError(f"op {index} ({op.kind}): no int16 C kernel; int16 ADD and MUL are supported")
    params = CStatic(ctype, low.sym(index, "params"), [(k, str(v)) for k, v in vars(p).items()])
    bcast = low._broadcast(index, op)
    ptrs, arrays = [], []
    for k, name in enumerate(op.inputs[:2]):
        t = low.graph.t(name)
        if t.is_const:
            arrays.append(CArray(low.sym(index, f"operand{k}"), "int16_t", t.data.reshape(-1), t.name))
            ptrs.append(ArrayArg(arrays[-1]))
        else:
            ptrs.append(ptr(low, name))
    args = [StructArg(params), StructArg(bcast), *ptrs, ptr(low, op.outputs[0])]
    return KernelCall(index, op.name, op.kind, function, args, statics=[params, bcast], arrays=arrays)


def softmax(low, index: int, op) -> KernelCall:
    """SOFTMAX: the two TFLite tables go to flash with the op (1,026 bytes each)."""
    p = p16.softmax_params_s16(low.graph, op)
    x = low.graph.t(op.inputs[0])
    depth = x.shape[-1]
    tables = [CArray(low.sym(index, "exp_lut"), "int16_t", lut16.exp_table(), "exp(x), x in [-10, 0]"),
              CArray(low.sym(index, "recip_lut"), "int16_t", lut16.one_over_one_plus_x_table(), "1 / (1 + x), x in [0, 1]")]
    params = CStatic("mcc_softmax_params", low.sym(index, "params"), [
        ("input_multiplier", str(p.input_multiplier)), ("input_left_shift", str(p.input_left_shift)), ("diff_min", "0")])
    args = [StructArg(params), ArrayArg(tables[0]), ArrayArg(tables[1]), IntArg(x.size // depth), IntArg(depth),
            ptr(low, op.inputs[0]), ptr(low, op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_softmax_s16", args, statics=[params], arrays=tables)


def sigmoid_tanh(low, index: int, op) -> KernelCall:
    """LOGISTIC and TANH: TFLite's sigmoid table (512 bytes) goes to flash with the op."""
    is_tanh = op.kind == "TANH"
    x = low.graph.t(op.inputs[0])
    p = sigmoid16.params(x.quant.s, is_tanh)
    table = CArray(low.sym(index, "sigmoid"), "uint16_t", sigmoid16.TABLE, "sigmoid(i / 24), 0.16 fixed point")
    params = CStatic("mcc_logistic_params", low.sym(index, "params"), [
        ("input_zero_point", "0"), ("input_range_radius", "0"), ("input_multiplier", str(p.input_multiplier)),
        ("input_left_shift", str(p.input_left_shift))])
    args = [StructArg(params), ArrayArg(table), IntArg(x.size), ptr(low, op.inputs[0]), ptr(low, op.outputs[0])]
    function = "mcc_tanh_s16" if is_tanh else "mcc_logistic_s16"
    return KernelCall(index, op.name, op.kind, function, args, statics=[params], arrays=[table])


def quantize(low, index: int, op) -> KernelCall:
    """QUANTIZE int8 <-> int16."""
    g = low.graph
    x, out = g.t(op.inputs[0]), g.t(op.outputs[0])
    functions = {("int8", "int16"): "mcc_requantize_s8_s16", ("int16", "int8"): "mcc_requantize_s16_s8"}
    function = functions.get((x.dtype, out.dtype))
    if function is None:
        raise UnsupportedOpError(f"op {index} (QUANTIZE): {x.dtype} -> {out.dtype} has no C kernel; "
                                 "int8 <-> int16 is supported")
    p = p16.requantize_params_16(g, op)
    params = CStatic("mcc_requant_params", low.sym(index, "params"), [(k, str(v)) for k, v in vars(p).items()])
    args = [StructArg(params), IntArg(out.size), ptr(low, op.inputs[0]), ptr(low, op.outputs[0])]
    return KernelCall(index, op.name, op.kind, function, args, statics=[params])
