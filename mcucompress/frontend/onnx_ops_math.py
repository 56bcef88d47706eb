"""ONNX converters for what PyTorch exports from transformer blocks: MatMul of two activations (BATCH_MATMUL),
Pow by a constant 2 (MUL x * x) or 0.5 (SQRT), Div by an activation (DIV, float32), Gelu (opset 20) and
torch's erf form of GELU, x * 0.5 * (1 + Erf(x / sqrt 2)), which `fuse_erf_gelu` rewrites into one Gelu node
before conversion.

MatMul's operands keep their ONNX axis order (a TRANSPOSE when the IR holds them otherwise), except that an
operand whose IR tensor is its ONNX value with the last two axes swapped (torch's k.transpose(-2, -1)) is
multiplied as it is, with BATCH_MATMUL's adj_x / adj_y set.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import helper, numpy_helper

from mcucompress.frontend.onnx_context import Importer, converter
from mcucompress.frontend.onnx_layout import Value, identity
from mcucompress.ir import ops as irops


# ---------------------------------------------------------------- MatMul of two activations
def _operand(ctx: Importer, name: str) -> tuple[str, bool]:
    """The IR tensor of MatMul operand `name` and whether it holds the ONNX value with the last two axes swapped."""
    rank = len(ctx.shape(name))
    if ctx.is_const(name):
        return ctx.add_const(name, ctx.consts[name].astype(np.float32)), False
    v = ctx.act(name)
    swapped = (*identity(rank - 2), rank - 1, rank - 2)
    if rank >= 2 and v.perm == swapped and v.order is None:
        return v.name, True
    return ctx.act_as(name, identity(rank)).name, False


def matmul_activations(ctx: Importer, node) -> None:
    """MatMul whose second operand is an activation (or a constant of rank > 2): BATCH_MATMUL."""
    if ctx.qdq is not None:
        ctx.fail("MatMul of two activations in a QDQ model is not supported; quantize the float model with mcucompress")
    a, b = node.input[0], node.input[1]
    ranks = [len(ctx.shape(a)), len(ctx.shape(b)), len(ctx.shape(node.output[0]))]
    if min(ranks) < 2 or max(ranks) > 5:
        ctx.fail(f"MatMul of ranks {ranks[0]} and {ranks[1]}; BATCH_MATMUL takes operands of rank 2 to 5")
    lhs, adj_x = _operand(ctx, a)
    rhs, adj_y = _operand(ctx, b)
    y = ctx.add_act(node.output[0], identity(ranks[2]))
    ctx.emit("BATCH_MATMUL", [lhs, rhs], [y.name], irops.BatchMatMulAttrs(adj_x, adj_y))


# ---------------------------------------------------------------- Pow, Div, Gelu
@converter("Pow")
def power(ctx: Importer, node) -> None:
    """Pow by a constant exponent 2 (MUL x * x) or 0.5 (SQRT)."""
    if not ctx.is_const(node.input[1]) or ctx.consts[node.input[1]].size != 1:
        ctx.fail("Pow with an exponent computed at run time is not supported; only a constant 2 or 0.5 is")
    e = float(ctx.consts[node.input[1]].reshape(-1)[0])
    x = ctx.act(node.input[0])
    y = ctx.add_act(node.output[0], x.perm, x.order)
    if e == 2.0:
        ctx.emit("MUL", [x.name, x.name], [y.name], irops.ElementwiseAttrs())
    elif e == 0.5:
        ctx.emit("SQRT", [x.name], [y.name])
    else:
        ctx.fail(f"Pow with exponent {e:g} is not supported; only 2 (x * x) and 0.5 (sqrt) are")


def divide(ctx: Importer, node, lead: Value, operands: list[str]) -> None:
    """Div by an activation: DIV (float32; TFLite's DIV)."""
    if ctx.qdq is not None:
        ctx.fail("Div by an activation in a QDQ model is not supported; only division by a constant is")
    y = ctx.add_act(node.output[0], lead.perm, lead.order)
    ctx.emit("DIV", operands, [y.name], irops.ElementwiseAttrs())


@converter("Gelu")
def gelu(ctx: Importer, node) -> None:
    approximate = ctx.attr("approximate", "none")
    if approximate not in ("none", "tanh"):
        ctx.fail(f"Gelu with approximate='{approximate}' is not supported; 'none' and 'tanh' are")
    x = ctx.act(node.input[0])
    y = ctx.add_act(node.output[0], x.perm, x.order)
    ctx.emit("GELU", [x.name], [y.name], irops.GeluAttrs(approximate == "tanh"))


# ---------------------------------------------------------------- torch's erf GELU -> one Gelu node
def _constants(graph) -> dict[str, np.ndarray]:
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            values[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    return values


def fuse_erf_gelu(model) -> None:
    """Rewrite Div(x, sqrt 2) -> Erf -> Add 1 -> Mul by x -> Mul by 0.5 (torch's export of nn.GELU; the halving
    may come first, on x) into Gelu(x), in place. Other uses of Erf are left alone (and refused later)."""
    g = model.graph
    consts = _constants(g)
    consumers: dict[str, list] = {}
    producer = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
        for o in n.output:
            producer[o] = n
    outputs = {o.name for o in g.output}

    def scalar(name: str, value: float) -> bool:
        c = consts.get(name)
        return c is not None and c.size == 1 and abs(float(c.reshape(-1)[0]) - value) <= 1e-6 * abs(value)

    def only_user(name: str, op_type: str):
        users = consumers.get(name, [])
        return users[0] if len(users) == 1 and users[0].op_type == op_type and name not in outputs else None

    def other(n, name: str) -> str | None:
        rest = [i for i in n.input if i != name]
        return rest[0] if len(n.input) == 2 and len(rest) == 1 else None

    for erf in [n for n in g.node if n.op_type == "Erf"]:
        d = producer.get(erf.input[0])
        if d is None or only_user(erf.input[0], "Erf") is None:
            continue
        if d.op_type == "Div" and scalar(d.input[1], math.sqrt(2.0)) or \
                d.op_type == "Mul" and scalar(d.input[1], 1 / math.sqrt(2.0)):
            x = d.input[0]
        else:
            continue
        add = only_user(erf.output[0], "Add")
        if add is None or not scalar(other(add, erf.output[0]) or "", 1.0):
            continue
        m1 = only_user(add.output[0], "Mul")
        if m1 is None:
            continue
        f = other(m1, add.output[0])
        half = producer.get(f) if f is not None else None
        if f == x:  # (x * (1 + erf)) * 0.5
            m2 = only_user(m1.output[0], "Mul")
            if m2 is None or not scalar(other(m2, m1.output[0]) or "", 0.5):
                continue
            removed, out = [d, erf, add, m1, m2], m2.output[0]
        elif half is not None and half.op_type == "Mul" and only_user(f, "Mul") is m1 and x in half.input and \
                scalar(other(half, x) or "", 0.5):  # (x * 0.5) * (1 + erf)
            removed, out = [d, erf, add, half, m1], m1.output[0]
        else:
            continue
        last = max(list(g.node).index(n) for n in removed)
        fused = helper.make_node("Gelu", [x], [out], name=f"{erf.name or out}_gelu")
        g.node.insert(last + 1, fused)
        for n in removed:
            g.node.remove(n)
