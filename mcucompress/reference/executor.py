"""Run a Graph on numpy arrays: int8 ops with TFLM's integer arithmetic, float32 ops in float32.

Each op kind's function (graph, op, inputs) -> output array is named by its OpSpec in the op registry
(mcucompress.ir.registry); this module holds those of the weighted, pooling, binary and data-movement
ops. Integer parameters come from mcucompress.fixedpoint.params, the same records the C code generator emits.
"""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint import params as fp
from mcucompress.ir import Graph, Op
from mcucompress.reference import conv, elementwise, int16, pool, softmax

FLOAT_ACT_RANGE = {"NONE": (-np.inf, np.inf), "RELU": (0.0, np.inf), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}

def _is_int8(graph: Graph, op: Op) -> bool:
    return graph.t(op.outputs[0]).dtype == "int8"


def _is_int16(graph: Graph, op: Op) -> bool:
    return graph.t(op.outputs[0]).dtype == "int16"


def _float_act(x: np.ndarray, activation: str) -> np.ndarray:
    lo, hi = FLOAT_ACT_RANGE[activation]
    return np.clip(x, lo, hi).astype(np.float32)


def weighted(graph: Graph, op: Op, xs: list) -> np.ndarray:
    if _is_int16(graph, op):  # 16x8: int16 activations, int8 weights
        return int16.weighted(graph, op, xs)
    x, w = xs[0], xs[1]
    out_shape = graph.t(op.outputs[0]).shape
    if _is_int8(graph, op):
        p = fp.conv_params(graph, op)
        if op.kind == "CONV_2D":
            return conv.conv2d_s8(x, w, p, op.attrs, out_shape)
        if op.kind == "DEPTHWISE_CONV_2D":
            return conv.depthwise_conv2d_s8(x, w, p, op.attrs, out_shape)
        return conv.fully_connected_s8(x, w, p, out_shape)
    b = xs[2] if len(xs) > 2 else None
    return _float_act(conv.weighted_f32(op.kind, x, w, b, op.attrs, out_shape), op.attrs.activation)


def pooling(graph: Graph, op: Op, xs: list) -> np.ndarray:
    if _is_int16(graph, op):  # 16x8: int16 activations, int8 weights
        return int16.pooling(graph, op, xs)
    out_shape = graph.t(op.outputs[0]).shape
    if _is_int8(graph, op):
        p = fp.pool_params(graph, op)
        fn = pool.average_pool_s8 if op.kind == "AVERAGE_POOL_2D" else pool.max_pool_s8
        return fn(xs[0], op.attrs, out_shape, p.act_min, p.act_max)
    fn = pool.average_pool_f32 if op.kind == "AVERAGE_POOL_2D" else pool.max_pool_f32
    return fn(xs[0], op.attrs, out_shape, *FLOAT_ACT_RANGE[op.attrs.activation])


def binary(graph: Graph, op: Op, xs: list) -> np.ndarray:
    if _is_int16(graph, op):  # 16x8: int16 activations, int8 weights
        return int16.binary(graph, op, xs)
    a, b = xs
    if _is_int8(graph, op):
        if op.kind == "MUL":
            return elementwise.mul_s8(a, b, fp.mul_params(graph, op))
        return elementwise.add_sub_s8(a, b, fp.add_sub_params(graph, op), subtract=op.kind == "SUB")
    fn = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply}[op.kind]
    return _float_act(fn(a.astype(np.float32), b.astype(np.float32)), op.attrs.activation)


def softmax_op(graph: Graph, op: Op, xs: list) -> np.ndarray:
    if _is_int16(graph, op):  # 16x8: int16 activations, int8 weights
        return int16.softmax(graph, op, xs)
    if _is_int8(graph, op):
        return softmax.softmax_s8(xs[0], fp.softmax_params(graph, op))
    return softmax.softmax_f32(xs[0], op.attrs.beta)


def reshape(graph: Graph, op: Op, xs: list) -> np.ndarray:
    return xs[0].reshape((-1,) + graph.t(op.outputs[0]).shape[1:])


def pad(graph: Graph, op: Op, xs: list) -> np.ndarray:
    out = graph.t(op.outputs[0])
    value = out.quant.zp if out.dtype == "int8" else 0
    return np.pad(xs[0], op.attrs.paddings, constant_values=value)


def concatenation(graph: Graph, op: Op, xs: list) -> np.ndarray:
    y = np.concatenate(xs, axis=op.attrs.axis)
    if _is_int8(graph, op):
        lo, hi = fp.activation_range(op.attrs.activation, graph.t(op.outputs[0]))
        return np.clip(y, lo, hi).astype(np.int8)
    return _float_act(y, op.attrs.activation)


def outputs_of(op: Op, y) -> dict:
    """run_op's result as {output name: array} (it is a list for an op of several outputs)."""
    return dict(zip(op.outputs, y if len(op.outputs) > 1 else [y]))


def concat_chunks(op: Op, chunks: list):
    """run_op's results over consecutive chunks of samples, joined along the batch."""
    if len(op.outputs) > 1:
        return [np.concatenate([c[k] for c in chunks]) for k in range(len(op.outputs))]
    return np.concatenate(chunks)


def state_reset_value(t) -> int:
    """What TFLM's ResetVariableTensors writes: an int8 state its zero point (real 0), anything else 0."""
    return t.quant.zp if t.dtype == "int8" and t.quant is not None else 0


def initial_state(graph: Graph) -> dict[str, np.ndarray]:
    """The graph's variable (state) tensors at reset: what TFLM and the generated C start from."""
    return {n: np.full(t.shape, state_reset_value(t), t.dtype) for n, t in graph.tensors.items() if t.variable}


def run(graph: Graph, inputs: list[np.ndarray], keep_all: bool = False,
        state: dict[str, np.ndarray] | None = None) -> list[np.ndarray] | dict:
    """Execute the graph on one batch; inputs are in the model's input dtypes and shapes.

    state: the variable tensors' arrays (initial_state(graph)), updated in place, so that consecutive runs
    continue the recurrence as consecutive TFLM invokes do; None starts from zeros and keeps nothing."""
    values: dict[str, np.ndarray] = {n: t.data for n, t in graph.tensors.items() if t.is_const}
    values.update(state if state is not None else initial_state(graph))
    for name, x in zip(graph.inputs, inputs):
        t = graph.t(name)
        values[name] = np.asarray(x, dtype=t.dtype).reshape((-1,) + t.shape[1:]) if t.shape else np.asarray(x)
    for op in graph.ops:
        values.update(outputs_of(op, run_op(graph, op, [values[n] if n else None for n in op.inputs])))
    if keep_all:
        return values
    return [values[n] for n in graph.outputs]


def run_op(graph: Graph, op: Op, xs: list) -> np.ndarray:
    """One op on its input arrays (None for an empty optional input), as an array of the output's dtype and
    shape (any batch size), or a list of them for an op of several outputs (SPLIT, UNPACK);
    UnsupportedOpError for a kind the registry does not know."""
    from mcucompress.ir.registry import spec  # the registry's entries refer back to this module

    y = spec(op.kind).reference(graph, op, [x for x in xs if x is not None])
    ys = y if len(op.outputs) > 1 else [y]
    outs = [np.asarray(v).astype(graph.t(n).dtype).reshape((-1,) + tuple(graph.t(n).shape[1:]))
            if graph.t(n).shape else np.asarray(v).astype(graph.t(n).dtype).reshape(())
            for v, n in zip(ys, op.outputs)]
    return outs if len(op.outputs) > 1 else outs[0]
