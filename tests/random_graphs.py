"""Random int8 IR graphs for property tests: one builder per op kind, and random chains of them.

Every graph is valid for TFLM (quantization rules of its int8 kernels respected) and deterministic
in the numpy Generator it is given. Output scales are picked from the expected spread of each op's
result, so that outputs use a good part of the int8 range instead of saturating.

    random_single_op_graph(kind, rng) -> Graph   # kind in SINGLE_OP_KINDS
    random_chain_graph(rng) -> Graph             # 3-8 ops: conv/dw/pool/pad/residual ADD/... -> fc -> softmax
    random_inputs(graph, rng) -> list of int8 arrays, one per graph input
"""

from __future__ import annotations

import numpy as np

from mcucompress.ir import Graph, Op, QuantParams, Tensor
from mcucompress.ir import ops as irops

SINGLE_OP_KINDS = (
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D",
    "ADD", "SUB", "MUL", "SOFTMAX", "PAD", "CONCATENATION", "RESHAPE",
)
FUSED = ("NONE", "RELU", "RELU6", "NONE", "RELU", "RELU6", "RELU_N1_TO_1")  # weighted: N1_TO_1 is rare
SOFTMAX_QUANT = (1 / 256, -128)  # the only int8 softmax output quantization TFLM accepts


class Builder:
    """A Graph under construction: unique tensor names, the rng behind every choice, and for each
    activation an estimate of the root mean square of its real values, from which output scales follow."""

    def __init__(self, rng: np.random.Generator, name: str):
        self.rng = rng
        self.g = Graph(name=name)
        self.rms: dict[str, float] = {}
        self.count = 0

    def _name(self, base: str) -> str:
        self.count += 1
        return f"{base}{self.count}"

    def act(self, shape, scale: float, zp: int, rms: float, base: str = "t") -> str:
        name = self._name(base)
        self.g.add_tensor(Tensor(name, tuple(shape), "int8", _q(scale, zp)))
        self.rms[name] = rms
        return name

    def like(self, src: str, shape=None) -> str:
        """A new activation with the quantization of `src` (ops that must not rescale)."""
        t = self.g.t(src)
        return self.act(t.shape if shape is None else shape, t.quant.s, t.quant.zp, self.rms[src])

    def input(self, shape, scale: float | None = None, zp: int | None = None) -> str:
        s, z = random_quant(self.rng)
        s, z = s if scale is None else scale, z if zp is None else zp
        name = self.act(shape, s, z, _uniform_rms(s, z), "x")
        self.g.inputs.append(name)
        return name

    def const(self, data: np.ndarray, dtype: str, quant: QuantParams | None, base: str = "c") -> str:
        name = self._name(base)
        self.g.add_tensor(Tensor(name, data.shape, dtype, quant, data))
        if dtype == "int8" and quant is not None and not quant.per_axis:
            self.rms[name] = float(np.sqrt(np.mean(((data.astype(np.float64) - quant.zp) * quant.s) ** 2)))
        return name

    def op(self, kind: str, inputs: list[str], output: str, attrs=None) -> str:
        self.g.ops.append(Op(kind, inputs, [output], attrs if attrs is not None else irops.NoAttrs(),
                             f"{kind.lower()}_{len(self.g.ops)}"))
        return output

    def shape(self, name: str) -> tuple[int, ...]:
        return self.g.t(name).shape

    def quant(self, name: str) -> tuple[float, int]:
        q = self.g.t(name).quant
        return q.s, q.zp

    def finish(self, *outputs: str) -> Graph:
        self.g.outputs = list(outputs)
        return self.g


def _q(scale: float, zp: int) -> QuantParams:
    return QuantParams(np.array([scale], np.float32), np.array([zp]))


def _uniform_rms(scale: float, zp: int) -> float:
    """RMS of the real values of uniform int8 data: std 74 steps around a mean of -0.5 - zp steps."""
    return scale * float(np.hypot(74.0, 0.5 + zp))


def random_quant(rng: np.random.Generator) -> tuple[float, int]:
    """A realistic activation scale (log-uniform 0.003-0.3) and zero point (often -128, as after a ReLU)."""
    scale = float(10 ** rng.uniform(-2.5, -0.5))
    zp = -128 if rng.random() < 0.2 else int(rng.integers(-128, 128))
    return scale, zp


