"""Typed records that lowering produces and templates format: constant arrays, parameter structs, calls."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class CArray:
    """A constant array placed in flash (weights.c); `values` is a 1-D numpy array."""

    name: str
    ctype: str  # "int8_t", "int16_t", "int32_t" or "int64_t"
    values: np.ndarray
    comment: str = ""

    @property
    def nbytes(self) -> int:
        return int(self.values.size * {"int8_t": 1, "int16_t": 2, "uint16_t": 2, "int64_t": 8}.get(self.ctype, 4))

    def rows(self, per_row: int = 16) -> list[str]:
        v = [str(int(x)) for x in self.values]
        return [", ".join(v[i : i + per_row]) for i in range(0, len(v), per_row)]


@dataclass
class CStatic:
    """A static const struct in model.c, initialised field by field."""

    ctype: str
    name: str
    fields: list[tuple[str, str]]


@dataclass
class KernelCall:
    index: int
    op_name: str
    kind: str
    function: str  # "" for ops that cost nothing (aliases)
    args: list[str]
    statics: list[CStatic] = field(default_factory=list)
    arrays: list[CArray] = field(default_factory=list)
    pre: list[str] = field(default_factory=list)  # C statements inside the call's block, before it
    macs: int = 0
    note: str = ""
    weight_format: str = ""  # CONV_2D / FULLY_CONNECTED: "dense", "2:4" or "1:4" (codegen/sparse.py)
    sparse: object = None  # the sparse.Choice behind weight_format
