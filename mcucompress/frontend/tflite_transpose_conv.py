"""TFLite TRANSPOSE_CONV <-> the IR: operand order, SAME/VALID padding as TFLM computes it, output shape.

TFLite orders the operands (output_shape, weights, input, optional bias); the IR keeps the activation first
like CONV_2D (input, weights, bias) and takes the output size from the output tensor, which must equal the
constant output_shape operand. TFLM derives the padding from the *output* size, as a convolution from the
output back to the input would pad it (lite/kernels/padding.h), and uses only its top/left half; the
bottom/right pads follow from the output size (negative when the output is taller than the full scatter).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tflite

from mcucompress.errors import GraphError, ModelFileError, UnsupportedOpError
from mcucompress.ir import Graph, Op
from mcucompress.ir import ops as irops


def tflm_pad(padding: int, out_size: int, filt: int, stride: int) -> int:
    """TFLM's ComputePaddingHeightWidth on the output extent (dilation 1): the top (left) pad."""
    if padding == tflite.Padding.SAME:
        conv_out = (out_size + stride - 1) // stride
    else:  # VALID; C division truncates toward zero
        conv_out = int((out_size + stride - filt) / stride)
    total = (conv_out - 1) * stride + filt - out_size
    return max(total, 0) // 2


def ir_inputs(path: Path, graph: Graph, index: int, ins: list[str], outs: list[str]) -> list[str]:
    """(output_shape, weights, input[, bias]) -> [input, weights, bias or omitted], output_shape checked."""
    if len(ins) < 3 or not all(ins[:3]) or not outs:
        raise ModelFileError(f"{path}: op {index} (TRANSPOSE_CONV) lacks a required input or output; the file is corrupt")
    shape_t, out = graph.t(ins[0]), graph.t(outs[0])
    if shape_t.data is None:
        raise UnsupportedOpError(f"{path}: op {index} (TRANSPOSE_CONV) has a non-constant output_shape; convert the "
                                 "model with a fixed output shape")
    if tuple(int(d) for d in np.asarray(shape_t.data).reshape(-1)) != tuple(out.shape):
        raise ModelFileError(f"{path}: op {index} (TRANSPOSE_CONV) output_shape {np.asarray(shape_t.data).tolist()} "
                             f"differs from its output tensor's shape {list(out.shape)}; the file is corrupt")
    bias = ins[3] if len(ins) > 3 and ins[3] else None
    return [ins[2], ins[1]] + ([bias] if bias else [])


def attrs(path: Path, graph: Graph, index: int, op, ins: list[str], outs: list[str], options, activation):
    """TransposeConvAttrs from the options (`options` reads the table, `activation` maps the fused code)."""
    o = options(path, index, "TRANSPOSE_CONV", op, tflite.TransposeConvOptions)
    x, w, out = graph.t(ins[0]), graph.t(ins[1]), graph.t(outs[0])
    for t, what in ((x, "input"), (w, "weights"), (out, "output")):
        if len(t.shape) != 4 or min(t.shape) <= 0:
            raise ModelFileError(f"{path}: op {index} (TRANSPOSE_CONV) {what} '{t.name}' has shape {list(t.shape)}; "
                                 "it needs 4 positive dimensions; the file is corrupt")
    pads = []
    for axis, stride in ((1, o.StrideH()), (2, o.StrideW())):
        k = w.shape[axis]
        before = tflm_pad(o.Padding(), out.shape[axis], k, stride)
        pads += [before, (x.shape[axis] - 1) * stride + k - before - out.shape[axis]]
    return irops.TransposeConvAttrs(o.StrideH(), o.StrideW(), pads[0], pads[1], pads[2], pads[3],
                                    activation(path, index, "TRANSPOSE_CONV", o.FusedActivationFunction()))


def padding_of(graph: Graph, op: Op) -> int:
    """The TFLite padding (SAME or VALID) under which TFLM computes this op's top/left pads; GraphError if none."""
    a, w, out = op.attrs, graph.t(op.inputs[1]), graph.t(op.outputs[0])
    for padding in (tflite.Padding.VALID, tflite.Padding.SAME):
        if (tflm_pad(padding, out.shape[1], w.shape[1], a.stride_h) == a.pad_top
                and tflm_pad(padding, out.shape[2], w.shape[2], a.stride_w) == a.pad_left):
            return padding
    raise GraphError(f"op '{op.name}' (TRANSPOSE_CONV): pads top {a.pad_top}, left {a.pad_left} are neither TFLite "
                     f"SAME nor VALID for kernel {list(w.shape[1:3])}, strides {[a.stride_h, a.stride_w]} and "
                     f"output {list(out.shape)}; a TFLite TRANSPOSE_CONV cannot express them")


def writer_operands(low, op: Op) -> tuple[list[int], str, dict]:
    """tflite_writer's lowering: (output_shape constant, weights, input[, bias]), TransposeConvOptions."""
    graph = low.graph
    shape = low.add_const(f"{op.outputs[0]}_output_shape", list(graph.t(op.outputs[0]).shape))
    inputs = [shape, low.ref(op.inputs[1]), low.ref(op.inputs[0])]
    if len(op.inputs) > 2 and op.inputs[2]:
        inputs.append(low.ref(op.inputs[2]))
    fields = {"Padding": padding_of(graph, op), "StrideW": op.attrs.stride_w, "StrideH": op.attrs.stride_h}
    return inputs, "TransposeConvOptions", fields


def version(graph: Graph, op: Op) -> int:
    """The converter's version (lite/tools/versioning/op_version.cc): 4 with a fused activation, 3 with a bias,
    2 for int8 weights, else 1."""
    if op.attrs.activation != "NONE":
        return 4
    if len(op.inputs) > 2 and op.inputs[2]:
        return 3
    return 2 if graph.t(op.inputs[1]).dtype == "int8" else 1
