"""Element-wise activations and (de)quantization kernels, registered into the executor's table."""

from __future__ import annotations

import numpy as np

from mcucompress.fixedpoint.scaling import tflite_round  # noqa: F401  (used by kernels added here)
from mcucompress.reference.executor import kernel


@kernel("QUANTIZE")
def _quantize(graph, op, xs):
    x, out = xs[0], graph.t(op.outputs[0])
    if x.dtype == np.float32:
        scale = np.float32(out.quant.s)
        q = np.round_(x / scale) if False else _round_half_away(x.astype(np.float32) / scale)
        return np.clip(q + out.quant.zp, -128, 127).astype(np.int8)
    raise NotImplementedError("int8 -> int8 QUANTIZE")


@kernel("DEQUANTIZE")
def _dequantize(graph, op, xs):
    inp = graph.t(op.inputs[0])
    return ((xs[0].astype(np.int32) - inp.quant.zp).astype(np.float32) * np.float32(inp.quant.s)).astype(np.float32)


def _round_half_away(x: np.ndarray) -> np.ndarray:
    return (np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))).astype(np.int64)
