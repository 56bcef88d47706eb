"""The int8 core of an int8 model with float32 I/O (QUANTIZE after the input, DEQUANTIZE before the output).

The TF converter's default full-integer model (without inference_input_type/inference_output_type int8)
keeps float32 inputs and outputs: each float input feeds only QUANTIZE ops (float32 -> int8) and each
float output comes from a DEQUANTIZE (int8 -> float32). The generated C takes and returns int8, so for
compiling and running on a board the edges are cut: the model input becomes the QUANTIZE's int8 output
(float samples are quantized with its scale and zero point, exactly as the QUANTIZE op does) and the model
output the DEQUANTIZE's int8 input (its float value is (q - zero_point) * scale). The import itself
stays faithful to the file (inspect and the reference board show the float edges).
"""

from __future__ import annotations

import copy

from mcucompress.ir import Graph
from mcucompress.passes.util import replace_uses

INTEGER = ("int8", "int16")  # int16: a 16x8 model (runs on the reference executor; the C code takes int8)


def _same_quant(a, b) -> bool:
    return a is not None and a.scale.size == 1 and a == b


def int8_core(graph: Graph) -> Graph | None:
    """A copy of `graph` with its float32 QUANTIZE inputs and DEQUANTIZE outputs cut off, when that makes
    every input and output int8 (or int16); None when `graph` has no such edges (a float model, or already int8)."""
    if graph.is_quantized:
        return None
    core = copy.deepcopy(graph)
    cut = []
    inputs = []
    for name in core.inputs:
        t = core.t(name)
        if t.dtype != "float32":
            inputs.append(name)
            continue
        users = core.consumers(name)
        if not users or name in core.outputs or any(
            op.kind != "QUANTIZE" or op.inputs != [name] or core.t(op.outputs[0]).dtype not in INTEGER for op in users
        ):
            return None
        first = core.t(users[0].outputs[0])
        if not all(_same_quant(first.quant, core.t(op.outputs[0]).quant) for op in users):
            return None
        for op in users[1:]:
            replace_uses(core, op.outputs[0], first.name)
        if any(op.outputs[0] in core.outputs for op in users[1:]):
            return None
        cut.extend(users)
        inputs.append(first.name)
    outputs = []
    for name in core.outputs:
        t = core.t(name)
        if t.dtype != "float32":
            outputs.append(name)
            continue
        op = core.producer(name)
        if op is None or op.kind != "DEQUANTIZE" or core.consumers(name) or core.t(op.inputs[0]).dtype not in INTEGER:
            return None
        cut.append(op)
        outputs.append(op.inputs[0])
    if len(set(inputs)) != len(inputs):
        return None
    core.ops = [op for op in core.ops if all(op is not c for c in cut)]
    core.inputs, core.outputs = inputs, outputs
    core.remove_unused_tensors()
    return core if core.is_quantized else None
