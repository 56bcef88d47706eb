"""Random single-op 16x8 graphs (int16 activations with zero point 0, int8 weights, int64 or int32 bias).

Shared by the reference-vs-TFLM tests (tests/unit/test_int16_ops.py) and the host C tests. Output scales
are drawn around the expected spread of the results, so most outputs are neither zero nor saturated.
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op, QuantParams, Tensor
from mcucompress.ir import ops as irops

KINDS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MUL", "MAX_POOL_2D", "AVERAGE_POOL_2D", "SOFTMAX",
         "LOGISTIC", "TANH")
ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def q16(scale: float) -> QuantParams:
    return QuantParams(np.array([scale], np.float32), np.array([0]))


def log_uniform(rng, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _graph(kind: str, tensors: list[Tensor], ins: list[str], attrs) -> Graph:
    g = Graph(name=kind.lower() + "_16x8")
    for t in tensors:
        g.add_tensor(t)
    g.ops = [Op(kind, ins, ["out"], attrs, kind.lower())]
    g.inputs = [n for n in ins if n and not g.t(n).is_const]
    g.outputs = ["out"]
    return g


def _weights(rng, shape, axis: int) -> Tensor:
    channels = shape[axis]
    per_channel = rng.random() < 0.7
    scales = rng.uniform(0.002, 0.02, channels if per_channel else 1).astype(np.float32)
    data = rng.integers(-127, 128, shape).astype(np.int8)
    return Tensor("w", shape, "int8", QuantParams(scales, np.zeros(scales.size, np.int64), axis if per_channel else 0), data)


def _bias(rng, channels: int, s_in: float, w: Tensor, wide: bool) -> Tensor:
    scales = (np.float32(s_in) * np.broadcast_to(w.quant.scale, (channels,))).astype(np.float32)
    hi = 1 << (20 if wide else 16)
    return Tensor("b", (channels,), "int64" if wide else "int32",
                  QuantParams(scales, np.zeros(channels, np.int64), 0), rng.integers(-hi, hi, channels))


def _out_scale(rng, s_in: float, w: Tensor, terms: int) -> float:
    return s_in * float(np.mean(w.quant.scale)) * np.sqrt(terms) * 150 * log_uniform(rng, 0.3, 3)


def _padding(same: bool, in_size: int, k: int, stride: int, dilation: int) -> tuple[int, int, int]:
    """(out, before, after) for SAME or VALID (SAME when the window does not fit)."""
    eff = (k - 1) * dilation + 1
    if same:
        out = -(-in_size // stride)
        total = max((out - 1) * stride + eff - in_size, 0)
        return out, total // 2, total - total // 2
    return (in_size - eff) // stride + 1, 0, 0


def conv(rng, depthwise: bool = False) -> Graph:
    h, w_, c = (int(v) for v in rng.integers(1, 9, 3))
    k_h, k_w = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    dh, dw = (1, 1) if rng.random() < 0.7 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    same = rng.random() < 0.5 or h < (k_h - 1) * dh + 1 or w_ < (k_w - 1) * dw + 1
    oh, top, bottom = _padding(same, h, k_h, sh, dh)
    ow, left, right = _padding(same, w_, k_w, sw, dw)
    s_in = log_uniform(rng, 1e-4, 1e-2)
    act = str(rng.choice(ACTIVATIONS))
    if depthwise:
        m = int(rng.integers(1, 3))
        oc = c * m
        wt = _weights(rng, (1, k_h, k_w, oc), 3)
        attrs = irops.DepthwiseConv2DAttrs(sh, sw, dh, dw, top, bottom, left, right, act, m)
        terms, wide = k_h * k_w, True
    else:
        oc = int(rng.integers(1, 9))
        wt = _weights(rng, (oc, k_h, k_w, c), 0)
        attrs = irops.Conv2DAttrs(sh, sw, dh, dw, top, bottom, left, right, act)
        terms, wide = k_h * k_w * c, rng.random() < 0.75
    tensors = [Tensor("x", (1, h, w_, c), "int16", q16(s_in)), wt,
               Tensor("out", (1, oh, ow, oc), "int16", q16(_out_scale(rng, s_in, wt, terms)))]
    ins = ["x", "w"]
    if rng.random() < 0.85:
        tensors.append(_bias(rng, oc, s_in, wt, wide))
        ins.append("b")
    return _graph("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", tensors, ins, attrs)


def fully_connected(rng) -> Graph:
    batches, depth, units = int(rng.integers(1, 4)), int(rng.integers(1, 40)), int(rng.integers(1, 12))
    s_in = log_uniform(rng, 1e-4, 1e-2)
    wt = _weights(rng, (units, depth), 0)
    tensors = [Tensor("x", (batches, depth), "int16", q16(s_in)), wt,
               Tensor("out", (batches, units), "int16", q16(_out_scale(rng, s_in, wt, depth)))]
    ins = ["x", "w"]
    if rng.random() < 0.85:
        tensors.append(_bias(rng, units, s_in, wt, rng.random() < 0.75))
        ins.append("b")
    return _graph("FULLY_CONNECTED", tensors, ins, irops.FullyConnectedAttrs(str(rng.choice(ACTIVATIONS))))


def binary(rng, kind: str) -> Graph:
    shape = (1,) + tuple(int(d) for d in rng.integers(1, 7, int(rng.integers(1, 4))))
    other = tuple(d if rng.random() < 0.7 else 1 for d in shape)  # broadcast some axes
    sa, sb = log_uniform(rng, 1e-4, 1e-2), log_uniform(rng, 1e-4, 1e-2)
    so = (sa * sb * 32768 * 10 if kind == "MUL" else 2 * max(sa, sb)) * log_uniform(rng, 0.5, 2)
    first = rng.random() < 0.5  # which operand is the full-shape one
    tensors = [Tensor("a", shape if first else other, "int16", q16(sa)), Tensor("b", other if first else shape, "int16", q16(sb)),
               Tensor("out", shape, "int16", q16(so))]
    if rng.random() < 0.3:  # a constant operand
        tensors[1].data = rng.integers(-32768, 32768, tensors[1].shape)
    return _graph(kind, tensors, ["a", "b"], irops.ElementwiseAttrs(str(rng.choice(ACTIVATIONS))))


def pool(rng, kind: str) -> Graph:
    h, w_, c = (int(v) for v in rng.integers(1, 9, 3))
    fh, fw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    same = rng.random() < 0.5 or h < fh or w_ < fw
    oh, top, bottom = _padding(same, h, fh, sh, 1)
    ow, left, right = _padding(same, w_, fw, sw, 1)
    s = log_uniform(rng, 1e-4, 1e-2)
    attrs = irops.Pool2DAttrs(fh, fw, sh, sw, top, bottom, left, right, str(rng.choice(ACTIVATIONS)))
    tensors = [Tensor("x", (1, h, w_, c), "int16", q16(s)), Tensor("out", (1, oh, ow, c), "int16", q16(s))]
    return _graph(kind, tensors, ["x"], attrs)


def softmax(rng) -> Graph:
    shape = (1,) + tuple(int(d) for d in rng.integers(1, 12, int(rng.integers(1, 3))))
    beta = float(np.float32(rng.uniform(0.5, 2.0)))
    tensors = [Tensor("x", shape, "int16", q16(log_uniform(rng, 1e-4, 2e-3))), Tensor("out", shape, "int16", q16(1 / 32768))]
    return _graph("SOFTMAX", tensors, ["x"], irops.SoftmaxAttrs(beta))


def sigmoid_tanh(rng, kind: str) -> Graph:
    """Input scales over TFLM's general path and its power-of-two ones (2^-12; TANH also 2^-11)."""
    shape = (1,) + tuple(int(d) for d in rng.integers(1, 12, int(rng.integers(1, 3))))
    pick = rng.random()
    s_in = 2.0**-12 if pick < 0.2 else (2.0**-11 if pick < 0.3 else log_uniform(rng, 2e-5, 2e-3))
    tensors = [Tensor("x", shape, "int16", q16(s_in)), Tensor("out", shape, "int16", q16(1 / 32768))]
    return _graph(kind, tensors, ["x"], irops.NoAttrs())


