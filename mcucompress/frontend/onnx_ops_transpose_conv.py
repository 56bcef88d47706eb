"""ONNX ConvTranspose -> TRANSPOSE_CONV (group 1, dilation 1, explicit pads or VALID, output_padding).

ONNX weights [C_in, C_out, kh, kw] become the IR's [C_out, kh, kw, C_in]. Output row oy receives input row
iy through tap oy + pads_begin - iy * stride, as in TFLite; output_padding adds rows at the end (bias
only) and so lowers the bottom/right pad, which the IR stores as pad_bottom = pads_end - output_padding.
"""

from __future__ import annotations

from mcucompress.frontend.onnx_context import Importer, converter
from mcucompress.frontend.onnx_layout import NHWC
from mcucompress.frontend.onnx_ops import bias_tensor, int8_checked, weight_tensor
from mcucompress.ir import ops as irops


@converter("ConvTranspose")
def conv_transpose(ctx: Importer, node) -> None:
    x = int8_checked(ctx, ctx.spatial(node.input[0]), node.input[0])
    cin = ctx.shape(node.input[0])[1]
    w_shape = ctx.shape(node.input[1])
    if len(w_shape) != 4:
        ctx.fail(f"weights of shape {list(w_shape)} are not supported; only 2D transposed convolutions are")
    w_in, cout, kh, kw = w_shape
    if ctx.attr("group", 1) != 1 or w_in != cin:
        ctx.fail(f"group={ctx.attr('group', 1)} is not supported; only group=1 transposed convolutions are")
    if list(ctx.attr("dilations", [1, 1])) != [1, 1]:
        ctx.fail(f"dilations {list(ctx.attr('dilations'))} are not supported; only dilation 1 is")
    if ctx.attr("output_shape", None) is not None:
        ctx.fail("the output_shape attribute is not supported; export with explicit pads")
    auto = ctx.attr("auto_pad", "NOTSET")
    if auto not in ("NOTSET", "VALID"):
        ctx.fail(f"auto_pad={auto} is not supported; export with explicit pads")
    strides = list(ctx.attr("strides", [1, 1]))
    pads = [0, 0, 0, 0] if auto == "VALID" else list(ctx.attr("pads", [0, 0, 0, 0]))
    extra = list(ctx.attr("output_padding", [0, 0]))
    if len(strides) != 2 or len(pads) != 4 or len(extra) != 2:
        ctx.fail(f"strides {strides}, pads {pads}, output_padding {extra} are not 2D")
    attrs = irops.TransposeConvAttrs(stride_h=strides[0], stride_w=strides[1], pad_top=pads[0],
                                     pad_bottom=pads[2] - extra[0], pad_left=pads[1], pad_right=pads[3] - extra[1])
    for k, s, before, after in ((kh, strides[0], attrs.pad_top, attrs.pad_bottom),
                                (kw, strides[1], attrs.pad_left, attrs.pad_right)):
        if not 0 <= before < k or not 1 - s <= after < k:
            ctx.fail(f"pads {pads} with output_padding {extra} are not supported for a {k}-tap kernel at stride {s}; "
                     "pads must be below the kernel size and output_padding below the stride")
    w = weight_tensor(ctx, node.input[1], lambda a: a.transpose(1, 2, 3, 0), 1, 0)
    b = bias_tensor(ctx, ctx.inp(2), cout, x, w)
    y = ctx.add_act(node.output[0], NHWC)
    ctx.emit("TRANSPOSE_CONV", [x.name, w, b], [y.name], attrs)
