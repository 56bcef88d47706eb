"""The op registry: one OpSpec per IR op kind, the single source of every per-op table.

An OpSpec says how a kind imports from TFLite, what int8 variant TFLM accepts (the constraint check,
whose docstring is the user-facing rule), how the quantizer treats it, which function runs it in the
reference executor, which lowering turns it into C, which C kernels that may call, how much scratch the
kernel needs, whether the planner may write its output over its input, and how pruning may remove
channels across it. The quantizer, the QDQ importer, the constraint checks, `mcucompress ops` and
docs/SUPPORTED_OPS.md, the executor, the lowering, the planner and the TFLite importer all read it.

The entries live in mcucompress/ops/<family>.py and are loaded on first lookup: they refer to the
executor's and the lowering's functions, which themselves look kinds up here while running.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from mcucompress.errors import UnsupportedOpError

# How output channels of an op relate to its input channels (structured pruning reads this).
CHANNELS_PRODUCER = "producer"  # CONV_2D, FULLY_CONNECTED: out = weight axis 0, in = the weight's last axis
CHANNELS_DEPTHWISE = "depthwise"  # DEPTHWISE_CONV_2D: output channel c is tied to input channel c (weight axis 3)
CHANNELS_PASSTHROUGH = "passthrough"  # element-wise, pools, PAD, MEAN over non-channel axes: c in is c out
CHANNELS_TIED = "tied"  # ADD, MAXIMUM, PRELU...: activation inputs and output share channels; constants sliced
CHANNELS_CONCAT = "concat"  # CONCATENATION: channels of input k are offset when the axis is the last one
CHANNELS_RESHAPE = "reshape"  # RESHAPE: input channel c maps to every output position with index % C == c
CHANNELS_BLOCK = "block"  # anything else (SOFTMAX over channels, DEQUANTIZE): channels may not be removed across
CHANNEL_RULES = (CHANNELS_PRODUCER, CHANNELS_DEPTHWISE, CHANNELS_PASSTHROUGH, CHANNELS_TIED, CHANNELS_CONCAT,
                 CHANNELS_RESHAPE, CHANNELS_BLOCK)

# modules of mcucompress.ops
FAMILIES = ("weighted", "pooling", "elementwise", "activations", "movement", "typed", "resize", "recurrent")


@dataclass(frozen=True)
class OpSpec:
    """Everything the toolchain knows about one op kind.

    reference(graph, op, xs) -> array runs the op on the inputs' arrays (empty optional inputs left out);
    lowering(lowering, index, op) -> KernelCall is a codegen.lower.Lowering method; check(graph, op)
    raises UnsupportedOpError for an int8 variant TFLM rejects; scratch(graph, op) -> bytes."""

    kind: str
    attrs: type
    reference: Callable
    channels: str
    tflite_names: tuple[str, ...] = ()  # builtin operators that import as this kind (the kind itself included)
    check: Callable | None = None
    shares_quant: bool = False  # int8 inputs and output share one scale and zero point
    fixed_output: tuple[float, int] | None = None  # int8 output (scale, zero point) fixed by TFLite
    weight_axis: int | None = None  # axis of the weights' per-channel quantization (input 1)
    lowering: Callable | None = None  # None: reference executor only (no int8 C kernel)
    int16_lowering: Callable | None = None  # the 16x8 variant's (int16 activations) lowering; None: no int16 kernel
    c_functions: tuple[str, ...] = ()  # C kernels the lowering may call
    scratch: Callable | None = None
    # True: the C kernel reads element i of input 0 before writing element i of the output (same shape); or
    # a function (graph, op) -> bool saying whether the kernel chosen for this op may write its output over
    # its input 0's memory, both starting at the same address (a fact of the kernel's read/write order).
    in_place: bool | Callable = False
    alias: bool = False  # the output is the input's memory reinterpreted: no code, no bytes
    # (graph, op) -> bool: the kernel's scratch may start at input 0's address when input 0 dies at this op
    # (the kernel never overwrites an input byte it has not read yet); the planner then makes them one buffer.
    scratch_over_input: Callable | None = None
    # (graph, op) -> int | None: an int, the kernel may write its output over its dying input 0 if the output
    # starts that many bytes before it (codegen/conv_lag.py); the planner then makes them one buffer that much
    # larger. None: it may not.
    in_place_lag: Callable | None = None

    def __post_init__(self):
        if self.channels not in CHANNEL_RULES:
            raise ValueError(f"OpSpec {self.kind}: channel rule '{self.channels}' is not one of {CHANNEL_RULES}")

    @property
    def rules(self) -> list[str]:
        """The constraint check's docstring as lines: what `mcucompress ops` and SUPPORTED_OPS.md show."""
        doc = inspect.getdoc(self.check) if self.check else None
        return [line.strip() for line in doc.splitlines() if line.strip()] if doc else []


@lru_cache(maxsize=1)
def _table() -> dict[str, OpSpec]:
    table: dict[str, OpSpec] = {}
    for family in FAMILIES:
        for s in importlib.import_module(f"mcucompress.ops.{family}").SPECS:
            if s.kind in table:
                raise ValueError(f"op kind {s.kind} is registered twice (mcucompress/ops/{family}.py)")
            table[s.kind] = s
    return table


def spec(kind: str) -> OpSpec:
    """The OpSpec of `kind`; UnsupportedOpError naming the kind and the supported ones when there is none."""
    table = _table()
    if kind not in table:
        raise UnsupportedOpError(f"op kind '{kind}' is not supported; supported kinds: {', '.join(sorted(table))}")
    return table[kind]


def is_kind(kind: str) -> bool:
    return kind in _table()


def all_specs() -> tuple[OpSpec, ...]:
    """Every OpSpec, sorted by kind."""
    return tuple(s for _, s in sorted(_table().items()))


def kinds() -> list[str]:
    return sorted(_table())


def tflite_aliases() -> dict[str, str]:
    """TFLite builtin names that import as another kind (SQUEEZE -> RESHAPE, ...)."""
    return {name: s.kind for s in all_specs() for name in s.tflite_names if name != s.kind}
