"""Mutations of model files: generic byte-level ones and structure-aware TFLite / ONNX field edits.

Each mutator takes the seed's bytes (and its parsed field table) and a random.Random, and returns new
bytes plus a short text naming what it did (recorded with every finding).
"""

from __future__ import annotations

import random
import struct

INT32 = [0, 1, -1, 2, 3, 4, 7, 8, 16, 17, 127, 128, -128, 255, 256, 65535, 65536, 1000000, 2**31 - 1, -(2**31),
         2**24, 2**24 + 1, 46341]
FLOATS = [0.0, -0.001, float("nan"), float("inf"), -float("inf"), 1e30, 1e-45, 1.0, 3.4e38]


def _value(rng: random.Random, size: int, old: bytes) -> bytes:
    """An interesting value of `size` bytes (near the old one, an edge, a float pattern or random)."""
    fmt = {1: "<b", 2: "<h", 4: "<i", 8: "<q"}[size]
    pick = rng.random()
    if size == 4 and pick < 0.15:
        return struct.pack("<f", rng.choice(FLOATS))
    if pick < 0.35 and len(old) == size:
        v = struct.unpack(fmt, old)[0] + rng.choice([-2, -1, 1, 2, 8])
    elif pick < 0.85:
        v = rng.choice(INT32 + ([2**40, -(2**63), 2**63 - 1] if size == 8 else []))
    else:
        return bytes(rng.getrandbits(8) for _ in range(size))
    bits = 8 * size
    v &= (1 << bits) - 1
    return v.to_bytes(size, "little")


# ---------------------------------------------------------------- generic byte mutations
def flip_bits(data: bytearray, rng: random.Random) -> str:
    n = rng.choice([1, 2, 4, 8])
    for _ in range(n):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    return f"flip{n}"


def set_bytes(data: bytearray, rng: random.Random) -> str:
    size = rng.choice([1, 2, 4, 8])
    i = rng.randrange(max(len(data) - size, 1))
    data[i : i + size] = _value(rng, size, bytes(data[i : i + size]))[: len(data) - i]
    return f"set{size}@{i}"


def truncate(data: bytearray, rng: random.Random) -> str:
    n = rng.randrange(1, len(data))
    del data[n:]
    return f"truncate@{n}"


def splice(data: bytearray, rng: random.Random) -> str:
    a, b = sorted(rng.randrange(len(data)) for _ in range(2))
    chunk = data[a : min(b, a + 64)]
    at = rng.randrange(len(data))
    data[at:at] = chunk
    return f"splice{len(chunk)}@{at}"


BYTE_MUTATORS = (flip_bits, set_bytes, set_bytes, truncate, splice)


# ---------------------------------------------------------------- TFLite flatbuffer fields
def tflite_fields(raw: bytes) -> list[tuple[int, int, str]]:
    """(position, size, label) of the scalar fields of a .tflite file that import reads."""
    import tflite

    fields: list[tuple[int, int, str]] = []

    def scalar(obj, slot: int, size: int, label: str) -> None:
        tab = obj._tab
        off = tab.Offset(slot)
        if off:
            fields.append((tab.Pos + off, size, label))

    def vector(obj, slot: int, elem: int, label: str, limit: int = 16) -> None:
        tab = obj._tab
        off = tab.Offset(slot)
        if off:
            start, n = tab.Vector(off), tab.VectorLen(off)
            fields.append((start - 4, 4, f"{label}_len"))
            fields.extend((start + i * elem, elem, label) for i in range(min(n, limit)))

    def table(tab, label: str) -> None:
        """Every field of a table whose layout we do not spell out (builtin options): 4-byte guesses."""
        vt = tab.Pos - struct.unpack_from("<i", tab.Bytes, tab.Pos)[0]
        vsize = struct.unpack_from("<H", tab.Bytes, vt)[0]
        for slot in range(4, vsize, 2):
            if tab.Offset(slot):
                fields.append((tab.Pos + tab.Offset(slot), rng_size(slot), f"{label}{slot}"))

    def rng_size(slot: int) -> int:
        return 4 if slot % 4 == 0 else 1

    model = tflite.Model.GetRootAs(raw, 0)
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        scalar(oc, 4, 1, "opcode_deprecated")
        scalar(oc, 10, 4, "opcode_builtin")
    for i in range(model.BuffersLength()):
        vector(model.Buffers(i), 4, 1, "buffer_data", 4)
    sg = model.Subgraphs(0)
    vector(sg, 6, 4, "sg_inputs")
    vector(sg, 8, 4, "sg_outputs")
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        vector(t, 4, 4, "shape")
        scalar(t, 6, 1, "type")
        scalar(t, 8, 4, "buffer")
        vector(t, 18, 4, "shape_signature")
        q = t.Quantization()
        if q is not None:
            vector(q, 8, 4, "q_scale", 4)
            vector(q, 10, 8, "q_zero_point", 4)
            scalar(q, 16, 4, "q_dim")
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        scalar(op, 4, 4, "op_opcode_index")
        vector(op, 6, 4, "op_input")
        vector(op, 8, 4, "op_output")
        scalar(op, 10, 1, "op_options_type")
        opts = op.BuiltinOptions()
        if opts is not None:
            table(opts, "options")
    return fields


