"""Small IR graphs built in code, so tests run without model files."""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op, QuantParams, Tensor
from mcucompress.ir import ops as irops


def q(scale: float, zp: int = 0) -> QuantParams:
    return QuantParams(np.array([scale], np.float32), np.array([zp]))


def tiny_conv_fc(seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    g = Graph(name="tiny")
    g.add_tensor(Tensor("x", (1, 6, 6, 2), "int8", q(0.05, -3)))
    w_scales = rng.uniform(0.002, 0.02, 4).astype(np.float32)
    g.add_tensor(Tensor("w", (4, 3, 3, 2), "int8", QuantParams(w_scales, np.zeros(4), 0),
                        rng.integers(-127, 128, (4, 3, 3, 2))))
    g.add_tensor(Tensor("b", (4,), "int32", QuantParams(w_scales * np.float32(0.05), np.zeros(4), 0),
                        rng.integers(-500, 500, 4)))
    g.add_tensor(Tensor("c", (1, 3, 3, 4), "int8", q(0.04, -128)))
    g.add_tensor(Tensor("flat", (1, 36), "int8", q(0.04, -128)))
    g.add_tensor(Tensor("fw", (5, 36), "int8", q(0.01), rng.integers(-127, 128, (5, 36))))
    g.add_tensor(Tensor("fb", (5,), "int32", q(0.0004), rng.integers(-300, 300, 5)))
    g.add_tensor(Tensor("y", (1, 5), "int8", q(0.1, 5)))
    g.ops = [
        Op("CONV_2D", ["x", "w", "b"], ["c"], irops.Conv2DAttrs(stride_h=2, stride_w=2, pad_top=0, pad_bottom=1,
                                                               pad_left=0, pad_right=1, activation="RELU"), "conv"),
        Op("RESHAPE", ["c"], ["flat"], irops.NoAttrs(), "reshape"),
        Op("FULLY_CONNECTED", ["flat", "fw", "fb"], ["y"], irops.FullyConnectedAttrs(), "fc"),
    ]
    g.inputs, g.outputs = ["x"], ["y"]
    return g
