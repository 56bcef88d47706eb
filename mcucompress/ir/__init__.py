"""The intermediate representation: tensors, ops with typed attributes, and the graph that holds them."""

from mcucompress.ir.graph import Graph
from mcucompress.ir.ops import Op
from mcucompress.ir.quant import QuantParams
from mcucompress.ir.tensor import Tensor

__all__ = ["Graph", "Op", "QuantParams", "Tensor"]
