"""Ops of the IR: `Op(kind, inputs, outputs, attrs)` with one attributes dataclass per op kind.

Kinds follow TFLite's builtin operator names; the op registry (mcucompress.ir.registry) says which
attributes class each kind has and which TFLite names import as it (SQUEEZE and EXPAND_DIMS as RESHAPE). The
shape arithmetic converters emit (SHAPE, STRIDED_SLICE, PACK, ...) is folded away at import.
Padding is stored explicitly (top, bottom, left, right) so that SAME/VALID and ONNX pads share one form.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

ACTIVATIONS = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6")
TUPLE_FIELDS = {"axes", "perm", "begin", "size", "end", "strides", "sizes", "indices", "indices_shape",
                "multiples", "block_shape"}  # JSON lists


@dataclass
class NoAttrs:
    """Ops without parameters."""


@dataclass
class Conv2DAttrs:
    stride_h: int = 1
    stride_w: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    pad_top: int = 0
    pad_bottom: int = 0
    pad_left: int = 0
    pad_right: int = 0
    activation: str = "NONE"


@dataclass
class DepthwiseConv2DAttrs(Conv2DAttrs):
    depth_multiplier: int = 1


@dataclass
class FullyConnectedAttrs:
    activation: str = "NONE"
    keep_num_dims: bool = False


@dataclass
class Pool2DAttrs:
    filter_h: int = 1
    filter_w: int = 1
    stride_h: int = 1
    stride_w: int = 1
    pad_top: int = 0
    pad_bottom: int = 0
    pad_left: int = 0
    pad_right: int = 0
    activation: str = "NONE"


@dataclass
class MeanAttrs:
    """MEAN, SUM, REDUCE_MAX, REDUCE_MIN: the reduced axes, and whether they stay as size-1 dimensions."""

    axes: tuple[int, ...] = (1, 2)
    keep_dims: bool = False


@dataclass
class ElementwiseAttrs:
    """ADD, SUB, MUL: broadcasting binary ops with a fused activation."""

    activation: str = "NONE"


@dataclass
class SoftmaxAttrs:
    beta: float = 1.0


@dataclass
class PadAttrs:
    paddings: tuple[tuple[int, int], ...] = field(default_factory=tuple)


@dataclass
class ConcatenationAttrs:
    axis: int = -1
    activation: str = "NONE"


@dataclass
class LeakyReluAttrs:
    alpha: float = 0.2


@dataclass
class LstmAttrs:
    """UNIDIRECTIONAL_SEQUENCE_LSTM: the cell gate's activation (TFLM runs TANH only), clips (0: none) and
    whether the input is [time, batch, features] (time_major) or [batch, time, features]."""

    cell_activation: str = "TANH"
    cell_clip: float = 0.0
    proj_clip: float = 0.0
    time_major: bool = False


@dataclass
class SvdfAttrs:
    """SVDF: filters per unit (rank) and the fused activation (float only: TFLM's int8 kernel applies none)."""

    rank: int = 1
    activation: str = "NONE"



@dataclass(eq=False)
class Op:
    """One node: reads tensors `inputs` (by name), writes `outputs`; `attrs` type depends on `kind`."""

    kind: str
    inputs: list[str]
    outputs: list[str]
    attrs: object = field(default_factory=NoAttrs)
    name: str = ""

    def attrs_json(self) -> dict:
        d = dataclasses.asdict(self.attrs)
        return {k: list(map(list, v)) if k == "paddings" else v for k, v in d.items()}

    @staticmethod
    def attrs_from_json(kind: str, d: dict) -> object:
        from mcucompress.ir.registry import spec  # the registry's entries import this module

        cls = spec(kind).attrs
        fixed = {}
        for f in dataclasses.fields(cls):
            if f.name not in d:
                continue
            v = d[f.name]
            if f.name == "paddings":
                v = tuple(tuple(p) for p in v)
            elif f.name in TUPLE_FIELDS:
                v = tuple(v)
            fixed[f.name] = v
        return cls(**fixed)


# -- data movement (mcucompress.ir.index_maps says where each output element comes from) ---------------------
@dataclass
class TransposeAttrs:
    perm: tuple[int, ...] = ()


@dataclass
class SliceAttrs:
    """SLICE: `size` -1 means to the end of the axis."""

    begin: tuple[int, ...] = ()
    size: tuple[int, ...] = ()


@dataclass
class StridedSliceAttrs:
    """STRIDED_SLICE with TFLite's masks (bit i applies to axis i); ellipsis and new-axis masks are refused at import."""

    begin: tuple[int, ...] = ()
    end: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    begin_mask: int = 0
    end_mask: int = 0
    shrink_axis_mask: int = 0


@dataclass
class SplitAttrs:
    """SPLIT and SPLIT_V: the sizes of the outputs along `axis` (SPLIT: all equal)."""

    axis: int = 0
    sizes: tuple[int, ...] = ()


@dataclass
class AxisAttrs:
    """PACK and UNPACK: the axis inserted or removed."""

    axis: int = 0


@dataclass
class BlockAttrs:
    """SPACE_TO_DEPTH and DEPTH_TO_SPACE."""

    block_size: int = 2


@dataclass
class MirrorPadAttrs:
    paddings: tuple[tuple[int, int], ...] = field(default_factory=tuple)
    mode: str = "REFLECT"  # or "SYMMETRIC"


@dataclass
class ReverseAttrs:
    axes: tuple[int, ...] = ()


@dataclass
class GatherAttrs:
    """GATHER with constant indices (flattened, of shape `indices_shape`) along `axis`."""

    indices: tuple[int, ...] = ()
    indices_shape: tuple[int, ...] = ()
    axis: int = 0


@dataclass
class ArgMinMaxAttrs:
    """ARG_MAX, ARG_MIN: the (constant) axis reduced to the index of its largest / smallest value."""

    axis: int = -1
# -- resize (mcucompress.ir.resize holds the coordinate arithmetic) -------------------------------------------
@dataclass
class ResizeAttrs:
    """RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR of an NHWC tensor to `size` (height, width), TFLite's flags
    (align_corners and half_pixel_centers may not both be set for RESIZE_BILINEAR)."""

    size: tuple[int, ...] = ()
    align_corners: bool = False
    half_pixel_centers: bool = False


# -- matrix products of two tensors ---------------------------------------------------------------------
@dataclass
class BatchMatMulAttrs:
    """BATCH_MATMUL: adj_x / adj_y transpose the last two axes of the lhs / rhs before multiplying."""

    adj_x: bool = False
    adj_y: bool = False


@dataclass
class GeluAttrs:
    """GELU: the exact erf form, or the tanh approximation."""

    approximate: bool = False


# -- TILE, GATHER_ND, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND (index maps too), CUMSUM ------------------------------
@dataclass
class TileAttrs:
    """TILE: how many copies of the input along each axis."""

    multiples: tuple[int, ...] = ()


@dataclass
class GatherNdAttrs:
    """GATHER_ND with constant indices (flattened, of shape `indices_shape`; its last axis indexes the input)."""

    indices: tuple[int, ...] = ()
    indices_shape: tuple[int, ...] = ()


@dataclass
class SpaceBatchAttrs:
    """SPACE_TO_BATCH_ND (`paddings`: (before, after) per spatial axis) and BATCH_TO_SPACE_ND (`paddings` are
    its crops); one or two spatial axes (a rank-3 input has one)."""

    block_shape: tuple[int, ...] = (2, 2)
    paddings: tuple[tuple[int, int], ...] = field(default_factory=lambda: ((0, 0), (0, 0)))


@dataclass
class CumsumAttrs:
    """CUMSUM along `axis`; exclusive leaves each element out of its own sum, reverse sums from the end."""

    axis: int = 0
    exclusive: bool = False
    reverse: bool = False


@dataclass
class TransposeConvAttrs:
    """TRANSPOSE_CONV: input pixel (y, x) adds its weighted values to output rows from y*stride_h - pad_top
    (columns alike); the output has (H - 1) * stride_h + KH - pad_top - pad_bottom rows. pad_bottom (pad_right)
    is negative when the output is taller than the full scatter (TFLite's output_shape, ONNX output_padding):
    those rows get the bias only."""

    stride_h: int = 1
    stride_w: int = 1
    pad_top: int = 0
    pad_bottom: int = 0
    pad_left: int = 0
    pad_right: int = 0
    activation: str = "NONE"


# -- LOOKUP: an internal kind (passes/float_island.py), never read from or written to a model file -------------
@dataclass
class LookupAttrs:
    """LOOKUP: output = table[x + 128] for int8 input x; `chain` names the float32 ops the table replaces
    (DEQUANTIZE -> chain -> QUANTIZE), for reports and error messages."""

    table: tuple[int, ...] = ()
    chain: tuple[str, ...] = ()