def act_quant(rng: np.random.Generator, rms: float, activation: str) -> tuple[float, int]:
    """Output scale and zero point as a calibrating converter would pick them for values of this RMS:
    about +-3 RMS over the int8 range, [0, 3 RMS] after RELU, [0, min(6, 3 RMS)] after RELU6, [-1, 1]
    after RELU_N1_TO_1."""
    jitter = float(10 ** rng.uniform(-0.25, 0.25))
    rms = max(rms, 1e-3)  # a constant operand can be all zero point
    if activation == "NONE":
        return 6 * rms / 255 * jitter, int(rng.integers(-40, 41))
    if activation == "RELU_N1_TO_1":
        return 2 / 255 * jitter, int(rng.integers(-10, 11))
    top = 3 * rms if activation == "RELU" else min(6.0, 3 * rms)
    zp = -128 if rng.random() < 0.7 else int(rng.integers(-128, -60))  # other zero points exercise the clamp
    return top / 255 * jitter, zp


def _after(activation: str, rms: float) -> float:
    """RMS after a fused activation, roughly: a ReLU keeps half of a zero-mean signal's energy."""
    if activation == "RELU_N1_TO_1":
        return min(rms, 0.7)
    return rms if activation == "NONE" else rms / np.sqrt(2)


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _out_size(size: int, k: int, stride: int, dilation: int, same: bool) -> int:
    if same:
        return -(-size // stride)
    return (size - (k - 1) * dilation - 1) // stride + 1


def _same_pads(size: int, out: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite's SAME rule: the smaller half of the padding goes before."""
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _window_attrs(rng, in_hw, k_hw, stride, dilation, same: bool | None = None):
    """(out_hw, pads dict) for SAME or VALID (random when `same` is None); VALID only when the window fits."""
    fits = all(in_hw[i] >= (k_hw[i] - 1) * dilation[i] + 1 for i in range(2))
    same = (rng.random() < 0.5 if same is None else same) or not fits
    out_hw = tuple(_out_size(in_hw[i], k_hw[i], stride[i], dilation[i], same) for i in range(2))
    pads = [_same_pads(in_hw[i], out_hw[i], k_hw[i], stride[i], dilation[i]) if same else (0, 0) for i in range(2)]
    return out_hw, {"pad_top": pads[0][0], "pad_bottom": pads[0][1], "pad_left": pads[1][0], "pad_right": pads[1][1]}


def _weights(rng: np.random.Generator, shape) -> np.ndarray:
    """Symmetric int8 weights, uniform or bell-shaped."""
    if rng.random() < 0.5:
        return rng.integers(-127, 128, shape).astype(np.int8)
    return np.clip(np.rint(rng.normal(0, 45, shape)), -127, 127).astype(np.int8)


def _weight_scales(rng: np.random.Generator, channels: int, per_channel: bool, fan_in: int) -> np.ndarray:
    """Scales giving a gain sqrt(fan_in) * rms(w) of 0.5-2 (He-like), so activations neither grow nor vanish."""
    n = channels if per_channel else 1
    gain = 10 ** rng.uniform(-0.3, 0.3, n)
    return (gain / (60.0 * np.sqrt(fan_in))).astype(np.float32)


def _weighted_rms(in_rms: float, weights: np.ndarray, w_scales: np.ndarray, fan_in: int) -> float:
    """RMS of a convolution's output: sqrt(fan_in) * rms(x) * rms(real weights)."""
    w_rms = float(np.sqrt(np.mean(weights.astype(np.float64) ** 2))) * float(np.mean(w_scales))
    return in_rms * np.sqrt(fan_in) * w_rms


def _bias(b: Builder, w_scales: np.ndarray, in_scale: float, channels: int, out_rms: float) -> str:
    """int32 bias at scale in_scale * w_scale, up to about the size of the accumulator's spread."""
    scales = (np.float32(in_scale) * w_scales).astype(np.float32)
    real = b.rng.uniform(-out_rms, out_rms, channels)
    data = np.rint(real / np.broadcast_to(scales, (channels,))).astype(np.int32)
    axis = 0 if scales.size > 1 else None
    return b.const(data, "int32", QuantParams(scales, np.zeros(scales.size), axis), "b")


# ---------------------------------------------------------------- one function per op kind


def _weighted_op(b: Builder, x: str, w_shape, channels: int, fan_in: int, axis: int | None, bias: bool,
                 activation: str, out_shape, out_quant) -> tuple[list[str], str]:
    """Weights, optional bias and output tensor of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED."""
    rng = b.rng
    in_s = b.quant(x)[0]
    w_scales = _weight_scales(rng, channels, axis is not None, fan_in)
    data = _weights(rng, w_shape)
    wq = QuantParams(w_scales, np.zeros(w_scales.size), axis)
    inputs = [x, b.const(data, "int8", wq, "w")]
    rms = _weighted_rms(b.rms[x], data, w_scales, fan_in)
    if bias:
        inputs.append(_bias(b, w_scales, in_s, channels, rms))
    out_quant = out_quant or act_quant(rng, rms, activation)
    return inputs, b.act(out_shape, *out_quant, _after(activation, rms))


def add_conv2d(b: Builder, x: str, out_channels: int | None = None, same: bool | None = None,
               stride: int | None = None, activation: str | None = None, out_quant=None) -> str:
    """CONV_2D: kernel 1-5, stride 1-3, dilation 1-3, per-channel (mostly) or per-tensor weights, bias or none."""
    rng = b.rng
    n, h, w, c = b.shape(x)
    oc = out_channels or int(rng.integers(1, 9))
    kh, kw = (int(v) for v in rng.integers(1, 6, 2))
    sh, sw = (stride, stride) if stride else (int(v) for v in rng.integers(1, 4, 2))
    dh, dw = (int(v) for v in rng.integers(1, 4, 2)) if rng.random() < 0.5 else (1, 1)
    (oh, ow), pads = _window_attrs(rng, (h, w), (kh, kw), (sh, sw), (dh, dw), same)
    activation = activation or _pick(rng, FUSED)
    per_channel = rng.random() < 0.85
    inputs, y = _weighted_op(b, x, (oc, kh, kw, c), oc, kh * kw * c, 0 if per_channel else None,
                             rng.random() < 0.85, activation, (n, oh, ow, oc), out_quant)
    return b.op("CONV_2D", inputs, y, irops.Conv2DAttrs(sh, sw, dh, dw, **pads, activation=activation))


def add_depthwise_conv2d(b: Builder, x: str, multiplier: int | None = None, same: bool | None = None,
                         stride: int | None = None, out_quant=None) -> str:
    """DEPTHWISE_CONV_2D: depth multiplier 1-3, kernel 1-5, stride 1-3, dilation 1-3."""
    rng = b.rng
    n, h, w, c = b.shape(x)
    m = multiplier or int(rng.integers(1, 4))
    kh, kw = (int(v) for v in rng.integers(1, 6, 2))
    sh, sw = (stride, stride) if stride else (int(v) for v in rng.integers(1, 4, 2))
    dh, dw = (int(v) for v in rng.integers(1, 4, 2)) if rng.random() < 0.5 else (1, 1)
    (oh, ow), pads = _window_attrs(rng, (h, w), (kh, kw), (sh, sw), (dh, dw), same)
    activation = _pick(rng, FUSED)
    per_channel = rng.random() < 0.85
    inputs, y = _weighted_op(b, x, (1, kh, kw, c * m), c * m, kh * kw, 3 if per_channel else None,
                             True, activation, (n, oh, ow, c * m), out_quant)
    attrs = irops.DepthwiseConv2DAttrs(sh, sw, dh, dw, **pads, activation=activation, depth_multiplier=m)
    return b.op("DEPTHWISE_CONV_2D", inputs, y, attrs)


def add_fully_connected(b: Builder, x: str, units: int | None = None, keep_num_dims: bool | None = None,
                        bias: bool | None = None, activation: str | None = None, out_quant=None) -> str:
    """FULLY_CONNECTED over the last axis: per-tensor (mostly) or per-channel weights, with or without bias,
    keep_num_dims or flattened to rows."""
    rng = b.rng
    shape = b.shape(x)
    units = units or int(rng.integers(1, 17))
    keep = bool(rng.random() < 0.3) if keep_num_dims is None else keep_num_dims
    activation = activation or _pick(rng, FUSED)
    with_bias = rng.random() < 0.7 if bias is None else bias
    out_shape = tuple(shape[:-1]) + (units,) if keep else (int(np.prod(shape[:-1])), units)
    axis = 0 if rng.random() < 0.25 else None
    inputs, y = _weighted_op(b, x, (units, shape[-1]), units, shape[-1], axis, with_bias, activation,
                             out_shape, out_quant)
    if not with_bias and rng.random() < 0.5:
        inputs.append("")  # bias operand present but omitted (-1 in TFLite)
    return b.op("FULLY_CONNECTED", inputs, y, irops.FullyConnectedAttrs(activation, keep))


def add_pool(b: Builder, x: str, kind: str | None = None, same: bool | None = None) -> str:
    """AVERAGE_POOL_2D or MAX_POOL_2D, filter 1-4, stride 1-3, SAME or VALID; output keeps the input quantization."""
    rng = b.rng
    kind = kind or _pick(rng, ("AVERAGE_POOL_2D", "MAX_POOL_2D"))
    n, h, w, c = b.shape(x)
    fh, fw = (int(v) for v in rng.integers(1, 5, 2))
    sh, sw = (int(v) for v in rng.integers(1, 4, 2))
    (oh, ow), pads = _window_attrs(rng, (h, w), (fh, fw), (sh, sw), (1, 1), same)
    activation = _pick(rng, FUSED)
    y = b.like(x, (n, oh, ow, c))
    attrs = irops.Pool2DAttrs(fh, fw, sh, sw, **pads, activation=activation)
    return b.op(kind, [x], y, attrs)


def _broadcast_partner(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts against `shape`: some axes set to 1, sometimes leading axes dropped."""
    other = tuple(1 if rng.random() < 0.4 else d for d in shape)
    if rng.random() < 0.3:
        other = other[int(rng.integers(0, len(other))):] or (shape[-1],)
    return other


def operand(b: Builder, shape: tuple[int, ...], const_prob: float = 0.35) -> str:
    """A second operand of shape `shape`: a constant int8 tensor or a new graph input, own quantization."""
    s, zp = random_quant(b.rng)
    if b.rng.random() < const_prob:
        return b.const(b.rng.integers(-128, 128, shape).astype(np.int8), "int8", _q(s, zp), "k")
    return b.input(shape, s, zp)


def add_binary(b: Builder, kind: str, x: str, other: str | None = None, out_quant=None) -> str:
    """ADD, SUB or MUL of `x` and `other` (a random operand broadcasting against x when None)."""
    rng = b.rng
    if other is None:
        other = operand(b, _broadcast_partner(rng, b.shape(x)) if rng.random() < 0.6 else b.shape(x))
    a, c = (x, other) if rng.random() < 0.7 else (other, x)
    out_shape = np.broadcast_shapes(b.shape(a), b.shape(c))
    activation = _pick(rng, FUSED)
    ra, rc = b.rms[a], b.rms[c]
    rms = ra * rc if kind == "MUL" else float(np.hypot(ra, rc))
    if out_quant is None and kind == "MUL" and rng.random() < 0.15:
        # Output scale below s_a * s_b: a multiplier > 1 (left shift); fits inputs near their zero points.
        out_quant = b.quant(a)[0] * b.quant(c)[0] * float(rng.uniform(0.3, 1.0)), int(rng.integers(-20, 21))
    y = b.act(out_shape, *(out_quant or act_quant(rng, rms, activation)), _after(activation, rms))
    return b.op(kind, [a, c], y, irops.ElementwiseAttrs(activation))


def add_softmax(b: Builder, x: str, beta: float | None = None) -> str:
    """SOFTMAX over the last axis; beta is often not 1 (and not a float32 value either)."""
    rng = b.rng
    if beta is None:
        beta = 1.0 if rng.random() < 0.4 else float(rng.uniform(0.1, 3.0))
    y = b.act(b.shape(x), *SOFTMAX_QUANT, 0.3)
    return b.op("SOFTMAX", [x], y, irops.SoftmaxAttrs(beta))


def add_pad(b: Builder, x: str, spatial_only: bool = False) -> str:
    """PAD with 0-3 cells before and after each axis (the batch axis unpadded); pads with the zero point."""
    rng = b.rng
    shape = b.shape(x)
    paddings = []
    for axis in range(len(shape)):
        fixed = axis == 0 or (spatial_only and axis == len(shape) - 1)
        paddings.append((0, 0) if fixed else tuple(int(v) for v in rng.integers(0, 4, 2)))
    out_shape = tuple(d + p0 + p1 for d, (p0, p1) in zip(shape, paddings))
    y = b.like(x, out_shape)
    return b.op("PAD", [x], y, irops.PadAttrs(tuple(paddings)))


def add_concatenation(b: Builder, xs: list[str], axis: int) -> str:
    """CONCATENATION of tensors sharing one quantization (TFLM's int8 kernel copies bytes, never rescales)."""
    shapes = [b.shape(x) for x in xs]
    out_shape = list(shapes[0])
    out_shape[axis] = sum(s[axis] for s in shapes)
    y = b.like(xs[0], tuple(out_shape))
    return b.op("CONCATENATION", list(xs), y, irops.ConcatenationAttrs(axis))


def _random_factorization(rng: np.random.Generator, size: int) -> tuple[int, ...]:
    """A random shape of rank 1-4 with `size` elements."""
    rank = int(rng.integers(1, 5))
    dims = []
    rest = size
    for _ in range(rank - 1):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = _pick(rng, divisors)
        dims.append(d)
        rest //= d
    dims.append(rest)
    return tuple(int(v) for v in rng.permutation(dims))


def add_reshape(b: Builder, x: str, shape: tuple[int, ...] | None = None) -> str:
    shape = shape or _random_factorization(b.rng, int(np.prod(b.shape(x))))
    return b.op("RESHAPE", [x], b.like(x, shape))


# ---------------------------------------------------------------- whole graphs


def _image_shape(rng: np.random.Generator, max_hw: int = 12, max_c: int = 8) -> tuple[int, int, int, int]:
    return 1, int(rng.integers(1, max_hw + 1)), int(rng.integers(1, max_hw + 1)), int(rng.integers(1, max_c + 1))


def _any_shape(rng: np.random.Generator) -> tuple[int, ...]:
    rank = int(rng.integers(1, 5))
    return tuple(int(v) for v in rng.integers(1, 7, rank))


def random_single_op_graph(kind: str, rng: np.random.Generator, name: str | None = None) -> Graph:
    """One `kind` op (one of SINGLE_OP_KINDS) on fresh random inputs."""
    b = Builder(rng, name or kind.lower())
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        x = b.input(_image_shape(rng))
        y = add_conv2d(b, x) if kind == "CONV_2D" else add_depthwise_conv2d(b, x)
    elif kind == "FULLY_CONNECTED":
        shape = _pick(rng, [(int(rng.integers(1, 5)), int(rng.integers(1, 65))),
                            (int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 33))),
                            _image_shape(rng, 4, 8)])
        y = add_fully_connected(b, b.input(shape))
    elif kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        y = add_pool(b, b.input(_image_shape(rng)), kind)
    elif kind in ("ADD", "SUB", "MUL"):
        full = _any_shape(rng)
        if rng.random() < 0.4:  # both operands broadcast: [2,1,3] op [1,4,3]
            x = b.input(_broadcast_partner(rng, full))
            y = add_binary(b, kind, x, operand(b, _broadcast_partner(rng, full)))
        else:
            y = add_binary(b, kind, b.input(full))
    elif kind == "SOFTMAX":
        shape = _pick(rng, [(int(rng.integers(1, 4)), int(rng.integers(1, 40))), _image_shape(rng, 4, 16)])
        y = add_softmax(b, b.input(shape))
    elif kind == "PAD":
        y = add_pad(b, b.input(_any_shape(rng)))
    elif kind == "CONCATENATION":
        base = _any_shape(rng)
        axis = int(rng.integers(0, len(base)))
        s, zp = random_quant(rng)
        xs = []
        for _ in range(int(rng.integers(2, 4))):
            shape = list(base)
            shape[axis] = int(rng.integers(1, 6))
            xs.append(b.input(tuple(shape), s, zp))
        y = add_concatenation(b, xs, axis - len(base) if rng.random() < 0.3 else axis)
    elif kind == "RESHAPE":
        y = add_reshape(b, b.input(_any_shape(rng)))
    else:
        raise ValueError(f"no random builder for {kind}")
    return b.finish(y)


def _residual(b: Builder, x: str) -> str:
    """x + conv(x): a SAME stride-1 convolution keeping the channels, then ADD with the skip (2 ops)."""
    branch = add_conv2d(b, x, out_channels=b.shape(x)[3], same=True, stride=1)
    return add_binary(b, "ADD", branch, x)


def _scale_by_constant(b: Builder, x: str) -> str:
    """MUL by a positive per-channel int8 constant, as a folded batch norm would leave it."""
    c = b.shape(x)[3]
    s, zp = float(10 ** b.rng.uniform(-2.5, -1.5)), int(b.rng.integers(-128, 1))
    k = b.const(b.rng.integers(zp + 1, 128, (1, 1, 1, c)).astype(np.int8), "int8", _q(s, zp), "k")
    return add_binary(b, "MUL", x, k)


def _widen(b: Builder, x: str) -> str:
    """CONCATENATION on channels of x and a SAME convolution of x requantized to x's quantization (2 ops)."""
    branch = add_conv2d(b, x, same=True, stride=1, out_quant=b.quant(x))
    return add_concatenation(b, [x, branch], 3)


BODY_STEPS = {  # name -> (ops it adds, builder)
    "conv": (1, lambda b, x: add_conv2d(b, x, same=min(b.shape(x)[1:3]) < 6 or None,
                                        stride=1 if min(b.shape(x)[1:3]) < 4 else None)),
    "dw": (1, lambda b, x: add_depthwise_conv2d(b, x, multiplier=int(b.rng.integers(1, 3)),
                                                same=min(b.shape(x)[1:3]) < 6 or None,
                                                stride=1 if min(b.shape(x)[1:3]) < 4 else None)),
    "pool": (1, lambda b, x: add_pool(b, x, same=min(b.shape(x)[1:3]) < 5 or None)),
    "pad": (1, lambda b, x: add_pad(b, x, spatial_only=True)),
    "residual": (2, _residual),
    "mul": (1, _scale_by_constant),
    "widen": (2, _widen),
}


def random_chain_graph(rng: np.random.Generator, name: str = "chain") -> Graph:
    """3-8 ops: a random body of image ops (residual ADDs included), then RESHAPE -> FULLY_CONNECTED [-> SOFTMAX]."""
    b = Builder(rng, name)
    total = int(rng.choice(np.arange(3, 9), p=[0.05, 0.1, 0.15, 0.2, 0.25, 0.25]))  # mostly long chains
    softmax = total > 3 and rng.random() < 0.7
    budget = total - 2 - int(softmax)
    x = b.input((1, int(rng.integers(6, 17)), int(rng.integers(6, 17)), int(rng.integers(1, 5))))
    while budget > 0:
        names = [n for n, (cost, _) in BODY_STEPS.items() if cost <= budget]
        if b.shape(x)[3] > 16:
            names = [n for n in names if n not in ("widen", "dw")]  # keep the channel count modest
        step = _pick(rng, names)
        cost, build = BODY_STEPS[step]
        x = build(b, x)
        budget -= cost
    x = add_reshape(b, x, (1, int(np.prod(b.shape(x)))))
    x = add_fully_connected(b, x, units=int(rng.integers(2, 11)), keep_num_dims=False,
                            activation="NONE" if softmax else None)
    if softmax:
        # beta 1, or one that puts the logits a unit or two apart, so that the output is not one-hot.
        beta = 1.0 if rng.random() < 0.5 else float(np.clip(rng.uniform(0.5, 2.0) / b.rms[x], 0.05, 5.0))
        x = add_softmax(b, x, beta)
    return b.finish(x)


def random_inputs(graph: Graph, rng: np.random.Generator) -> list[np.ndarray]:
    """int8 data for every graph input: uniform over the full range (saturation paths run too) or,
    one time in three, within a few steps of the zero point (small real values, as in real data)."""
    out = []
    for name in graph.inputs:
        t = graph.t(name)
        if rng.random() < 1 / 3:
            width = int(rng.integers(2, 31))
            x = np.clip(t.quant.zp + rng.integers(-width, width + 1, t.shape), -128, 127)
        else:
            x = rng.integers(-128, 128, t.shape)
        out.append(x.astype(np.int8))
    return out
