"""Lowering of SPACE_TO_BATCH_ND, ADD_N and CUMSUM to their C kernels (Lowering methods' signature: the
OpSpec names these functions, called as fn(lowering, index, op)).

Integers come from mcucompress.fixedpoint.params_misc, shared with the reference executor.
"""

from __future__ import annotations

import math

from mcucompress.codegen.records import CArray, CStatic, IntArg, KernelCall, LocalArg, StructArg
from mcucompress.errors import UnsupportedOpError
from mcucompress.fixedpoint.params_misc import accumulate_params
from mcucompress.ir import Op


def _int8_only(low, index: int, op: Op) -> None:
    dtype = low.graph.t(op.inputs[0]).dtype
    if dtype != "int8":
        raise UnsupportedOpError(f"op {index} ({op.kind}) is {dtype}; the C kernels take int8")


def nhwc(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """TFLite's rank-3 NHC as NH1C (SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND's rule)."""
    return tuple(shape) if len(shape) == 4 else (shape[0], shape[1], 1, shape[2])


def lower_space_to_batch(low, index: int, op: Op) -> KernelCall:
    """SPACE_TO_BATCH_ND: one pass over the output, rows copied or filled with the zero point."""
    _int8_only(low, index, op)
    g, a = low.graph, op.attrs
    x, out = g.t(op.inputs[0]), g.t(op.outputs[0])
    block = list(a.block_shape) + [1] * (2 - len(a.block_shape))
    pads = list(a.paddings) + [(0, 0)] * (2 - len(a.paddings))
    params = CStatic("mcc_space_to_batch_params", low.sym(index, "params"), [
        ("block_h", str(block[0])), ("block_w", str(block[1])), ("pad_top", str(pads[0][0])),
        ("pad_left", str(pads[1][0])), ("fill", str(out.quant.zp if out.quant is not None else 0))])
    statics = [params, low.dims_static(index, "in_dims", nhwc(x.shape)),
               low.dims_static(index, "out_dims", nhwc(out.shape))]
    args = [StructArg(statics[0]), StructArg(statics[1]), low.tensor(op.inputs[0]), StructArg(statics[2]),
            low.tensor(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_space_to_batch_s8", args, statics=statics)


def _accumulate_static(low, index: int, op: Op) -> CStatic:
    p = accumulate_params(low.graph, op)
    return CStatic("mcc_accumulate_params", low.sym(index, "params"), [(k, str(v)) for k, v in vars(p).items()])


def lower_add_n(low, index: int, op: Op) -> KernelCall:
    """ADD_N: one call over every input (constant inputs become flash arrays)."""
    _int8_only(low, index, op)
    g = low.graph
    arrays, ptrs = [], []
    for k, name in enumerate(op.inputs):
        t = g.t(name)
        if t.is_const:
            arrays.append(CArray(low.sym(index, f"operand{k}"), "int8_t", t.data.reshape(-1), t.name))
            ptrs.append(arrays[-1].name)
        else:
            ptrs.append(low.ptr(name))
    params = _accumulate_static(low, index, op)
    local = low.sym(index, "inputs")
    pre = [f"const int8_t *const {local}[{len(ptrs)}] = {{{', '.join(ptrs)}}};"]
    args = [StructArg(params), IntArg(len(ptrs)), LocalArg(local), IntArg(g.t(op.outputs[0]).size),
            low.tensor(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_add_n_s8", args, statics=[params], arrays=arrays, pre=pre)


def lower_cumsum(low, index: int, op: Op) -> KernelCall:
    """CUMSUM: the input as [outer, depth, inner] around the summed axis."""
    _int8_only(low, index, op)
    shape, a = low.graph.t(op.inputs[0]).shape, op.attrs
    axis = a.axis % len(shape)
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    params = _accumulate_static(low, index, op)
    args = [StructArg(params), IntArg(outer), IntArg(shape[axis]), IntArg(inner), IntArg(int(a.exclusive)),
            IntArg(int(a.reverse)), low.tensor(op.inputs[0]), low.tensor(op.outputs[0])]
    return KernelCall(index, op.name, op.kind, "mcc_cumsum_s8", args, statics=[params])
