"""Typed records that lowering produces and templates format: constant arrays, parameter structs, calls and
their arguments (codegen/calls.py renders a call, one argument per line, named by the kernel's prototype)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class CArray:
    """A constant array placed in flash (weights.c); `values` is a 1-D numpy array."""

    name: str
    ctype: str  # "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t" or "int64_t"
    values: np.ndarray
    comment: str = ""

    @property
    def nbytes(self) -> int:
        return int(self.values.size * {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int64_t": 8}.get(self.ctype, 4))

    def rows(self, per_row: int = 16) -> list[str]:
        v = [str(int(x)) for x in self.values]
        return [", ".join(v[i : i + per_row]) for i in range(0, len(v), per_row)]


@dataclass
class CStatic:
    """A static const struct in model.c, initialised field by field."""

    ctype: str
    name: str
    fields: list[tuple[str, str]]
    shared_with: str = ""  # an equal static defined instead of this one (codegen/shared_statics.py)

    @property
    def symbol(self) -> str:
        """The C name the calls use: this struct's, or that of the equal one defined in its place."""
        return self.shared_with or self.name


@dataclass(frozen=True)
class StructArg:
    """The address of a parameter struct of the call (a CStatic)."""

    static: CStatic

    def c(self) -> str:
        return f"&{self.static.symbol}"


@dataclass(frozen=True)
class ArrayArg:
    """A constant array in flash, passed as a pointer to its first element."""

    array: CArray

    def c(self) -> str:
        return self.array.name


@dataclass(frozen=True)
class TensorArg:
    """An activation tensor: its pointer in the arena or the caller's input/output buffer."""

    tensor: str
    pointer: str

    def c(self) -> str:
        return self.pointer


@dataclass(frozen=True)
class IntArg:
    """An integer known at generation time (a size, a count, a zero point, a clamp bound, a bit mask)."""

    value: int

    def c(self) -> str:
        return str(int(self.value))


@dataclass(frozen=True)
class LocalArg:
    """A local variable declared by the call's `pre` statements (e.g. a table of tensor pointers)."""

    name: str

    def c(self) -> str:
        return self.name


Arg = StructArg | ArrayArg | TensorArg | IntArg | LocalArg


@dataclass
class KernelCall:
    index: int
    op_name: str
    kind: str
    function: str  # "" for ops that cost nothing (aliases)
    args: list[Arg]
    statics: list[CStatic] = field(default_factory=list)
    arrays: list[CArray] = field(default_factory=list)
    pre: list[str] = field(default_factory=list)  # C statements inside the call's block, before it
    macs: int = 0
    note: str = ""
    weight_format: str = ""  # CONV_2D / FULLY_CONNECTED: sparse.Choice.format (dense, 2:4, 1:4, unstructured,
    # unstructured-packed, packed)
    sparse: object = None  # the sparse.Choice behind weight_format
    parts: list = field(default_factory=list)  # records of calls made inside this layer's code (codegen/bands.py)
    helpers: list[str] = field(default_factory=list)  # kernel functions its `pre` statements call

    def int_arg(self, position: int) -> int:
        """The value of an IntArg argument (checks.py reads sizes this way)."""
        arg = self.args[position]
        if not isinstance(arg, IntArg):
            raise TypeError(f"{self.function} argument {position} is {type(arg).__name__}, not an IntArg")
        return arg.value
