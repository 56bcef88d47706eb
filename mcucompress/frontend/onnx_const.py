"""Evaluate an ONNX node whose inputs are all constant, so that import folds it away.

Exporters leave shape arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape), Constant nodes
and weight preprocessing in the graph; with static shapes all of it is known at import time. The
node runs on `onnx.reference` (the onnx package's numpy implementation) under the model's opsets.
"""

from __future__ import annotations

import numpy as np
from onnx import NodeProto, helper
from onnx.reference import ReferenceEvaluator

# Ops that must never be evaluated here: their outputs are random or carry quantization we need.
NEVER_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
              "DequantizeLinear", "QuantizeLinear"}


def evaluate(node: NodeProto, inputs: dict[str, np.ndarray], opset_imports) -> list[np.ndarray]:
    """Outputs of `node` given every (non-empty) input by name."""
    feeds = {name: np.asarray(inputs[name]) for name in dict.fromkeys(n for n in node.input if n)}
    graph_inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
                    for n, v in feeds.items()]
    graph_outputs = [helper.make_empty_tensor_value_info(n) for n in node.output if n]
    graph = helper.make_graph([node], "fold", graph_inputs, graph_outputs)
    model = helper.make_model(graph, opset_imports=list(opset_imports))
    return [np.asarray(v) for v in ReferenceEvaluator(model).run(None, feeds)]
