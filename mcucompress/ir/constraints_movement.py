"""Constraint checks of the data-movement ops (their docstrings are the rules `mcucompress ops` shows).

TFLM's kernels of these ops copy int8 values without rescaling: a quantization that differs between the
input and an output would be silently ignored by TFLM, so it is refused here as for PAD and RELU6.
"""

from __future__ import annotations

from mcucompress.errors import UnsupportedOpError
from mcucompress.ir import Graph, Op
from mcucompress.ir.constraints import _qp, _where

MAX_RANK = {"TRANSPOSE": 5, "SLICE": 5, "STRIDED_SLICE": 5}  # TFLM's kernels' limits (others: the IR's 6)


def _same_quant_all(graph: Graph, op: Op) -> None:
    names = [n for n in op.inputs if n] + list(op.outputs)
    first = _qp(graph, names[0])
    for n in names[1:]:
        if _qp(graph, n) != first:
            raise UnsupportedOpError(f"{_where(op)}: '{n}' is quantized {_qp(graph, n)}, '{names[0]}' {first}; "
                                     f"TFLM's {op.kind} copies values without rescaling: re-quantize the model")


def _rank(graph: Graph, op: Op) -> None:
    limit = MAX_RANK.get(op.kind, 6)
    rank = len(graph.t(op.inputs[0]).shape)
    if rank > limit:
        raise UnsupportedOpError(f"{_where(op)}: input of rank {rank}; TFLM's {op.kind} takes rank <= {limit}")


def check_transpose(graph: Graph, op: Op) -> None:
    """TRANSPOSE int8: rank <= 5, input and output share scale and zero point."""
    _rank(graph, op)
    _same_quant_all(graph, op)


def check_slice(graph: Graph, op: Op) -> None:
    """SLICE / STRIDED_SLICE int8: rank <= 5, constant begin/end/strides (any sign; begin, end and shrink-axis masks; no ellipsis or new-axis mask, no offset), input and output share scale and zero point."""
    _rank(graph, op)
    _same_quant_all(graph, op)


def check_same_quant(graph: Graph, op: Op) -> None:
    """int8: constant parameters (axes, sizes, block size, paddings, indices); every input and output share scale and zero point."""
    _same_quant_all(graph, op)


def check_reverse(graph: Graph, op: Op) -> None:
    """REVERSE_V2 int8: the reversed axes are consecutive (TFLM rejects others); input and output share scale and zero point."""
    rank = len(graph.t(op.inputs[0]).shape)
    axes = sorted({a % rank for a in op.attrs.axes})
    if axes and axes != list(range(axes[0], axes[-1] + 1)):
        raise UnsupportedOpError(f"{_where(op)}: axes {axes} are not consecutive; TFLM reverses consecutive axes only")
    _same_quant_all(graph, op)
