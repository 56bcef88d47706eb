"""Constraint checks of ADD_N, CUMSUM and the float32-only L2_POOL_2D and LOG (docstrings are the rules
`mcucompress ops` shows)."""

from __future__ import annotations

from mcucompress.errors import UnsupportedOpError
from mcucompress.ir import Graph, Op
from mcucompress.ir.constraints import _qp, _where


def _accumulate_scales(graph: Graph, op: Op) -> None:
    """TFLM rescales each term by 1/2 and the sum by 2 s_in / (2^20 s_out), which must stay below 1."""
    s_in, _ = _qp(graph, op.inputs[0])
    s_out, _ = _qp(graph, op.outputs[0])
    if not 2 * s_in < (1 << 20) * s_out:
        raise UnsupportedOpError(f"{_where(op)}: output scale {s_out:g} is below 2^-19 x the input scale {s_in:g}; "
                                 "re-quantize the model")


def check_add_n(graph: Graph, op: Op) -> None:
    """ADD_N int8: 2 or more inputs of one shape sharing one scale and zero point; output scale > 2^-19 x input scale."""
    first = _qp(graph, op.inputs[0])
    for n in op.inputs[1:]:
        if _qp(graph, n) != first:
            raise UnsupportedOpError(f"{_where(op)}: input '{n}' is quantized {_qp(graph, n)}, '{op.inputs[0]}' "
                                     f"{first}; TFLM's ADD_N needs one quantization for every input: re-quantize")
    _accumulate_scales(graph, op)


def check_cumsum(graph: Graph, op: Op) -> None:
    """CUMSUM int8: constant axis, exclusive and reverse flags; output scale > 2^-19 x input scale."""
    _accumulate_scales(graph, op)


def check_l2_pool(graph: Graph, op: Op) -> None:
    """L2_POOL_2D: float32 only (TFLM has no int8 kernel); an int8 model with one does not run on TFLM."""
    raise UnsupportedOpError(f"{_where(op)}: TFLM has no int8 L2_POOL_2D kernel; keep this part of the model in "
                             "float32")
