"""Shared fixtures: paths of the MLPerf Tiny models (skipped when ../shared is absent) and runtimes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# Every host build of generated C in the tests runs under AddressSanitizer and UBSan (mcucompress.harness.host).
os.environ.setdefault("MCC_HOST_SANITIZE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_MODELS = REPO.parent / "shared" / "models" / "mlperf_tiny"
INT8_MODELS = ["kws_ref_model", "vww_96_int8", "ic_pretrainedResnet_quant", "ad01_int8"]
FLOAT_MODELS = ["ad01_fp32", "ic_pretrainedResnet_float", "vww_96_float"]
MLPERF_MACS = {"kws_ref_model": 2_656_768, "vww_96_int8": 7_489_664, "ic_pretrainedResnet_quant": 12_501_632, "ad01_int8": 264_192}


def shared_model(name: str) -> Path:
    path = SHARED_MODELS / f"{name}.tflite"
    if not path.exists():
        pytest.skip(f"MLPerf Tiny model {path} is absent (../shared/models not laid beside the repo)")
    return path


def tflm_run(model: bytes | Path, x: np.ndarray) -> np.ndarray:
    """Run TFLM's reference kernels on one input."""
    from tflite_micro.python.tflite_micro import runtime

    data = model.read_bytes() if isinstance(model, Path) else model
    interp = runtime.Interpreter.from_bytes(data)
    interp.set_input(x, 0)
    interp.invoke()
    return interp.get_output(0)


class TflmSession:
    """One TFLM interpreter reused for many inputs (creating one per input is slow)."""

    def __init__(self, model: bytes | Path):
        from tflite_micro.python.tflite_micro import runtime

        data = model.read_bytes() if isinstance(model, Path) else model
        self.interp = runtime.Interpreter.from_bytes(data)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.interp.set_input(x, 0)
        self.interp.invoke()
        return self.interp.get_output(0).copy()


def lcg_input(n: int) -> np.ndarray:
    """The anchors' bit-exactness vector: x = 1664525x + 1013904223 mod 2^32, byte = x >> 24 (as int8)."""
    x = 12345
    out = np.empty(n, np.uint8)
    for i in range(n):
        x = (1664525 * x + 1013904223) & 0xFFFFFFFF
        out[i] = x >> 24
    return out.view(np.int8)


@pytest.fixture
def tiny_graph():
    """A small int8 CONV_2D -> RESHAPE -> FULLY_CONNECTED graph built by hand (no model files needed)."""
    from tests.graphs import tiny_conv_fc

    return tiny_conv_fc()
