"""A tensor of the IR: name, static shape, dtype, optional quantization and optional constant data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcucompress.ir.quant import QuantParams

DTYPES = ("int8", "uint8", "int16", "int32", "int64", "float32", "bool")


@dataclass(eq=False)
class Tensor:
    """Activations have data None; constants (weights, biases, shape operands) carry a numpy array."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: QuantParams | None = None
    data: np.ndarray | None = None
    # A TFLite "variable" tensor (recurrent state: LSTM hidden/cell state, SVDF activation state): no data, not a
    # graph input, read and rewritten by its op, kept from one invocation to the next (zero at start/reset).
    variable: bool = False

    def __post_init__(self) -> None:
        self.shape = tuple(int(d) for d in self.shape)
        if self.data is not None:
            self.data = np.asarray(self.data, dtype=self.dtype).reshape(self.shape)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize
