"""An int8 conv -> RESIZE_NEAREST_NEIGHBOR (2x) -> conv -> RESIZE_BILINEAR (2x, then 1.5x x 1.25x) -> conv chain,
quantized by our PTQ from a random float graph (shared by the host, TFLM and QEMU tests)."""

from __future__ import annotations

import numpy as np

import mcucompress
from mcucompress.ir import Graph, Op, Tensor
from mcucompress.ir import ops as irops


def resize_chain(seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    g = Graph(name="resize_chain")
    shapes = {"x": (1, 6, 6, 3), "a": (1, 6, 6, 8), "n": (1, 12, 12, 8), "b": (1, 12, 12, 8), "r": (1, 24, 24, 8),
              "c": (1, 24, 24, 4), "h": (1, 36, 30, 4), "y": (1, 36, 30, 2)}
    for n, s in shapes.items():
        g.add_tensor(Tensor(n, s, "float32"))
    weights = {"w1": (8, 3, 3, 3), "w2": (8, 1, 1, 8), "w3": (4, 1, 1, 8), "w4": (2, 1, 1, 4)}
    for n, s in weights.items():
        g.add_tensor(Tensor(n, s, "float32", data=(rng.standard_normal(s) * 0.4).astype(np.float32)))
        g.add_tensor(Tensor(n.replace("w", "b"), (s[0],), "float32",
                            data=(rng.standard_normal(s[0]) * 0.1).astype(np.float32)))
    same = irops.Conv2DAttrs(pad_top=1, pad_bottom=1, pad_left=1, pad_right=1, activation="RELU")
    g.ops = [
        Op("CONV_2D", ["x", "w1", "b1"], ["a"], same, "conv1"),
        Op("RESIZE_NEAREST_NEIGHBOR", ["a"], ["n"], irops.ResizeAttrs((12, 12)), "nearest2x"),
        Op("CONV_2D", ["n", "w2", "b2"], ["b"], irops.Conv2DAttrs(activation="RELU"), "conv2"),
        Op("RESIZE_BILINEAR", ["b"], ["r"], irops.ResizeAttrs((24, 24)), "bilinear2x"),
        Op("CONV_2D", ["r", "w3", "b3"], ["c"], irops.Conv2DAttrs(), "conv3"),
        Op("RESIZE_BILINEAR", ["c"], ["h"], irops.ResizeAttrs((36, 30), half_pixel_centers=True), "bilinear_frac"),
        Op("CONV_2D", ["h", "w4", "b4"], ["y"], irops.Conv2DAttrs(), "conv4"),
    ]
    g.inputs, g.outputs = ["x"], ["y"]
    cal = (rng.standard_normal((16, 6, 6, 3)) * 2).astype(np.float32)
    return mcucompress.quantize(g, cal)
