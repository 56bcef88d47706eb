"""The TF converter's dilated convolution, SPACE_TO_BATCH_ND -> CONV_2D/DEPTHWISE_CONV_2D -> BATCH_TO_SPACE_ND,
becomes one convolution with dilation = the block shape (our kernels take dilation directly).

Why it is exact: the space-to-batch phases (i, j) of the padded input, each convolved VALID at stride 1 and
interleaved back by batch-to-space, are the VALID dilated convolution of the padded input; cropping its
edges leaves pads (before - crop_before, after - crop_after). The padding value is the zero point (real 0),
which is what a convolution's own padding adds. Folded only when those pads are >= 0, the inner convolution
has stride 1, dilation 1 and no padding, both blocks are equal, the intermediate tensors feed nothing else,
and each movement op keeps its quantization (it copies bytes).
"""

from __future__ import annotations

from mcucompress.ir import Graph, Op
from mcucompress.passes.util import remove_op, sole_consumer

CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _same_quant(graph: Graph, a: str, b: str) -> bool:
    qa, qb = graph.t(a).quant, graph.t(b).quant
    return (qa is None and qb is None) or (qa is not None and qb is not None and qa == qb)


def rewrite(graph: Graph, op: Op) -> bool:
    if op.kind != "SPACE_TO_BATCH_ND" or len(graph.t(op.inputs[0]).shape) != 4 or len(op.attrs.block_shape) != 2:
        return False
    conv = sole_consumer(graph, op.outputs[0])
    if conv is None or conv.kind not in CONVS or conv.inputs[0] != op.outputs[0]:
        return False
    c = conv.attrs
    if (c.stride_h, c.stride_w, c.dilation_h, c.dilation_w) != (1, 1, 1, 1) or \
            (c.pad_top, c.pad_bottom, c.pad_left, c.pad_right) != (0, 0, 0, 0):
        return False
    b2s = sole_consumer(graph, conv.outputs[0])
    if b2s is None or b2s.kind != "BATCH_TO_SPACE_ND" or tuple(b2s.attrs.block_shape) != tuple(op.attrs.block_shape):
        return False
    pads = [p - q for pq, cr in zip(op.attrs.paddings, b2s.attrs.paddings) for p, q in zip(pq, cr)]
    if min(pads) < 0 or not _same_quant(graph, op.inputs[0], op.outputs[0]) or \
            not _same_quant(graph, b2s.inputs[0], b2s.outputs[0]):
        return False
    x, y = graph.t(op.inputs[0]), graph.t(b2s.outputs[0])
    if x.shape[0] != y.shape[0]:
        return False
    dh, dw = (int(d) for d in op.attrs.block_shape)
    c.dilation_h, c.dilation_w = dh, dw
    c.pad_top, c.pad_bottom, c.pad_left, c.pad_right = pads
    conv.inputs = [op.inputs[0], *conv.inputs[1:]]
    conv.outputs = list(b2s.outputs)
    remove_op(graph, op)
    remove_op(graph, b2s)
    return True
