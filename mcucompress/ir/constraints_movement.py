"""Constraint checks of the data-movement ops (their docstrings are the rules `mcucompress ops` shows).

TFLM's kernels of these ops copy int8 values without rescaling: a quantization that differs between the
input and an output would be silently ignored by TFLM, so it is refused here as for PAD and RELU6.
"""

from __future__ import annotations

from mcucompress.errors import UnsupportedOpError
from mcucompress.ir import Graph, Op
from mcucompress.ir.constraints import _qp, _where

MAX_RANK = {"TRANSPOSE": 5, "SLICE": 5, "STRIDED_SLICE": 4, "BROADCAST_TO": 5}  # TFLM's limits (others: the IR's 6)


def _same_quant_all(graph: Graph, op: Op) -> None:
    names = [n for n in op.inputs if n] + list(op.outputs)
    first = _qp(graph, names[0])
    for n in names[1:]:
        if _qp(graph, n) != first:
            raise UnsupportedOpError(f"{_where(op)}: '{n}' is quantized {_qp(graph, n)}, '{names[0]}' {first}; "
                                     f"TFLM's {op.kind} copies values without rescaling: re-quantize the model")


def _rank(graph: Graph, op: Op) -> None:
    limit = MAX_RANK.get(op.kind, 6)
    rank = max(len(graph.t(op.inputs[0]).shape), len(graph.t(op.outputs[0]).shape))
    if rank > limit:
        raise UnsupportedOpError(f"{_where(op)}: input of rank {rank}; TFLM's {op.kind} takes rank <= {limit}")


def check_transpose(graph: Graph, op: Op) -> None:
    """TRANSPOSE int8: rank <= 5, input and output share scale and zero point."""
    _rank(graph, op)
    _same_quant_all(graph, op)


def check_slice(graph: Graph, op: Op) -> None:
    """SLICE / STRIDED_SLICE int8: rank <= 5 (STRIDED_SLICE: <= 4), constant begin/end/strides (any sign; begin, end and shrink-axis masks; no ellipsis or new-axis mask, no offset), input and output share scale and zero point."""
    _rank(graph, op)
    _same_quant_all(graph, op)


def _same_quant_check(kind: str, what: str):
    def check(graph: Graph, op: Op) -> None:
        _same_quant_all(graph, op)

    check.__doc__ = f"{kind} int8: {what}; every input and output share scale and zero point."
    check.__name__ = f"check_{kind.lower()}"
    return check


check_split = _same_quant_check("SPLIT", "constant axis and sizes (SPLIT_V: one size may be -1)")
check_pack = _same_quant_check("PACK", "up to 64 inputs of one shape")
check_unpack = _same_quant_check("UNPACK", "one output per index of the axis")
check_space_to_depth = _same_quant_check("SPACE_TO_DEPTH", "4-D NHWC, height and width multiples of the block size")
check_depth_to_space = _same_quant_check("DEPTH_TO_SPACE", "4-D NHWC, depth a multiple of the block size squared")
check_mirror_pad = _same_quant_check("MIRROR_PAD", "constant paddings, REFLECT (at most dim - 1) or SYMMETRIC "
                                     "(at most dim)")
_broadcast_quant = _same_quant_check("BROADCAST_TO", "")


def check_broadcast_to(graph: Graph, op: Op) -> None:
    """BROADCAST_TO int8: constant shape the input broadcasts to, rank <= 5; input and output share scale and zero point."""
    _rank(graph, op)
    _broadcast_quant(graph, op)
check_gather = _same_quant_check("GATHER", "constant indices in range, batch_dims 0")


def check_reverse(graph: Graph, op: Op) -> None:
    """REVERSE_V2 int8: the reversed axes are consecutive (TFLM rejects others); input and output share scale and zero point."""
    rank = len(graph.t(op.inputs[0]).shape)
    axes = sorted({a % rank for a in op.attrs.axes})
    if axes and axes != list(range(axes[0], axes[-1] + 1)):
        raise UnsupportedOpError(f"{_where(op)}: axes {axes} are not consecutive; TFLM reverses consecutive axes only")
    _same_quant_all(graph, op)


check_batch_to_space_nd = _same_quant_check("BATCH_TO_SPACE_ND", "rank 3 or 4 (NHC, NHWC), constant block shape and "
                                            "crops")
check_space_to_batch_nd = _same_quant_check("SPACE_TO_BATCH_ND", "rank 3 or 4 (NHC, NHWC), constant block shape and "
                                            "paddings; padding is the zero point, as in LiteRT (TFLM leaves its "
                                            "pad value uninitialised)")


def check_tile(graph: Graph, op: Op) -> None:
    """TILE int8: constant multiples; TFLM has no TILE kernel (checked against LiteRT's); input and output share scale and zero point."""
    _same_quant_all(graph, op)


def check_gather_nd(graph: Graph, op: Op) -> None:
    """GATHER_ND int8: constant int32 indices in range, at most 5 coordinates per index; input and output share scale and zero point."""
    if op.attrs.indices_shape and op.attrs.indices_shape[-1] > 5:
        raise UnsupportedOpError(f"{_where(op)}: indices of {op.attrs.indices_shape[-1]} coordinates; TFLM's GATHER_ND "
                                 "takes at most 5")
    _same_quant_all(graph, op)
