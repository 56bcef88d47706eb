"""The Python API: mcucompress.load and the callable mcucompress.quantize(graph, data, method=...)."""

from __future__ import annotations

import numpy as np
import pytest

import mcucompress
from mcucompress.errors import DataError
from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT, DIGITS_TEST
from mcucompress.reference import executor


@pytest.mark.parametrize("method", ["minmax", "kl"])
def test_quantize_is_callable_from_the_package(method):
    graph = mcucompress.load(DIGITS_FLOAT)
    quantized = mcucompress.quantize(graph, np.load(DIGITS_CALIBRATION)["x"][:64], method=method)
    assert quantized.is_quantized and not graph.is_quantized
    test = np.load(DIGITS_TEST)
    q = quantized.t(quantized.inputs[0]).quant
    x = np.clip(np.round(test["x"][:100] / q.s) + q.zp, -128, 127).astype(np.int8)
    top1 = np.mean([executor.run(quantized, [xi[None]])[0].argmax() == y for xi, y in zip(x, test["y"][:100])])
    assert top1 >= 0.95


def test_quantize_refuses_integer_data():
    with pytest.raises(DataError, match="float"):
        mcucompress.quantize(mcucompress.load(DIGITS_FLOAT), np.zeros((4, 8, 8, 1), np.int8))
