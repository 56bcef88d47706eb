"""CONV_2D writing its output over its own dying input, the output starting a few bytes before it.

mcc_convolve_s8 (the im2col kernel, DSP, portable and Helium alike) handles output pixels in order, two at a
time: it reads every input byte the pair needs into its scratch (im2col) before writing the pair's outputs,
and reads only the taps inside the input. If the output starts D bytes before the input, the writes of the
pair ending at pixel p (bytes up to (p + 1) * C_out) must end at or before the first input byte any later pixel
reads (D + C_in times the row-major index of its first tap inside the input). D is the largest shortfall over
all pairs, computed here from the geometry: for a same-shape stride-1 convolution it is
(pad_top * W + pad_left) * C (ResNet-8's 3x3 layers: one 16 KB + 528 B buffer instead of 32 KB), and a stride-2
convolution that halves the image and doubles the channels (ResNet-8's downsampling) writes at D = 0. The planner
(plan/liveness.py) places the output D bytes, rounded up to the arena's 16-byte alignment, below the input.
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op

ALIGN = 16  # the arena's alignment: the input's offset stays aligned


def conv_output_lag(graph: Graph, op: Op) -> int | None:
    """Bytes the output of this CONV_2D must start before its input to be written over it (0: at the input's
    start); None when the kernel chosen for it does not qualify (another kernel, a sparse format, batches)."""
    from mcucompress.codegen.lower import _conv_function, _runs_dense

    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    if x.dtype != "int8" or y.dtype != "int8" or len(x.shape) != 4 or x.shape[0] != 1 or y.shape[0] != 1:
        return None
    if _conv_function(graph, op) != "mcc_convolve_s8" or not _runs_dense(graph, op):
        return None
    _, kh, kw, _ = graph.t(op.inputs[1]).shape
    lag = pair_order_lag(x.shape[1:], y.shape[1:], (kh, kw), op.attrs)
    return -(-lag // ALIGN) * ALIGN


def pair_order_lag(in_hwc, out_hwc, kernel: tuple[int, int], a) -> int:
    """D of the module docstring for an input of shape in_hwc and output out_hwc (a: strides, pads, dilations)."""
    (h, w, cin), (oh, ow, cout), (kh, kw) = in_hwc, out_hwc, kernel
    oy, ox = np.divmod(np.arange(oh * ow), ow)
    first = []  # per output pixel: the row-major index of its first tap inside the input (huge: none)
    for origin, size, dil, taps, grid in ((oy * a.stride_h - a.pad_top, h, a.dilation_h, kh, oy),
                                          (ox * a.stride_w - a.pad_left, w, a.dilation_w, kw, ox)):
        steps = np.where(origin < 0, (dil - 1 - origin) // dil, 0)  # taps skipped above / left of the input
        tap = origin + steps * dil
        first.append(np.where((steps < taps) & (tap < size), tap, -1))
    inside = (first[0] >= 0) & (first[1] >= 0)
    read = np.where(inside, first[0] * w + first[1], np.iinfo(np.int64).max // (4 * max(cin, 1)))
    later = np.minimum.accumulate(read[::-1])[::-1]  # the first byte any pixel from q on reads, / C_in
    n = oh * ow
    ends = np.minimum(np.arange(2, n + 2, 2), n)  # the pair starting at pixel 2j writes up to pixel ends[j]
    nxt = np.array([later[e] if e < n else np.iinfo(np.int64).max // (4 * max(cin, 1)) for e in ends])
    return int(max(0, np.max(ends * cout - nxt * cin)))