def tflite_field(data: bytearray, rng: random.Random, fields) -> str:
    pos, size, label = rng.choice(fields)
    if pos + size > len(data):
        return "field-out-of-range"
    value = _value(rng, size, bytes(data[pos : pos + size]))
    data[pos : pos + size] = value
    return f"{label}@{pos}={int.from_bytes(value, 'little', signed=True)}"


# ---------------------------------------------------------------- ONNX protobuf fields
def onnx_mutant(raw: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One edit of the parsed ONNX protobuf, serialized again."""
    import onnx

    m = onnx.load_model_from_string(raw)
    g = m.graph
    choice = rng.randrange(11)
    if choice == 0 and g.input:
        vi = rng.choice(list(g.input))
        dims = vi.type.tensor_type.shape.dim
        if dims:
            d = rng.randrange(len(dims))
            dims[d].dim_value = rng.choice([0, 1, 2, 3, 7, 1000000, 2**31, 2**40])
            return m.SerializeToString(), f"onnx_input_dim{d}={dims[d].dim_value}"
    if choice == 1 and g.initializer:
        t = rng.choice(list(g.initializer))
        if t.dims:
            d = rng.randrange(len(t.dims))
            t.dims[d] = rng.choice([0, 1, 2, 3, 1000000, -1])
            return m.SerializeToString(), f"onnx_init_dim:{t.name}[{d}]={t.dims[d]}"
    if choice == 2 and g.initializer:
        t = rng.choice(list(g.initializer))
        t.data_type = rng.randrange(0, 40)
        return m.SerializeToString(), f"onnx_init_type:{t.name}={t.data_type}"
    if choice == 3 and g.initializer:
        t = rng.choice(list(g.initializer))
        if t.raw_data:
            cut = rng.randrange(len(t.raw_data) + 8)
            t.raw_data = t.raw_data[:cut] if cut < len(t.raw_data) else t.raw_data + bytes(cut - len(t.raw_data))
            return m.SerializeToString(), f"onnx_init_raw:{t.name}={cut}"
    if choice == 4 and len(g.node) > 1:
        i = rng.randrange(len(g.node))
        del g.node[i]
        return m.SerializeToString(), f"onnx_drop_node:{i}"
    if choice == 5 and g.node:
        node = rng.choice(list(g.node))
        names = [n for x in g.node for n in x.output] + [i.name for i in g.initializer] + ["", "nowhere"]
        if node.input:
            k = rng.randrange(len(node.input))
            node.input[k] = rng.choice(names)
            return m.SerializeToString(), f"onnx_rewire:{node.name}[{k}]"
    if choice == 6 and g.node:
        node = rng.choice(list(g.node))
        ints = [a for a in node.attribute if a.ints or a.type == onnx.AttributeProto.INT]
        if ints:
            a = rng.choice(ints)
            if a.ints:
                k = rng.randrange(len(a.ints))
                a.ints[k] = rng.choice(INT32)
            else:
                a.i = rng.choice(INT32)
            return m.SerializeToString(), f"onnx_attr:{node.name}.{a.name}"
    if choice == 7 and g.node:
        node = rng.choice(list(g.node))
        if node.attribute:
            del node.attribute[rng.randrange(len(node.attribute))]
            return m.SerializeToString(), f"onnx_drop_attr:{node.name}"
    if choice == 8 and g.node:
        node = rng.choice(list(g.node))
        node.op_type = rng.choice([n.op_type for n in g.node] + ["Relu", "Gemm", "Conv", "Reshape", "Transpose",
                                                                 "Softmax", "Flatten", "Concat", "Pad", "Clip"])
        return m.SerializeToString(), f"onnx_op_type:{node.name}={node.op_type}"
    if choice == 9 and g.node:
        node = rng.choice(list(g.node))
        del node.output[:]
        return m.SerializeToString(), f"onnx_no_output:{node.name}"
    if choice == 10 and m.opset_import:
        m.opset_import[0].version = rng.choice([1, 10, 11, 13, 17, 21, 99, -1])
        return m.SerializeToString(), f"onnx_opset={m.opset_import[0].version}"
    return raw, "onnx_noop"


def mutate(raw: bytes, kind: str, fields, rng: random.Random) -> tuple[bytes, str]:
    """1-3 mutations of a seed: structure-aware ones (most) and byte-level ones."""
    steps = []
    if kind == "onnx" and rng.random() < 0.6:
        raw, what = onnx_mutant(raw, rng)
        steps.append(what)
    data = bytearray(raw)
    for _ in range(rng.choice([0, 1, 1, 2]) if steps else rng.choice([1, 1, 2, 3])):
        if kind == "tflite" and fields and rng.random() < 0.7:
            steps.append(tflite_field(data, rng, fields))
        elif len(data) > 1:
            steps.append(rng.choice(BYTE_MUTATORS)(data, rng))
    return bytes(data), "+".join(steps)
