"""The ONNX importer's walk over the graph: constants, inputs, one converter per node, outputs.

`Importer` holds the state (IR graph, ONNX value -> IR Value table, constants in ONNX layout) and the
helpers converters share; converters register themselves with `@converter("OpType")` in
onnx_ops*.py. Every error names the file, the node (index, name, op type) and what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np
from onnx import ModelProto, NodeProto, helper, numpy_helper

from mcucompress.errors import SUPPORTED_OPS_HINT, UnsupportedOpError
from mcucompress.frontend import onnx_const
from mcucompress.frontend.onnx_layout import NHWC, Value, flat_order, identity, ir_shape
from mcucompress.ir import Graph, Op, QuantParams, Tensor
from mcucompress.ir import ops as irops

CONVERTERS: dict[str, Callable[[Importer, NodeProto], None]] = {}


def converter(*op_types: str):
    def register(fn):
        for t in op_types:
            CONVERTERS[t] = fn
        return fn

    return register


def register_converters() -> None:
    """Import every onnx_ops_* module: each registers its converters in CONVERTERS when imported."""
    from mcucompress.frontend import (  # noqa: F401
        onnx_ops,
        onnx_ops_math,
        onnx_ops_misc,
        onnx_ops_movement,
        onnx_ops_recurrent,
        onnx_ops_resize,
        onnx_ops_tensor,
        onnx_ops_transpose_conv,
        onnx_ops_typed,
    )


def supported_onnx_ops() -> list[str]:
    register_converters()
    return sorted(set(CONVERTERS) | {"Constant", "QuantizeLinear", "DequantizeLinear"})


def _transpose_perm(node: NodeProto) -> list[int] | None:
    if node.op_type != "Transpose":
        return None
    return next((list(helper.get_attribute_value(a)) for a in node.attribute if a.name == "perm"), None)


def _clean(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_.:/-" else "_" for c in name).strip("/") or "t"


class Importer:
    """Build an IR Graph from a checked, shape-inferred ONNX model whose inputs have static shapes."""

    def __init__(self, path: Path, model: ModelProto, shapes: dict[str, tuple[int, ...]], name: str, qdq=None):
        self.path, self.model, self.shapes, self.qdq = path, model, shapes, qdq
        self.opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        self.graph = Graph(name=name)
        self.values: dict[str, Value] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.qconsts: dict[str, object] = {}  # QDQ: the integer origin of dequantized constants
        self.node: NodeProto | None = None
        self.index = -1
        self._op_names: set[str] = set()
        self._folded_since_inference = False

    # ---------------------------------------------------------------- errors and attributes
    def where(self) -> str:
        n = self.node
        return f"{self.path}: node {self.index} '{n.name or n.output[0]}' ({n.op_type})"

    def fail(self, message: str) -> NoReturn:
        raise UnsupportedOpError(f"{self.where()}: {message}")

    def attr(self, name: str, default=None):
        for a in self.node.attribute:
            if a.name == name:
                v = helper.get_attribute_value(a)
                return v.decode() if isinstance(v, bytes) else v
        return default

    def inp(self, i: int) -> str:
        return self.node.input[i] if i < len(self.node.input) else ""

    # ---------------------------------------------------------------- ONNX tensors
    def is_const(self, name: str) -> bool:
        return name in self.consts

    def const(self, name: str, what: str) -> np.ndarray:
        if name not in self.consts:
            self.fail(f"{what} '{name}' must be a constant (an initializer or computable at import)")
        return self.consts[name]

    def act(self, name: str) -> Value:
        if name in self.values:
            return self.values[name]
        if name in self.consts:
            self.fail(f"input '{name}' is a constant where an activation is expected")
        self.fail(f"input '{name}' is not produced by any earlier node")

    def shape(self, name: str) -> tuple[int, ...]:
        if name in self.consts:
            return tuple(self.consts[name].shape)
        if name not in self.shapes and self._folded_since_inference:
            self._reinfer()
        if name not in self.shapes:
            self.fail(f"no static shape is known for tensor '{name}'; give a model with fixed shapes")
        return self.shapes[name]

    def _reinfer(self) -> None:
        """Shape inference again with every folded value as an initializer (it cannot see through e.g.
        Shape -> Gather -> Concat -> Reshape or computed Pad amounts the first time)."""
        from mcucompress.frontend.onnx import static_shapes

        m = ModelProto()
        m.CopyFrom(self.model)
        folded = {n for node in m.graph.node for n in node.output if n in self.consts}
        kept = [node for node in m.graph.node if not all(o in folded for o in node.output if o)]
        del m.graph.node[:]
        m.graph.node.extend(kept)
        m.graph.initializer.extend(numpy_helper.from_array(np.asarray(self.consts[n]), n) for n in sorted(folded))
        del m.graph.value_info[:]
        self.shapes.update(static_shapes(self.path, m)[1])
        self._folded_since_inference = False

    def act_as(self, name: str, perm, order=None) -> Value:
        """The activation `name` in layout (perm, order); a RESHAPE when only unit axes move, else an error."""
        v = self.act(name)
        perm = tuple(perm)
        if v.perm == perm and (v.order is None) == (order is None) and (order is None or np.array_equal(v.order, order)):
            return v
        shape = self.shape(name)
        if len(shape) == len(perm) and v.order is None and order is None and \
                not np.array_equal(flat_order(shape, v.perm), flat_order(shape, perm)):
            # The elements move: a TRANSPOSE from the IR tensor's axis order to the one asked for.
            out = self.tmp(f"{v.name}_transposed", ir_shape(shape, perm), like=self.graph.t(v.name))
            self.emit("TRANSPOSE", [v.name], [out], irops.TransposeAttrs(tuple(v.perm.index(p) for p in perm)))
            return Value(out, perm, order)
        if len(shape) != len(perm) or not np.array_equal(flat_order(shape, v.perm, v.order), flat_order(shape, perm, order)):
            self.fail(f"tensor '{name}' arrives in an element order other than this op needs in NHWC (it went through "
                      "a Reshape, Flatten or Transpose); that needs a TRANSPOSE, which the IR does not have")
        src = self.graph.t(v.name)
        out = self.tmp(f"{v.name}_nhwc" if perm == NHWC else f"{v.name}_relayout", ir_shape(shape, perm), like=src)
        self.emit("RESHAPE", [v.name], [out])
        return Value(out, perm, order)

    def spatial(self, name: str) -> Value:
        """A 4D NCHW activation, as the NHWC IR tensor the spatial ops read."""
        if len(self.shape(name)) != 4:
            self.fail(f"input '{name}' has shape {list(self.shape(name))}; only 4D NCHW tensors (2D images) are supported")
        return self.act_as(name, NHWC)

    # ---------------------------------------------------------------- IR tensors and ops
    def _unique(self, base: str) -> str:
        base = _clean(base)
        name, i = base, 1
        while name in self.graph.tensors:
            name, i = f"{base}_{i}", i + 1
        return name

    def add_act(self, onnx_name: str, perm, order=None, shape=None, quant_src: Value | None = None,
                dtype: str | None = None, quant: QuantParams | None = None) -> Value:
        """Create the IR tensor of ONNX activation `onnx_name` (float32, or int8 as its QuantizeLinear says)."""
        onnx_shape = tuple(shape) if shape is not None else self.shape(onnx_name)
        if dtype is None:
            dtype, quant = self.qdq.output_quant(self, onnx_name, quant_src) if self.qdq else ("float32", None)
        t = self.graph.add_tensor(Tensor(self._unique(onnx_name), ir_shape(onnx_shape, perm), dtype, quant))
        v = Value(t.name, tuple(perm), order)
        self.values[onnx_name] = v
        return v

    def tmp(self, base: str, shape, like: Tensor, quant: QuantParams | None = None) -> str:
        """An intermediate IR tensor with `like`'s dtype and quantization (or `quant`)."""
        t = Tensor(self._unique(base), shape, like.dtype, quant if quant is not None else like.quant)
        return self.graph.add_tensor(t).name

    def add_const(self, base: str, data, dtype: str = "float32", quant: QuantParams | None = None) -> str:
        data = np.asarray(data).astype(dtype)
        return self.graph.add_tensor(Tensor(self._unique(base), data.shape, dtype, quant, data)).name

    def emit(self, kind: str, inputs: list[str], outputs: list[str], attrs=None) -> Op:
        after = []
        if self.qdq is not None:
            inputs, outputs, after = self.qdq.fix_int8(self, kind, inputs, outputs)
        base = _clean(self.node.name) if self.node.name else f"{self.node.op_type.lower()}_{self.index}"
        name, i = base, 1
        while name in self._op_names:
            name, i = f"{base}_{i}", i + 1
        self._op_names.add(name)
        op = Op(kind, list(inputs), list(outputs), attrs if attrs is not None else irops.NoAttrs(), name)
        self.graph.ops.append(op)
        for args in after:
            self.emit(*args)
        return op

    # ---------------------------------------------------------------- the walk
    def run(self) -> Graph:
        g = self.model.graph
        for init in g.initializer:
            self.consts[init.name] = numpy_helper.to_array(init)
        self._inputs()
        for self.index, self.node in enumerate(g.node):
            self._node(self.node)
        self._outputs()
        return self.graph

    def _inputs(self) -> None:
        g = self.model.graph
        for vi in g.input:
            if vi.name in self.consts:
                continue  # old exporters list initializers as inputs too
            if vi.type.tensor_type.elem_type != 1:
                raise UnsupportedOpError(f"{self.path}: input '{vi.name}' has element type "
                                         f"{helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)}; "
                                         "only float32 model inputs are supported")
            shape = self.shapes[vi.name]
            consumers = [n for n in g.node if vi.name in n.input]
            # An NHWC input (Keras/tf2onnx) is read only through Transpose(0, 3, 1, 2): keep it as it is.
            keras = bool(consumers) and all(_transpose_perm(n) == [0, 3, 1, 2] for n in consumers)
            perm = NHWC if len(shape) == 4 and not keras else identity(len(shape))
            dtype, quant = self.qdq.input_quant(self, vi.name, consumers) if self.qdq else ("float32", None)
            t = self.graph.add_tensor(Tensor(self._unique(vi.name), ir_shape(shape, perm), dtype, quant))
            self.values[vi.name] = Value(t.name, perm)
            self.graph.inputs.append(t.name)
            self.graph.input_layouts.append(tuple(perm))  # data arrives in the declared layout (dataset.py)

    def _node(self, node: NodeProto) -> None:
        if node.domain not in ("", "ai.onnx"):
            self._unsupported(f"{node.domain}.{node.op_type}")
        names = [n for n in node.input if n]
        if node.op_type in ("Shape", "Size") and names and names[0] in self.shapes and names[0] not in self.consts:
            shape = np.array(self.shapes[names[0]], np.int64)
            if node.op_type == "Size":
                self.consts[node.output[0]] = np.array(shape.prod(), np.int64)
            else:
                self.consts[node.output[0]] = shape[self.attr("start", 0) : self.attr("end", len(shape))]
            self._folded_since_inference = True
            return
        if node.op_type not in onnx_const.NEVER_FOLD and all(n in self.consts for n in names):
            try:
                outs = onnx_const.evaluate(node, {n: self.consts[n] for n in names}, self.model.opset_import)
            except Exception as exc:  # noqa: BLE001  (onnx.reference raises any type on an op it cannot run)
                self.fail(f"cannot evaluate this constant node ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})")
            for name, value in zip(node.output, outs):
                if name:
                    self.consts[name] = value
            self._folded_since_inference = True
            return
        if self.qdq is not None and node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            self.qdq.convert(self, node)
            return
        fn = CONVERTERS.get(node.op_type)
        if fn is None:
            self._unsupported(node.op_type)
        try:
            fn(self, node)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            # Attribute or shape combinations a converter does not expect: one line, not a traceback.
            self.fail(f"cannot import this node ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})")

    def _unsupported(self, op_type: str) -> NoReturn:
        n = self.node
        raise UnsupportedOpError(f"{self.path}: node {self.index} '{n.name or n.output[0]}' is {op_type}, which is not "
                                 f"supported; {SUPPORTED_OPS_HINT}")

    def _outputs(self) -> None:
        for vi in self.model.graph.output:
            if vi.name in self.consts or vi.name not in self.values:
                raise UnsupportedOpError(f"{self.path}: output '{vi.name}' is a constant; nothing to compute")
            v = self.values[vi.name]
            if v.order is not None and not np.array_equal(v.order, np.arange(v.order.size)):
                raise UnsupportedOpError(f"{self.path}: output '{vi.name}' is a flattened NCHW tensor whose element "
                                         "order differs in NHWC; end the model with a Gemm/MatMul or pool first")
            if v.order is None and v.perm != (NHWC if len(v.perm) == 4 else identity(len(v.perm))):
                # An output leaves NHWC (4-D) or in the ONNX order: a model ending in a Transpose gets one.
                v = self.act_as(vi.name, NHWC if len(v.perm) == 4 else identity(len(v.perm)))
            self.graph.outputs.append(self._named_output(v.name, vi.name))

    def _named_output(self, ir_name: str, onnx_name: str) -> str:
        """Give an output tensor the model's output name (QDQ outputs are named after the tensor before Q)."""
        wanted = _clean(onnx_name)
        g = self.graph
        if ir_name == wanted or wanted in g.tensors or ir_name in g.inputs or ir_name in g.outputs:
            return ir_name
        t = g.tensors.pop(ir_name)
        t.name = wanted
        g.tensors[wanted] = t
        for op in g.ops:
            op.inputs = [wanted if n == ir_name else n for n in op.inputs]
            op.outputs = [wanted if n == ir_name else n for n in op.outputs]
        for v in self.values.values():
            if v.name == ir_name:
                v.name = wanted
        return wanted
