"""Affine quantization parameters r = scale * (q - zero_point), per tensor or per axis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class QuantParams:
    """Scale and zero point; `axis` is None for per-tensor, else the channel axis of per-axis scales."""

    scale: np.ndarray  # float32, shape (1,) or (channels,)
    zero_point: np.ndarray  # int64, same length as scale
    axis: int | None = None

    def __post_init__(self) -> None:
        self.scale = np.atleast_1d(np.asarray(self.scale, dtype=np.float32))
        self.zero_point = np.atleast_1d(np.asarray(self.zero_point, dtype=np.int64))
        if self.zero_point.size == 1 and self.scale.size > 1:
            self.zero_point = np.repeat(self.zero_point, self.scale.size)

    @property
    def per_axis(self) -> bool:
        return self.axis is not None and self.scale.size > 1

    @property
    def s(self) -> float:
        """The per-tensor scale as a Python float (of the float32 value, as TFLite kernels see it)."""
        return float(self.scale[0])

    @property
    def zp(self) -> int:
        return int(self.zero_point[0])

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, QuantParams)
            and self.axis == other.axis
            and np.array_equal(self.scale, other.scale)
            and np.array_equal(self.zero_point, other.zero_point)
        )

    def to_json(self) -> dict:
        return {
            "scale": [float(s) for s in self.scale],
            "zero_point": [int(z) for z in self.zero_point],
            "axis": self.axis,
        }

    @classmethod
    def from_json(cls, d: dict) -> QuantParams:
        return cls(np.array(d["scale"], np.float32), np.array(d["zero_point"], np.int64), d["axis"])
