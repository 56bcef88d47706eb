"""CONV_2D writing its output over its own dying input, the output starting a few rows before it.

mcc_convolve_s8 (the im2col kernel) handles output pixels in order, two at a time: it reads every input byte
the pair needs into its scratch (im2col) before writing the pair's outputs, and reads only the taps inside
the input. With batch 1, stride 1, dilation 1 and an output of the input's shape (C_out = C_in, "same"
padding), pixel q reads no input pixel below q - (pad_top * W + pad_left). So if the output starts
D = (pad_top * W + pad_left) * C bytes before the input, a pair's writes (pixels p, p + 1: bytes up to
(p + 2) * C - D) end at or before the first byte any later pair reads ((p + 2 - pad_top * W - pad_left) * C):
input and output share one buffer of |input| + D bytes instead of two (ResNet-8's 3x3 convolutions: 16 KB +
528 B instead of 32 KB). The planner (plan/liveness.py) places the output D bytes, rounded up to the arena's
16-byte alignment, below the input.
"""

from __future__ import annotations

from mcucompress.ir import Graph, Op

ALIGN = 16  # the arena's alignment: the input's offset stays aligned


def conv_output_lag(graph: Graph, op: Op) -> int:
    """Bytes the output of this CONV_2D must start before its input to be written over it; 0 when the kernel
    chosen for it does not qualify (another kernel, a sparse format, strides, dilation, another shape)."""
    from mcucompress.codegen.lower import _conv_function, _runs_dense

    a = op.attrs
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if x.dtype != "int8" or y.dtype != "int8" or len(x.shape) != 4 or x.shape != y.shape or x.shape[0] != 1:
        return 0
    if (a.stride_h, a.stride_w, a.dilation_h, a.dilation_w) != (1, 1, 1, 1):
        return 0
    if _conv_function(graph, op) != "mcc_convolve_s8" or not _runs_dense(graph, op):
        return 0
    _, _, w, c = x.shape
    lag = (a.pad_top * w + a.pad_left) * c
    return -(-lag // ALIGN) * ALIGN
