"""The verifier's dtype and shape rules of the ops with int32 or bool tensors: ARG_MAX, ARG_MIN, the comparisons,
SELECT_V2, ZEROS_LIKE and FILL (mcucompress.ir.consistency calls these for TYPED_KINDS)."""

from __future__ import annotations

import numpy as np

from mcucompress.errors import GraphError

FIX = "the model file is inconsistent; re-export it"
COMPARISONS = ("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL")
TYPED_ARITY = {"ARG_MAX": (1, 1), "ARG_MIN": (1, 1), **{k: (2, 2) for k in COMPARISONS}, "SELECT_V2": (3, 3),
               "ZEROS_LIKE": (1, 1), "FILL": (1, 1)}
TYPED_KINDS = tuple(TYPED_ARITY)
ALL_OPERANDS = (*COMPARISONS, "SELECT_V2")  # every input is an activation-or-constant operand
VALUES = ("int8", "float32")  # value dtypes of ARG_MAX, the comparisons and SELECT_V2 (reference and C)
FILLED = ("int8", "int32", "float32")  # ZEROS_LIKE and FILL: what TFLM supports (int64 aside)


def check_dtypes(where: str, op, ins, out) -> None:
    def bad(what: str) -> GraphError:
        return GraphError(f"{where}: {what}; {FIX}")

    first = ins[0].dtype
    if op.kind in ("ARG_MAX", "ARG_MIN"):
        if first not in VALUES or out.dtype not in ("int32", "int64"):
            raise bad(f"takes int8 or float32 to int32 indices, not {first} to {out.dtype}")
    elif op.kind in COMPARISONS:
        if first not in (*VALUES, "int32") or ins[1].dtype != first or out.dtype != "bool":
            raise bad(f"compares two int8, float32 or int32 inputs into bool, not {first} and {ins[1].dtype} into "
                      f"{out.dtype}")
    elif op.kind == "SELECT_V2":
        if first != "bool" or ins[1].dtype not in VALUES or ins[2].dtype != ins[1].dtype or out.dtype != ins[1].dtype:
            raise bad(f"takes a bool condition and two int8 or float32 values of the output's dtype, not "
                      f"{first}, {ins[1].dtype}, {ins[2].dtype} -> {out.dtype}")
    elif first not in FILLED or out.dtype != first:  # ZEROS_LIKE, FILL
        raise bad(f"takes and gives int8, int32 or float32 of one dtype, not {first} to {out.dtype}")


def shape(where: str, op, ins, out):
    """The output shape the inputs and attributes give (None: any shape, FILL's comes from its constant dims)."""
    if op.kind in ("ARG_MAX", "ARG_MIN"):
        x = ins[0].shape
        axis = op.attrs.axis
        if not x or not isinstance(axis, (int, np.integer)) or not -len(x) <= axis < len(x):
            raise GraphError(f"{where}: axis {axis} is not an axis of input shape {list(x)}; {FIX}")
        return tuple(d for i, d in enumerate(x) if i != axis % len(x))
    if op.kind in ALL_OPERANDS:
        try:
            return tuple(np.broadcast_shapes(*(t.shape for t in ins)))
        except ValueError:
            raise GraphError(f"{where}: input shapes {[list(t.shape) for t in ins]} do not broadcast; {FIX}") from None
    if op.kind == "FILL":
        if ins[0].shape != ():
            raise GraphError(f"{where}: value '{ins[0].name}' has shape {list(ins[0].shape)}; FILL takes a scalar "
                             f"(rank 0, as TFLite requires); {FIX}")
        return None
    return ins[0].shape  # ZEROS_LIKE