def random_graph(kind: str, rng) -> Graph:
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return conv(rng, depthwise=kind == "DEPTHWISE_CONV_2D")
    if kind == "FULLY_CONNECTED":
        return fully_connected(rng)
    if kind in ("ADD", "MUL"):
        return binary(rng, kind)
    if kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        return pool(rng, kind)
    if kind in ("LOGISTIC", "TANH"):
        return sigmoid_tanh(rng, kind)
    return softmax(rng)


def int16_inputs(t: Tensor, rng, n: int = 2) -> list[np.ndarray]:
    """n random int16 arrays; the first holds both extremes when it has room."""
    xs = [rng.integers(-32768, 32768, t.shape).astype(np.int16) for _ in range(n)]
    flat = xs[0].reshape(-1)
    if flat.size >= 2:
        flat[:2] = (-32768, 32767)
    return xs


def int8_wrapped(graph: Graph, rng) -> Graph:
    """The 16x8 op between QUANTIZE int8 -> int16 and QUANTIZE int16 -> int8, its other inputs made constant:
    a model with one int8 input and an int8 output, as the C entry point takes. The int8 scales are drawn
    between 8 and 128 times the int16 ones, so the output keeps several of the int16 result's low bits."""
    from mcucompress.ir import QuantParams as QP

    op = graph.ops[0]
    first = op.inputs[0]
    for name in graph.inputs[1:]:
        t = graph.t(name)
        t.data = rng.integers(-32768, 32768, t.shape).astype(np.int16)
    x16, y16 = graph.t(first), graph.t("out")
    x8 = Tensor("x8", x16.shape, "int8", QP(np.array([x16.quant.s * log_uniform(rng, 8, 128)], np.float32),
                                           np.array([int(rng.integers(-20, 21))])))
    y8 = Tensor("y8", y16.shape, "int8", QP(np.array([y16.quant.s * log_uniform(rng, 8, 128)], np.float32),
                                           np.array([int(rng.integers(-20, 21))])))
    graph.add_tensor(x8)
    graph.add_tensor(y8)
    graph.ops = [Op("QUANTIZE", ["x8"], [first], irops.NoAttrs(), "to_int16"), op,
                 Op("QUANTIZE", ["out"], ["y8"], irops.NoAttrs(), "to_int8")]
    graph.inputs, graph.outputs = ["x8"], ["y8"]
    return graph
