"""The graph: a name-indexed table of tensors and a topologically ordered list of ops."""

from __future__ import annotations

from dataclasses import dataclass, field

from mcucompress.ir.ops import Op
from mcucompress.ir.tensor import Tensor


@dataclass(eq=False)
class Graph:
    """Ops are kept in execution order; `inputs`/`outputs` name the model's activation tensors."""

    name: str = "model"
    tensors: dict[str, Tensor] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    # Per input, IR axis i holds axis perm[i] of the shape the model file declared (the ONNX importer turns
    # NCHW into NHWC: (0, 2, 3, 1)); empty or missing entries mean the file declared the IR's own layout.
    input_layouts: list[tuple[int, ...]] = field(default_factory=list)

    def input_perm(self, index: int = 0) -> tuple[int, ...]:
        """The permutation from input `index`'s declared shape (in the model file) to its IR shape."""
        rank = len(self.tensors[self.inputs[index]].shape)
        perm = self.input_layouts[index] if index < len(self.input_layouts) else None
        return tuple(perm) if perm and len(perm) == rank else tuple(range(rank))

    def declared_input_shape(self, index: int = 0) -> tuple[int, ...]:
        """Input `index`'s shape as the model file declared it (NCHW for an ONNX image model)."""
        shape, perm = self.tensors[self.inputs[index]].shape, self.input_perm(index)
        return tuple(int(shape[perm.index(axis)]) for axis in range(len(perm)))

    def add_tensor(self, tensor: Tensor) -> Tensor:
        self.tensors[tensor.name] = tensor
        return tensor

    def t(self, name: str) -> Tensor:
        return self.tensors[name]

    def producer(self, name: str) -> Op | None:
        for op in self.ops:
            if name in op.outputs:
                return op
        return None

    def consumers(self, name: str) -> list[Op]:
        return [op for op in self.ops if name in op.inputs]

    def remove_unused_tensors(self) -> None:
        used = set(self.inputs) | set(self.outputs)
        for op in self.ops:
            used.update(n for n in op.inputs if n)
            used.update(op.outputs)
        self.tensors = {n: t for n, t in self.tensors.items() if n in used}

    @property
    def is_quantized(self) -> bool:
        """True when every model input and output is an integer tensor."""
        return all(self.tensors[n].dtype != "float32" for n in self.inputs + self.outputs)
