"""Lower each op of a quantized graph to one kernel call with its parameter structs and constant arrays.

All integers come from mcucompress.fixedpoint.params (shared with the reference executor); this module
only decides which kernel runs an op and how its arguments are laid out in C.
"""

from __future__ import annotations

import numpy as np

from mcucompress.analysis import op_cost
from mcucompress.codegen import bands, dual_rows, lower_int16, packed, sparse
from mcucompress.codegen.records import ArrayArg, CArray, CStatic, IntArg, KernelCall, LocalArg, StructArg, TensorArg
from mcucompress.errors import UnsupportedOpError
from mcucompress.fixedpoint import params as fp
from mcucompress.fixedpoint import params_math as pm
from mcucompress.ir import Graph, Op, resize
from mcucompress.ir.index_maps import index_maps, separable
from mcucompress.ir.registry import all_specs, spec
from mcucompress.plan.memory import MemoryPlan
from mcucompress.reference import batch_matmul as bmm
from mcucompress.reference import div as div_ref

C_TYPES = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "bool": "uint8_t", "float32": "float"}  # activation dtype -> C


def dims4(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Left-pad a shape of rank <= 4 with ones to NHWC."""
    if len(shape) > 4:
        raise UnsupportedOpError(f"tensor of rank {len(shape)} > 4 is not supported by the C kernels")
    return tuple([1] * (4 - len(shape)) + list(shape))


def _dims_fields(shape) -> list[tuple[str, str]]:
    return list(zip(("n", "h", "w", "c"), map(str, dims4(shape))))


UNARY_PARAMS = {  # kind -> (params struct, params function); the C function is the OpSpec's only one
    "LOGISTIC": ("mcc_logistic_params", fp.logistic_params),
    "TANH": ("mcc_tanh_params", fp.tanh_params),
    "HARD_SWISH": ("mcc_hard_swish_params", fp.hard_swish_params),
    "LEAKY_RELU": ("mcc_leaky_relu_params", fp.leaky_relu_params),
    "RELU": ("mcc_requant_params", fp.relu_params),
    "RELU6": ("mcc_relu6_params", fp.relu6_params),
    "QUANTIZE": ("mcc_requant_params", fp.requantize_params),
    "ABS": ("mcc_requant_params", pm.abs_params),
}


class Lowering:
    """Accumulates the C records of one graph; `prefix` names every emitted symbol."""

    def __init__(self, graph: Graph, plan: MemoryPlan, prefix: str):
        self.graph, self.plan, self.prefix = graph, plan, prefix
        self.blocks = {id(op): b for b in plan.bands for op in b.ops}  # residual blocks in row bands
        self.band_tensors = {n for b in plan.bands for n in (b.y1, b.y2)}  # in a block's scratch
        self.band_parts: dict[int, KernelCall] = {}

    # -- helpers -------------------------------------------------------------------------------
    def ptr(self, tensor: str, const: bool = False) -> str:
        """The C expression of a tensor's memory, typed as its dtype (C_TYPES; arena offsets are 16-aligned)."""
        if tensor in self.band_tensors:
            return "NULL"  # a record no code uses: the block's kernel addresses these rows in its scratch
        loc = self.plan.tensors[tensor]
        ctype = C_TYPES.get(self.graph.t(tensor).dtype, "int8_t")
        if loc.home in ("input", "output"):
            return loc.home  # the invoke parameter already has the tensor's C type
        base = f"({self.prefix}_arena + {loc.offset})"
        return base if ctype == "int8_t" else f"(({ctype} *){base})"

    def tensor(self, name: str) -> TensorArg:
        return TensorArg(name, self.ptr(name))

    def operand(self, index: int, k: int, name: str) -> tuple[TensorArg | ArrayArg, list[CArray]]:
        """Input `name` of an op as an argument: its pointer, or a flash array when it is a constant."""
        t = self.graph.t(name)
        if not t.is_const:
            return self.tensor(name), []
        arr = CArray(self.sym(index, f"operand{k}"), C_TYPES.get(t.dtype, "int8_t"), t.data.reshape(-1), t.name)
        return ArrayArg(arr), [arr]

    def sym(self, index: int, what: str) -> str:
        return f"{self.prefix}_op{index}_{what}"

    def dims_static(self, index: int, what: str, shape) -> CStatic:
        return CStatic("mcc_dims", self.sym(index, what), _dims_fields(shape))

    def scratch_ctx(self, index: int, size: int | None = None) -> CStatic:
        offset = self.plan.scratch.get(index)
        if offset is None:
            return CStatic("mcc_context", self.sym(index, "ctx"), [("buf", "0"), ("size", "0")])
        size = kernel_scratch_size(self.graph, self.graph.ops[index]) if size is None else size
        return CStatic("mcc_context", self.sym(index, "ctx"),
                       [("buf", f"{self.prefix}_arena + {offset}"), ("size", str(size))])

    # -- per op ------------------------------------------------------------------------------------
    def lower(self, index: int, op: Op) -> KernelCall:
        s = spec(op.kind)
        fn = s.lowering
        if lower_int16.is_int16(self.graph, op) and not s.alias:  # 16x8 kernels
            fn = s.int16_lowering
            if fn is None:
                kinds = sorted(k.kind for k in all_specs() if k.int16_lowering)
                raise UnsupportedOpError(f"op {index} ({op.kind}) has no int16 C kernel; int16 kernels: "
                                         f"{', '.join(kinds)} (and RESHAPE)")
        if fn is None:
            raise UnsupportedOpError(f"op {index} ({op.kind}) has no C kernel yet; supported: {', '.join(lowerable_kinds())}")
        call = fn(self, index, op)
        call.macs = op_cost(self.graph, op).macs
        block = self.blocks.get(id(op))
        return call if block is None else bands.lower_part(self, index, op, block, call)

    def _lower_conv(self, index: int, op: Op, function: str) -> KernelCall:
        # N:M sparse weights: the sparse kernel when it pays; dense CONV_2D: dual-row filters where exact
        call = sparse.apply(self, index, op, self._conv_call(index, op, function))
        if op.kind != "CONV_2D":
            return call
        w = self.graph.t(op.inputs[1]).data
        call = dual_rows.apply(call, w.reshape(w.shape[0], -1), _dual_target())
        return packed.apply(self, index, op, call, kernel_scratch_size(self.graph, op))

    def _conv_call(self, index: int, op: Op, function: str) -> KernelCall:
        """The convolution kernels' records (mcc_conv_params, per-channel quantization, dims); TRANSPOSE_CONV's
        attrs have no dilation or depth multiplier (1), its pads are TFLite's top/left padding."""
        g = self.graph
        x, w, out = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
        p = fp.conv_params(g, op)
        a = op.attrs
        mult = CArray(self.sym(index, "multiplier"), "int32_t", p.multipliers.astype(np.int64))
        shift = CArray(self.sym(index, "shift"), "int32_t", p.shifts.astype(np.int64))
        weights = CArray(self.sym(index, "weights"), "int8_t", w.data.reshape(-1), f"{w.name} {list(w.shape)}")
        bias = CArray(self.sym(index, "bias"), "int32_t", p.bias.astype(np.int64))
        params = CStatic("mcc_conv_params", self.sym(index, "params"), [
            ("input_offset", str(p.input_offset)), ("output_offset", str(p.output_offset)),
            ("stride_h", str(a.stride_h)), ("stride_w", str(a.stride_w)),
            ("pad_h", str(a.pad_top)), ("pad_w", str(a.pad_left)),
            ("dilation_h", str(getattr(a, "dilation_h", 1))), ("dilation_w", str(getattr(a, "dilation_w", 1))),
            ("depth_multiplier", str(getattr(a, "depth_multiplier", 1))),
            ("act_min", str(p.act_min)), ("act_max", str(p.act_max)),
        ])
        quant = CStatic("mcc_per_channel_quant", self.sym(index, "quant"),
                        [("multiplier", mult.name), ("shift", shift.name)])
        statics = [self.scratch_ctx(index), params, quant, self.dims_static(index, "in_dims", x.shape),
                   self.dims_static(index, "filter_dims", w.shape), self.dims_static(index, "out_dims", out.shape)]
        return KernelCall(index, op.name, op.kind, function, self._weighted_args(op, statics, weights, bias),
                          statics=statics, arrays=[weights, bias, mult, shift])

    def _weighted_args(self, op: Op, statics: list[CStatic], weights: CArray, bias: CArray) -> list:
        """(ctx, params, quant, in_dims, in, filter_dims, filter, bias, out_dims, out) of the weighted kernels."""
        ctx, params, quant, in_dims, filter_dims, out_dims = map(StructArg, statics)
        return [ctx, params, quant, in_dims, self.tensor(op.inputs[0]), filter_dims, ArrayArg(weights),
                ArrayArg(bias), out_dims, self.tensor(op.outputs[0])]

    def _lower_conv_2d(self, index: int, op: Op) -> KernelCall:
        return self._lower_conv(index, op, _conv_function(self.graph, op))

    def _lower_depthwise_conv_2d(self, index: int, op: Op) -> KernelCall:
        return self._lower_conv(index, op, "mcc_depthwise_conv_s8")

    def _lower_fully_connected(self, index: int, op: Op) -> KernelCall:
        g = self.graph
        x, w = g.t(op.inputs[0]), g.t(op.inputs[1])
        p = fp.conv_params(g, op)
        depth, units = w.shape[1], w.shape[0]
        batches = x.size // depth
        mult = CArray(self.sym(index, "multiplier"), "int32_t", p.multipliers.astype(np.int64))
        shift = CArray(self.sym(index, "shift"), "int32_t", p.shifts.astype(np.int64))
        weights = CArray(self.sym(index, "weights"), "int8_t", w.data.reshape(-1), f"{w.name} {list(w.shape)}")
        bias = CArray(self.sym(index, "bias"), "int32_t", p.bias.astype(np.int64))
        params = CStatic("mcc_fc_params", self.sym(index, "params"), [
            ("input_offset", str(p.input_offset)), ("filter_offset", str(p.filter_offset)),
            ("output_offset", str(p.output_offset)), ("per_channel", str(int(p.multipliers.size > 1))),
            ("act_min", str(p.act_min)), ("act_max", str(p.act_max)),
        ])
        quant = CStatic("mcc_per_channel_quant", self.sym(index, "quant"),
                        [("multiplier", mult.name), ("shift", shift.name)])
        statics = [self.scratch_ctx(index), params, quant, self.dims_static(index, "in_dims", (batches, 1, 1, depth)),
                   self.dims_static(index, "filter_dims", (units, 1, 1, depth)),
                   self.dims_static(index, "out_dims", (batches, 1, 1, units))]
        call = KernelCall(index, op.name, op.kind, "mcc_fully_connected_s8",
                          self._weighted_args(op, statics, weights, bias), statics=statics,
                          arrays=[weights, bias, mult, shift])
        call = sparse.apply(self, index, op, call)  # N:M sparse weights: the sparse kernel when it pays
        kernel_scratch = kernel_scratch_size(g, op)
        if kernel_scratch > 0:  # dual-row filters take the widened row, in the scratch; packed: the pair layout only
            call = dual_rows.apply(call, w.data.reshape(units, depth), _dual_target(), p.filter_offset,
                                   lean=call.weight_format != packed.FORMAT)
        return packed.apply(self, index, op, call, kernel_scratch)

    def _lower_pool(self, index: int, op: Op, function: str) -> KernelCall:
        g = self.graph
        x, out = g.t(op.inputs[0]), g.t(op.outputs[0])
        p, a = fp.pool_params(g, op), op.attrs
        params = CStatic("mcc_pool_params", self.sym(index, "params"), [
            ("filter_h", str(a.filter_h)), ("filter_w", str(a.filter_w)), ("stride_h", str(a.stride_h)),
            ("stride_w", str(a.stride_w)), ("pad_h", str(a.pad_top)), ("pad_w", str(a.pad_left)),
            ("act_min", str(p.act_min)), ("act_max", str(p.act_max)),
        ])
        statics = [params, self.dims_static(index, "in_dims", x.shape), self.dims_static(index, "out_dims", out.shape)]
        args = [StructArg(statics[0]), StructArg(statics[1]), self.tensor(op.inputs[0]), StructArg(statics[2]),
                self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, function, args, statics=statics)

    def _lower_average_pool_2d(self, index: int, op: Op) -> KernelCall:
        return self._lower_pool(index, op, "mcc_avgpool_s8")

    def _lower_max_pool_2d(self, index: int, op: Op) -> KernelCall:
        return self._lower_pool(index, op, "mcc_maxpool_s8")

    def _broadcast(self, index: int, op: Op) -> CStatic:
        g = self.graph
        shapes = [dims4(g.t(n).shape) for n in (op.inputs[0], op.inputs[1], op.outputs[0])]
        fields = [(name, "{" + ", ".join(map(str, s)) + "}") for name, s in zip(("in1", "in2", "out"), shapes)]
        return CStatic("mcc_broadcast_dims", self.sym(index, "bcast"), fields)

    def _binary_inputs(self, index: int, op: Op) -> tuple[list, list[CArray]]:
        """Both operands as arguments; constant operands become flash arrays."""
        ptrs, arrays = [], []
        for k, name in enumerate(op.inputs[:2]):
            arg, arrs = self.operand(index, k, name)
            ptrs.append(arg)
            arrays += arrs
        return ptrs, arrays

    def _binary_call(self, index: int, op: Op, ctype: str, p, function: str, ctx: bool = False) -> KernelCall:
        """([ctx,] params, broadcast dims, operand 1, operand 2, out): the broadcasting binary kernels with a params
        struct (ADD and SUB take a scratch context first)."""
        params = CStatic(ctype, self.sym(index, "params"), [(k, str(v)) for k, v in vars(p).items()])
        bcast = self._broadcast(index, op)
        ptrs, arrays = self._binary_inputs(index, op)
        statics = ([self.scratch_ctx(index)] if ctx else []) + [params, bcast]
        args = [*map(StructArg, statics), *ptrs, self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, function, args, statics=statics, arrays=arrays)

    def _lower_add(self, index: int, op: Op, function: str = "mcc_add_s8") -> KernelCall:
        return self._binary_call(index, op, "mcc_add_params", fp.add_sub_params(self.graph, op), function, ctx=True)

    def _lower_sub(self, index: int, op: Op) -> KernelCall:
        return self._lower_add(index, op, "mcc_sub_s8")

    def _lower_mul(self, index: int, op: Op) -> KernelCall:
        return self._binary_call(index, op, "mcc_mul_params", fp.mul_params(self.graph, op), "mcc_mul_s8")

    def _lower_maximum_minimum(self, index: int, op: Op) -> KernelCall:
        (function,) = spec(op.kind).c_functions
        bcast = self._broadcast(index, op)
        ptrs, arrays = self._binary_inputs(index, op)
        args = [StructArg(bcast), *ptrs, self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, function, args, statics=[bcast], arrays=arrays)

    def _lower_squared_difference(self, index: int, op: Op) -> KernelCall:
        return self._binary_call(index, op, "mcc_squared_difference_params",
                                 pm.squared_difference_params(self.graph, op), "mcc_squared_difference_s8")

    def _lower_prelu(self, index: int, op: Op) -> KernelCall:
        return self._binary_call(index, op, "mcc_prelu_params", pm.prelu_params(self.graph, op), "mcc_prelu_s8")

    def _lower_softmax(self, index: int, op: Op) -> KernelCall:
        p = fp.softmax_params(self.graph, op)
        x = self.graph.t(op.inputs[0])
        depth = x.shape[-1]
        params = CStatic("mcc_softmax_params", self.sym(index, "params"), [(k, str(v)) for k, v in vars(p).items()])
        args = [StructArg(params), IntArg(x.size // depth), IntArg(depth), self.tensor(op.inputs[0]),
                self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, "mcc_softmax_s8", args, statics=[params])

    def _lower_unary(self, index: int, op: Op) -> KernelCall:
        """Element-wise ops: (params, size, in, out); the kernels allow out == in (planned in place)."""
        (function,), (ctype, make_params) = spec(op.kind).c_functions, UNARY_PARAMS[op.kind]
        if self.graph.t(op.inputs[0]).dtype != "int8":
            raise UnsupportedOpError(f"op {index} ({op.kind}) has a {self.graph.t(op.inputs[0]).dtype} input; "
                                     "the C kernels take int8 (models must have int8 inputs and outputs)")
        p = make_params(self.graph, op)
        params = CStatic(ctype, self.sym(index, "params"), [(k, str(v)) for k, v in vars(p).items()])
        args = [StructArg(params), IntArg(self.graph.t(op.outputs[0]).size), self.tensor(op.inputs[0]),
                self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, function, args, statics=[params])

    def _lower_lookup(self, index: int, op: Op) -> KernelCall:
        """ELU, RSQRT, GELU: the op's output for each of the 256 int8 values (pm.TABLES, the reference executor's
        arithmetic) as a table in flash; the kernel looks values up."""
        values = pm.TABLES[op.kind](self.graph, op).astype(np.int64)
        table = CArray(self.sym(index, "table"), "int8_t", values, f"{op.kind} of -128..127")
        args = [ArrayArg(table), IntArg(self.graph.t(op.outputs[0]).size), self.tensor(op.inputs[0]),
                self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, "mcc_lookup_s8", args, arrays=[table])

    def _axis_mask(self, op: Op) -> int:
        """Reduced axes of a rank <= 4 input as bits of its 4-D NHWC view (bit 0 = N ... bit 3 = C)."""
        shift = 4 - len(self.graph.t(op.inputs[0]).shape)
        return sum(1 << (axis + shift) for axis in op.attrs.axes)

    def _lower_l2_normalization(self, index: int, op: Op) -> KernelCall:
        x = self.graph.t(op.inputs[0])
        depth = x.shape[-1]
        args = [IntArg(x.quant.zp), IntArg(x.size // depth), IntArg(depth), self.tensor(op.inputs[0]),
                self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, "mcc_l2_normalization_s8", args)

    def _lower_log_softmax(self, index: int, op: Op) -> KernelCall:
        p = pm.log_softmax_params(self.graph, op)
        x = self.graph.t(op.inputs[0])
        depth = x.shape[-1]
        params = CStatic("mcc_log_softmax_params", self.sym(index, "params"), [(k, str(v)) for k, v in vars(p).items()])
        args = [StructArg(params), IntArg(x.size // depth), IntArg(depth), self.tensor(op.inputs[0]),
                self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, "mcc_log_softmax_s8", args, statics=[params])

    def _lower_mean(self, index: int, op: Op) -> KernelCall:
        """MEAN, and SUM through the same kernel (its multiplier has no 1/count folded in)."""
        x = self.graph.t(op.inputs[0])
        p = (fp.mean_params if op.kind == "MEAN" else pm.sum_params)(self.graph, op)
        mask = self._axis_mask(op)
        params = CStatic("mcc_mean_params", self.sym(index, "params"), [(k, str(v)) for k, v in vars(p).items()])
        dims = self.dims_static(index, "in_dims", x.shape)
        args = [StructArg(params), StructArg(dims), IntArg(mask), self.tensor(op.inputs[0]), self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, "mcc_mean_s8", args, statics=[params, dims])

    def _lower_reduce_max_min(self, index: int, op: Op) -> KernelCall:
        (function,) = spec(op.kind).c_functions
        dims = self.dims_static(index, "in_dims", self.graph.t(op.inputs[0]).shape)
        args = [StructArg(dims), IntArg(self._axis_mask(op)), self.tensor(op.inputs[0]), self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, function, args, statics=[dims])

    def _lower_reshape(self, index: int, op: Op) -> KernelCall:
        if index in self.plan.liveness.aliased_ops:
            return KernelCall(index, op.name, op.kind, "", [], note="alias: no code, no memory")
        size = self.graph.t(op.outputs[0]).nbytes
        ptrs = [TensorArg(n, p if self.graph.t(n).dtype == "int8" else f"(int8_t *){p}")  # a byte copy of any dtype
                for n, p in ((n, self.ptr(n)) for n in (op.inputs[0], op.outputs[0]))]
        return KernelCall(index, op.name, op.kind, "mcc_copy_s8", [*ptrs, IntArg(size)])

    def _lower_pad(self, index: int, op: Op) -> KernelCall:
        g = self.graph
        x, out = g.t(op.inputs[0]), g.t(op.outputs[0])
        pads = [(0, 0)] * (4 - len(op.attrs.paddings)) + list(op.attrs.paddings)
        before = CArray(self.sym(index, "before"), "int32_t", np.array([b for b, _ in pads], np.int64))
        after = CArray(self.sym(index, "after"), "int32_t", np.array([a for _, a in pads], np.int64))
        statics = [self.dims_static(index, "in_dims", x.shape), self.dims_static(index, "out_dims", out.shape)]
        args = [StructArg(statics[0]), self.tensor(op.inputs[0]), ArrayArg(before), ArrayArg(after),
                IntArg(out.quant.zp), StructArg(statics[1]), self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, "mcc_pad_s8", args, statics=statics, arrays=[before, after])

    def _lower_concatenation(self, index: int, op: Op) -> KernelCall:
        g = self.graph
        out = g.t(op.outputs[0])
        axis = op.attrs.axis
        outer = int(np.prod(out.shape[:axis], dtype=np.int64))
        inner = int(np.prod(out.shape[axis + 1 :], dtype=np.int64))
        sizes = CArray(self.sym(index, "axis_sizes"), "int32_t", np.array([g.t(n).shape[axis] for n in op.inputs], np.int64))
        lo, hi = fp.activation_range(op.attrs.activation, out)
        return self._concat_call(index, op, sizes, outer, inner, lo, hi)

    def _concat_call(self, index: int, op: Op, sizes: CArray, outer: int, inner: int, lo: int, hi: int) -> KernelCall:
        """mcc_concat_s8 over the op's inputs (constants as flash arrays), listed in a local pointer table."""
        arrays, ptrs = [sizes], []
        for k, name in enumerate(op.inputs):
            arg, arrs = self.operand(index, k, name)
            ptrs.append(arg.c())
            arrays += arrs
        local = self.sym(index, "inputs")
        args = [IntArg(len(op.inputs)), LocalArg(local), ArrayArg(sizes), IntArg(outer), IntArg(inner), IntArg(lo),
                IntArg(hi), self.tensor(op.outputs[0])]
        pre = [f"const int8_t *const {local}[{len(ptrs)}] = {{{', '.join(ptrs)}}};"]
        return KernelCall(index, op.name, op.kind, "mcc_concat_s8", args, arrays=arrays, pre=pre)

    def _lower_index_copy(self, index: int, op: Op) -> KernelCall:
        """Data movement: one mcc_index_map (per-axis offset tables in flash) per output, one call for all."""
        g = self.graph
        if g.t(op.inputs[0]).dtype != "int8":
            raise UnsupportedOpError(f"op {index} ({op.kind}) is {g.t(op.inputs[0]).dtype}; the C kernels take int8")
        maps = index_maps(op.kind, op.attrs, g.t(op.inputs[0]).shape, [g.t(n).shape for n in op.outputs])
        statics, arrays = [], []
        for k, m in enumerate(maps):
            m = m.reshape([d for d in m.shape if d != 1] or [1])  # size-1 axes cost loop levels, add nothing
            m, tables = separable(m)  # GATHER(_ND) over several index axes: those axes merged into one
            last = tables[-1]
            contiguous = int(bool(np.array_equal(last, last[0] + np.arange(last.size))))
            offsets = CArray(self.sym(index, f"offsets{k}"), "int32_t", np.concatenate(tables).astype(np.int64))
            arrays.append(offsets)
            dims = list(m.shape) + [1] * (6 - m.ndim)
            statics.append(CStatic("mcc_index_map", self.sym(index, f"map{k}"), [
                ("rank", str(m.ndim)), ("dims", "{" + ", ".join(map(str, dims)) + "}"),
                ("offsets", offsets.name), ("contiguous", str(contiguous))]))
        maps_local, outs_local = self.sym(index, "maps"), self.sym(index, "outs")
        pre = [f"const mcc_index_map *const {maps_local}[{len(maps)}] = {{{', '.join('&' + s.name for s in statics)}}};",
               f"int8_t *const {outs_local}[{len(maps)}] = {{{', '.join(self.ptr(n) for n in op.outputs)}}};"]
        args = [IntArg(len(maps)), LocalArg(maps_local), self.tensor(op.inputs[0]), LocalArg(outs_local)]
        return KernelCall(index, op.name, op.kind, "mcc_index_copy_s8", args, statics=statics, arrays=arrays, pre=pre)

    def _lower_pack(self, index: int, op: Op) -> KernelCall:
        """PACK is a CONCATENATION of its inputs along the new axis, each of extent 1 there."""
        g = self.graph
        out = g.t(op.outputs[0])
        axis = op.attrs.axis % len(out.shape)
        outer = int(np.prod(out.shape[:axis], dtype=np.int64))
        inner = int(np.prod(out.shape[axis + 1 :], dtype=np.int64))
        sizes = CArray(self.sym(index, "axis_sizes"), "int32_t", np.ones(len(op.inputs), np.int64))
        return self._concat_call(index, op, sizes, outer, inner, -128, 127)

    def _lower_resize(self, index: int, op: Op) -> KernelCall:
        """RESIZE_BILINEAR int8: per-row and per-column (first offset, second offset, weight) tables in flash;
        RESIZE_NEAREST_NEIGHBOR: per-row and per-column source offsets (the reference's index map)."""
        g = self.graph
        x, out = g.t(op.inputs[0]), g.t(op.outputs[0])
        if x.dtype != "int8":
            raise UnsupportedOpError(f"op {index} ({op.kind}) is {x.dtype}; the C kernels take int8")
        a, (_, h, w, c) = op.attrs, x.shape
        tables = []
        for what, size, out_size, stride in (("rows", h, a.size[0], w * c), ("cols", w, a.size[1], c)):
            if op.kind == "RESIZE_BILINEAR":
                lo, hi, frac = resize.bilinear_int_tables(size, int(out_size), a.align_corners, a.half_pixel_centers)
                # Two equal source rows (columns) weigh 1024 together whatever frac says: weight 0 is the same
                # sum and takes the kernel's cheaper path (the edges of half-pixel upscales).
                frac = np.where(lo == hi, 0, frac)
                values = np.stack([lo * stride, hi * stride, frac], axis=1).reshape(-1)
            else:
                values = resize.nearest_sources(size, int(out_size), a.align_corners, a.half_pixel_centers) * stride
            tables.append(CArray(self.sym(index, what), "int32_t", values.astype(np.int64)))
        statics = [self.dims_static(index, "in_dims", x.shape), self.dims_static(index, "out_dims", out.shape)]
        args = [StructArg(statics[0]), self.tensor(op.inputs[0]), ArrayArg(tables[0]), ArrayArg(tables[1]),
                StructArg(statics[1]), self.tensor(op.outputs[0])]
        function = "mcc_resize_bilinear_s8" if op.kind == "RESIZE_BILINEAR" else "mcc_resize_nearest_s8"
        return KernelCall(index, op.name, op.kind, function, args, statics=statics, arrays=tables)
    def _lower_batch_matmul(self, index: int, op: Op) -> KernelCall:
        """BATCH_MATMUL: the geometry and integer parameters of reference/batch_matmul.py. A constant operand
        becomes a flash array, stored already in the layout the kernel multiplies (rhs N x K, lhs M x K), so the
        kernel transposes only activations."""
        g = self.graph
        geo = bmm.geometry(g.t(op.inputs[0]).shape, g.t(op.inputs[1]).shape, op.attrs.adj_x, op.attrs.adj_y)
        p = bmm.batch_matmul_params(g, op)
        adj_x, adj_y = _batch_matmul_layout(g, op)

        def triple(values) -> str:
            return "{" + ", ".join(map(str, values)) + "}"

        params = CStatic("mcc_batch_matmul_params", self.sym(index, "params"), [
            *[(k, str(v)) for k, v in vars(p).items()], ("rows", str(geo.rows)), ("cols", str(geo.cols)),
            ("depth", str(geo.depth)), ("adj_x", str(int(adj_x))), ("adj_y", str(int(adj_y))),
            ("out_batch", triple(geo.out_batch)), ("lhs_stride", triple(geo.lhs_strides)),
            ("rhs_stride", triple(geo.rhs_strides)),
        ])
        ctx = self.scratch_ctx(index)
        ptrs, arrays = [], []
        for k, (name, stored, wanted) in enumerate(zip(op.inputs, (op.attrs.adj_x, op.attrs.adj_y), (adj_x, adj_y))):
            t = g.t(name)
            if t.is_const:
                data = np.swapaxes(t.data, -1, -2) if stored != wanted else t.data
                arrays.append(CArray(self.sym(index, f"operand{k}"), "int8_t", np.ascontiguousarray(data).reshape(-1),
                                     t.name + (" (transposed)" if stored != wanted else "")))
                ptrs.append(ArrayArg(arrays[-1]))
            else:
                ptrs.append(self.tensor(name))
        args = [StructArg(ctx), StructArg(params), *ptrs, self.tensor(op.outputs[0])]
        return KernelCall(index, op.name, op.kind, "mcc_batch_matmul_s8", args, statics=[ctx, params], arrays=arrays)

    def _lower_div(self, index: int, op: Op) -> KernelCall:
        return self._binary_call(index, op, "mcc_div_params", div_ref.div_params(self.graph, op), "mcc_div_s8")

    def _lower_transpose_conv(self, index: int, op: Op) -> KernelCall:
        """mcc_transpose_conv_s8 takes CONV_2D's records (pad_h/pad_w: TFLite's top/left padding)."""
        return self._conv_call(index, op, "mcc_transpose_conv_s8")


def _dual_target() -> bool:
    """Dual-row filters pay with the DSP extension's SMLAD; Helium targets take their MVE paths on plain filters."""
    tgt = sparse.current_target()
    return tgt.dsp and not tgt.mve


def _conv_function(graph: Graph, op: Op) -> str:
    a, w = op.attrs, graph.t(op.inputs[1])
    one_by_one = w.shape[1] == w.shape[2] == 1 and a.dilation_h == a.dilation_w == 1 and not (
        a.pad_top or a.pad_bottom or a.pad_left or a.pad_right)
    return "mcc_convolve_1x1_s8" if one_by_one else "mcc_convolve_s8"


def lowerable_kinds() -> list[str]:
    return [s.kind for s in all_specs() if s.lowering is not None]


DW_MAX_TAPS, DW_MAX_BAND_ROWS = 25, 16  # mcc_depthwise_conv_s8.c


def depthwise_band_bytes(in_w: int, out_w: int, kh: int, kw: int, stride_w: int, pad_left: int, dilation_h: int,
                         dilation_w: int, depth_multiplier: int) -> int:
    """Scratch of mcc_depthwise_conv_s8 (its int16 band of input rows); 0 where its grouped path does not apply."""
    rows = (kh - 1) * dilation_h + 1
    if depth_multiplier != 1 or kh * kw > DW_MAX_TAPS or rows > DW_MAX_BAND_ROWS:
        return 0
    reach = (out_w - 1) * stride_w + (kw - 1) * dilation_w + 1
    width = pad_left + in_w + max(reach - pad_left - in_w, 0)
    return (rows + 1) * width * 4 * 2


def depthwise_planar_bytes(in_h: int, out_h: int, kh: int, kw: int, stride_h: int, pad_top: int, pad_left: int,
                           dilation_h: int, dilation_w: int, depth_multiplier: int) -> int:
    """Scratch of mcc_depthwise_conv_s8's planar path (dw_pl_bytes: three input columns and a zero one, four
    channels each, int16 down the padded rows); 0 where its geometry (dw_pl_geometry) does not fit."""
    if (depth_multiplier, kh, kw, dilation_h, dilation_w) != (1, 3, 3, 1, 1) or stride_h not in (1, 2) or pad_left > 2:
        return 0
    reads = 2 * ((out_h + 1) // 2) + 2 if stride_h == 1 else 2 * out_h + 2
    col_len = (max(pad_top + in_h, reads) + 1) & ~1
    return 16 * col_len * 2


def depthwise_scratch_bytes(in_hw: tuple[int, int], out_hw: tuple[int, int], kh: int, kw: int, stride: tuple[int, int],
                            pad_top_left: tuple[int, int], dilation: tuple[int, int], depth_multiplier: int) -> int:
    """mcc_depthwise_conv_s8_get_buffer_size: the larger of the band and the planar columns (one plan for builds
    with and without the DSP extension)."""
    band = depthwise_band_bytes(in_hw[1], out_hw[1], kh, kw, stride[1], pad_top_left[1], dilation[0], dilation[1],
                                depth_multiplier)
    if band == 0:
        return 0
    return max(band, depthwise_planar_bytes(in_hw[0], out_hw[0], kh, kw, stride[0], pad_top_left[0], pad_top_left[1],
                                            dilation[0], dilation[1], depth_multiplier))


def _runs_dense(graph: Graph, op: Op) -> bool:
    choice = sparse.choose(graph, op)
    return choice is None or choice.format == "dense"


def conv_writes_over_input(graph: Graph, op: Op) -> bool:
    """mcc_convolve_1x1_s8 (dense, with its scratch) widens each pair of input pixels into its buffer before
    writing their outputs, and input pixel indices never fall behind output pixel indices; with C_out <= C_in
    output pixel p therefore never reaches an input pixel not yet read: the output may start at the input."""
    cout, _, _, cin = graph.t(op.inputs[1]).shape
    return _conv_function(graph, op) == "mcc_convolve_1x1_s8" and cout <= cin and _runs_dense(graph, op)


def depthwise_writes_over_input(graph: Graph, op: Op) -> bool:
    """mcc_depthwise_conv_s8's band path (depth multiplier 1, scratch given) runs group by group of four
    channels and writes a group's channels only. Within a group it widens every input row into the band
    before writing any output row whose pixels lie at or past that row's position (pad_h <= (KH-1) *
    dilation_h, stride >= 1) and never reads an input row again once its band slot is reused: the output
    may start at the input. With dilation_h > 1 the taps skip rows: input row r can be first needed by an output
    row below r, already written over it, so those layers never run in place. The planar path (3x3, dilation 1,
    pad_left <= 2, DSP builds) walks output columns: column x is written after the input columns up to
    x * stride_w - pad_left + 2 >= x were widened, so in place only where output pixel (y, x) lies on input pixel
    (y, x), i.e. output width = input width (a narrower output row reaches into input columns not widened yet)."""
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    a, (_, kh, kw, _) = op.attrs, graph.t(op.inputs[1]).shape
    planar = depthwise_planar_bytes(dims4(x.shape)[1], dims4(y.shape)[1], kh, kw, a.stride_h, a.pad_top, a.pad_left,
                                    a.dilation_h, a.dilation_w, getattr(a, "depth_multiplier", 1))
    return (depthwise_scratch(graph, op) > 0 and x.shape[-1] == y.shape[-1] and dims4(x.shape)[0] == 1
            and op.attrs.dilation_h == 1 and (planar == 0 or dims4(x.shape)[2] == dims4(y.shape)[2]))


def conv_scratch(graph: Graph, op: Op) -> int:
    """mcc_convolve_s8 / _1x1_s8: two output pixels' receptive fields as int16 (im2col; as long as a padded
    dual-row filter's rows, dual_rows.padded_k), then a 16-byte requantization entry per output channel."""
    cout, kh, kw, cin = graph.t(op.inputs[1]).shape
    k = dual_rows.padded_k(_conv_function(graph, op), kh * kw * cin)
    return 2 * k * 2 + 16 * cout


ADDSUB_TABLE_BYTES = 2 * 256 * 4  # MCC_ADDSUB_TABLE_BYTES: two int32 tables of the rescaled input values
ADDSUB_TABLE_MIN = 256  # outputs from which filling the tables (~6k instructions) pays (~27 saved per value)


def rq_fast(m: int, shift: int) -> bool:
    """mcc_rq_fast of mcc_requant.h: the rescale has the one-multiply-accumulate form."""
    return m == 0 or (m > 0 and -31 <= shift <= -1)


def addsub_fast(p: dict[str, int]) -> bool:
    """The test of mcc_addsub_s8 (mcc_addsub.h) for its precomputed paths, on mcc_add_params' fields: an input
    rescale may also be a bare multiplier (shift 0)."""
    inputs = ((p["input1_multiplier"], p["input1_shift"]), (p["input2_multiplier"], p["input2_shift"]))
    return (all(rq_fast(m, s) or (m > 0 and s == 0) for m, s in inputs)
            and rq_fast(p["output_multiplier"], p["output_shift"]) and 0 <= p["left_shift"] <= 22)


def addsub_scratch(graph: Graph, op: Op) -> int:
    """mcc_add_s8 / mcc_sub_s8: the rescale tables of mcc_addsub.h for an int8 layer of at least ADDSUB_TABLE_MIN
    outputs whose rescales take the fast forms (the C dispatch's test; otherwise the tables would go unused)."""
    out = graph.t(op.outputs[0])
    if out.dtype != "int8" or out.size < ADDSUB_TABLE_MIN:
        return 0
    return ADDSUB_TABLE_BYTES if addsub_fast(vars(fp.add_sub_params(graph, op))) else 0


def fully_connected_scratch_over_input(graph: Graph, op: Op) -> bool:
    """mcc_fully_connected_s8 widens its (single) input row into the scratch last group first, each int16
    group at or beyond every input byte still unread: the scratch may start at the dead input."""
    x, w = graph.t(op.inputs[0]), graph.t(op.inputs[1])
    return x.size == w.shape[1] and _runs_dense(graph, op)


def fully_connected_scratch(graph: Graph, op: Op) -> int:
    """mcc_fully_connected_s8: one input row as int16; the kernel uses it from four outputs on."""
    units, depth = graph.t(op.inputs[1]).shape
    return ((depth + 3) & ~3) * 2 if units >= 4 else 0


def depthwise_scratch(graph: Graph, op: Op) -> int:
    """mcc_depthwise_conv_s8: the input rows of one output row as int16, four channels at a time (or the
    planar path's input columns where larger)."""
    a = op.attrs
    _, kh, kw, _ = graph.t(op.inputs[1]).shape
    in_hw, out_hw = dims4(graph.t(op.inputs[0]).shape)[1:3], dims4(graph.t(op.outputs[0]).shape)[1:3]
    band = depthwise_scratch_bytes(in_hw, out_hw, kh, kw, (a.stride_h, a.stride_w), (a.pad_top, a.pad_left),
                                   (a.dilation_h, a.dilation_w), getattr(a, "depth_multiplier", 1))
    if not sparse.current_target().mve:
        return band
    c = graph.t(op.inputs[0]).shape[-1]
    return max(band, depthwise_mve_plane_bytes(in_hw, out_hw, kh, kw, (a.stride_h, a.stride_w),
                                               (a.pad_top, a.pad_left), (a.dilation_h, a.dilation_w), c,
                                               getattr(a, "depth_multiplier", 1)))


def depthwise_mve_plane_bytes(in_hw: tuple[int, int], out_hw: tuple[int, int], kh: int, kw: int,
                              stride: tuple[int, int], pad_top_left: tuple[int, int], dilation: tuple[int, int],
                              channels: int, depth_multiplier: int) -> int:
    """kernels/conv/mcc_depthwise_conv_mve.c plane_bytes (Helium): one channel's padded input plane (rounded up
    to 4) and a pointer per output pixel, where the window suits the planes (<= 16 taps, every tap within 255
    bytes of the window's start), else 0. The planes write a channel's outputs only after its whole plane is
    copied: the output may start at the input as with the band."""
    pw = max(pad_top_left[1] + in_hw[1], (out_hw[1] - 1) * stride[1] + (kw - 1) * dilation[1] + 1)
    ph = max(pad_top_left[0] + in_hw[0], (out_hw[0] - 1) * stride[0] + (kh - 1) * dilation[0] + 1)
    if (depth_multiplier != 1 or kh * kw > 16 or (kh - 1) * dilation[0] * pw + (kw - 1) * dilation[1] > 255
            or 15 * channels > 65535):
        return 0
    return ((ph * pw + 3) & ~3) + 4 * out_hw[0] * out_hw[1]


def _batch_matmul_layout(graph: Graph, op: Op) -> tuple[bool, bool]:
    """The (adj_x, adj_y) the C kernel sees: a constant operand is stored pre-transposed into the layout the
    kernel multiplies without a copy (lhs not adjoint, rhs adjoint)."""
    lhs_const, rhs_const = (graph.t(n).is_const for n in op.inputs[:2])
    return (op.attrs.adj_x and not lhs_const), (op.attrs.adj_y or rhs_const)


def batch_matmul_scratch(graph: Graph, op: Op) -> int:
    """mcc_batch_matmul_s8: one widened lhs row (from four columns on), the rhs transposed unless adj_y, the lhs
    transposed when adj_x, as the kernel sees them (mcc_batch_matmul_s8_get_buffer_size)."""
    g = bmm.geometry(graph.t(op.inputs[0]).shape, graph.t(op.inputs[1]).shape, op.attrs.adj_x, op.attrs.adj_y)
    adj_x, adj_y = _batch_matmul_layout(graph, op)
    row = ((g.depth + 3) & ~3) * 2 if g.cols >= 4 else 0
    return row + (0 if adj_y else g.cols * g.depth) + (g.rows * g.depth if adj_x else 0)


def transpose_conv_scratch(graph: Graph, op: Op) -> int:
    """mcc_transpose_conv_s8: its requantization table, 16 bytes per output channel (it gathers: no accumulators)."""
    return 16 * graph.t(op.inputs[1]).shape[0]


def scratch_size(graph: Graph, op: Op) -> int:
    """Bytes of scratch a layer needs: its kernel's, then a packed filter's unpacking buffer (codegen/packed.py)."""
    kernel = kernel_scratch_size(graph, op)
    return kernel + packed.extra_scratch(graph, op, kernel)


def kernel_scratch_size(graph: Graph, op: Op) -> int:
    """Bytes of scratch a kernel needs (its OpSpec's scratch function); mirrors the C *_get_buffer_size()."""
    if graph.t(op.outputs[0]).dtype == "int16":
        return 0  # the 16x8 kernels need no scratch
    sparse_bytes = sparse.sparse_scratch(graph, op)  # the sparse kernel's scratch when it runs
    if sparse_bytes is not None:
        return sparse_bytes
    fn = spec(op.kind).scratch
    return fn(graph, op) if fn is not None else 0


def scratch_sizes(graph: Graph) -> dict[int, int]:
    return {i: s for i, op in enumerate(graph.ops) if (s := scratch_size(graph, op)) > 0}


def lower_graph(graph: Graph, plan: MemoryPlan, prefix: str) -> list[KernelCall]:
    lowering = Lowering(graph, plan, prefix)
    return [lowering.lower(i, op) for i, op in enumerate(graph.ops)]
