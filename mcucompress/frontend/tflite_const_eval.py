"""Evaluate TFLite's shape-arithmetic ops on constant inputs so that import can fold them away.

Newer converters emit SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE chains around Flatten/Reshape.
With static shapes every value in such a chain is known at import time.
"""

from __future__ import annotations

import numpy as np


def _strided_slice(x: np.ndarray, begin, end, strides, opts) -> np.ndarray:
    begin_mask, end_mask = opts.BeginMask(), opts.EndMask()
    shrink_mask = opts.ShrinkAxisMask()
    slices = []
    for i in range(len(begin)):
        b = None if begin_mask >> i & 1 else int(begin[i])
        e = None if end_mask >> i & 1 else int(end[i])
        if shrink_mask >> i & 1:
            b = int(begin[i])
            e = b + 1 if b != -1 else None
        slices.append(slice(b, e, int(strides[i])))
    out = x[tuple(slices)]
    shrink_axes = [i for i in range(len(begin)) if shrink_mask >> i & 1]
    return np.squeeze(out, axis=tuple(shrink_axes)) if shrink_axes else out


def evaluate(kind: str, inputs: list[np.ndarray], input_shapes: list[tuple], opts, out_dtype: str) -> np.ndarray | None:
    """Return the constant output of `kind`, or None when the op cannot be folded here.

    `inputs` holds the constant arrays (None for non-constant inputs); SHAPE only needs the shape.
    """
    if kind == "SHAPE":
        return np.array(input_shapes[0], dtype=out_dtype)
    if any(x is None for x in inputs):
        return None
    if kind == "STRIDED_SLICE":
        return _strided_slice(inputs[0], inputs[1], inputs[2], inputs[3], opts)
    if kind == "PACK":
        return np.stack(inputs, axis=opts.Axis())
    if kind == "CONCATENATION":
        return np.concatenate(inputs, axis=opts.Axis())
    if kind == "CAST":
        return inputs[0].astype(out_dtype)
    if kind == "GATHER":
        return np.take(inputs[0], inputs[1], axis=opts.Axis())
    if kind == "SLICE":
        begin, size = inputs[1], inputs[2]
        return inputs[0][tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))]
    if kind in ("REDUCE_PROD",):
        return np.prod(inputs[0], axis=tuple(np.atleast_1d(inputs[1])), keepdims=bool(opts.KeepDims()))
    if kind in ("MUL", "ADD", "SUB") and inputs[0].dtype.kind == "i":
        fn = {"MUL": np.multiply, "ADD": np.add, "SUB": np.subtract}[kind]
        return fn(inputs[0], inputs[1])
    if kind in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
        return None  # handled by the caller from the output tensor's static shape
    return None
