"""Lowering of the ops with int32 or bool tensors to C: ARG_MAX / ARG_MIN (int32 indices), the comparisons (bool
bytes), SELECT_V2 (bool condition), FILL and ZEROS_LIKE. Called as Lowering methods through the op registry."""

from __future__ import annotations

import math

import numpy as np

from mcucompress.codegen.lower import C_TYPES, Lowering, dims4
from mcucompress.codegen.records import CArray, CStatic, KernelCall
from mcucompress.errors import UnsupportedOpError
from mcucompress.fixedpoint.params_compare import compare_params
from mcucompress.ir import Op


def _int8_values(low: Lowering, index: int, op: Op, name: str) -> None:
    if low.graph.t(name).dtype != "int8":
        raise UnsupportedOpError(f"op {index} ({op.kind}) has a {low.graph.t(name).dtype} input '{name}'; "
                                 "its C kernel takes int8 (quantize the model)")


def _operand(low: Lowering, index: int, k: int, name: str, arrays: list[CArray]) -> str:
    """A tensor's pointer; a constant becomes a flash array of its C type."""
    t = low.graph.t(name)
    if not t.is_const:
        return low.ptr(name)
    arrays.append(CArray(low.sym(index, f"operand{k}"), C_TYPES[t.dtype], t.data.reshape(-1).astype(np.int64), t.name))
    return arrays[-1].name


def lower_arg_min_max(low: Lowering, index: int, op: Op) -> KernelCall:
    _int8_values(low, index, op, op.inputs[0])
    shape = low.graph.t(op.inputs[0]).shape
    axis = op.attrs.axis % len(shape)
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    function = "mcc_arg_max_s8" if op.kind == "ARG_MAX" else "mcc_arg_min_s8"
    args = [str(outer), str(shape[axis]), str(inner), low.ptr(op.inputs[0]), low.ptr(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, function, args)


def lower_compare(low: Lowering, index: int, op: Op) -> KernelCall:
    for name in op.inputs:
        _int8_values(low, index, op, name)
    p = compare_params(low.graph, op)
    params = CStatic("mcc_compare_params", low.sym(index, "params"), [(k, str(v)) for k, v in vars(p).items()])
    bcast = low._broadcast(index, op)
    arrays: list[CArray] = []
    ptrs = [_operand(low, index, k, n, arrays) for k, n in enumerate(op.inputs)]
    args = [f"&{params.name}", f"&{bcast.name}", *ptrs, low.ptr(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_compare_s8", args, statics=[params, bcast], arrays=arrays)


def lower_select_v2(low: Lowering, index: int, op: Op) -> KernelCall:
    for name in op.inputs[1:]:
        _int8_values(low, index, op, name)
    shapes = [dims4(low.graph.t(n).shape) for n in (*op.inputs, op.outputs[0])]
    fields = [(k, "{" + ", ".join(map(str, s)) + "}") for k, s in zip(("cond", "x", "y", "out"), shapes)]
    dims = CStatic("mcc_select_dims", low.sym(index, "dims"), fields)
    arrays: list[CArray] = []
    ptrs = [_operand(low, index, k, n, arrays) for k, n in enumerate(op.inputs)]
    args = [f"&{dims.name}", *ptrs, low.ptr(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_select_s8", args, statics=[dims], arrays=arrays)


def lower_fill(low: Lowering, index: int, op: Op) -> KernelCall:
    out = low.graph.t(op.outputs[0])
    arrays: list[CArray] = []
    value = _operand(low, index, 0, op.inputs[0], arrays)
    itemsize = np.dtype(out.dtype).itemsize
    args = [value, str(itemsize), str(out.size), low.ptr(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_fill", args, arrays=arrays)


def lower_zeros_like(low: Lowering, index: int, op: Op) -> KernelCall:
    out = low.graph.t(op.outputs[0])
    return KernelCall(index, op.name, op.kind, "mcc_zeros", [str(out.nbytes), low.ptr(op.outputs[0])])
