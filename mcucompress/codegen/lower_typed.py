"""Lowering of the ops with int32 or bool tensors to C: ARG_MAX / ARG_MIN (int32 indices), the comparisons (bool
bytes), SELECT_V2 (bool condition), FILL and ZEROS_LIKE. Called as Lowering methods through the op registry."""

from __future__ import annotations

import math

import numpy as np

from mcucompress.codegen.lower import Lowering, dims4
from mcucompress.codegen.records import CArray, CStatic, IntArg, KernelCall, StructArg
from mcucompress.errors import UnsupportedOpError
from mcucompress.fixedpoint.params_compare import compare_params
from mcucompress.ir import Op


def _int8_values(low: Lowering, index: int, op: Op, name: str) -> None:
    if low.graph.t(name).dtype != "int8":
        raise UnsupportedOpError(f"op {index} ({op.kind}) has a {low.graph.t(name).dtype} input '{name}'; "
                                 "its C kernel takes int8 (quantize the model)")


def _operands(low: Lowering, index: int, op: Op) -> tuple[list, list[CArray]]:
    """Every input as an argument (constants as flash arrays of their C type)."""
    args, arrays = [], []
    for k, name in enumerate(op.inputs):
        arg, arrs = low.operand(index, k, name)
        args.append(arg)
        arrays += arrs
    return args, arrays


def lower_arg_min_max(low: Lowering, index: int, op: Op) -> KernelCall:
    _int8_values(low, index, op, op.inputs[0])
    shape = low.graph.t(op.inputs[0]).shape
    axis = op.attrs.axis % len(shape)
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    function = "mcc_arg_max_s8" if op.kind == "ARG_MAX" else "mcc_arg_min_s8"
    args = [IntArg(outer), IntArg(shape[axis]), IntArg(inner), low.tensor(op.inputs[0]), low.tensor(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, function, args)


def lower_compare(low: Lowering, index: int, op: Op) -> KernelCall:
    for name in op.inputs:
        _int8_values(low, index, op, name)
    p = compare_params(low.graph, op)
    params = CStatic("mcc_compare_params", low.sym(index, "params"), [(k, str(v)) for k, v in vars(p).items()])
    bcast = low._broadcast(index, op)
    ptrs, arrays = _operands(low, index, op)
    args = [StructArg(params), StructArg(bcast), *ptrs, low.tensor(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_compare_s8", args, statics=[params, bcast], arrays=arrays)


def lower_select_v2(low: Lowering, index: int, op: Op) -> KernelCall:
    for name in op.inputs[1:]:
        _int8_values(low, index, op, name)
    shapes = [dims4(low.graph.t(n).shape) for n in (*op.inputs, op.outputs[0])]
    fields = [(k, "{" + ", ".join(map(str, s)) + "}") for k, s in zip(("cond", "x", "y", "out"), shapes)]
    dims = CStatic("mcc_select_dims", low.sym(index, "dims"), fields)
    ptrs, arrays = _operands(low, index, op)
    args = [StructArg(dims), *ptrs, low.tensor(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_select_s8", args, statics=[dims], arrays=arrays)


def lower_fill(low: Lowering, index: int, op: Op) -> KernelCall:
    out = low.graph.t(op.outputs[0])
    if out.dtype not in ("int8", "int32"):
        raise UnsupportedOpError(f"op {index} (FILL) is {out.dtype}; its C kernel takes int8 or int32 values")
    (value,), arrays = _operands(low, index, op)
    args = [value, IntArg(np.dtype(out.dtype).itemsize), IntArg(out.size), low.tensor(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_fill", args, arrays=arrays)


def lower_zeros_like(low: Lowering, index: int, op: Op) -> KernelCall:
    out = low.graph.t(op.outputs[0])
    return KernelCall(index, op.name, op.kind, "mcc_zeros", [IntArg(out.nbytes), low.tensor(op.outputs[0])])
