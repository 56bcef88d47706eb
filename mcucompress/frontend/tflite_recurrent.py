"""TFLite import of UNIDIRECTIONAL_SEQUENCE_LSTM and SVDF: their options become LstmAttrs / SvdfAttrs.

The operand lists stay TFLite's (24 for the LSTM, 5 for SVDF, "" where an optional operand is absent); the
state operands are the file's variable tensors (the importer marks them). LSTM variants TFLM does not run
(peephole, projection, layer norm, CIFG, a cell activation other than TANH) are refused in one line.
"""

from __future__ import annotations

from pathlib import Path

import tflite

from mcucompress.errors import ModelFileError, UnsupportedOpError
from mcucompress.ir import Graph
from mcucompress.ir import ops as irops
from mcucompress.ir.consistency_recurrent import lstm_variant_problem

KINDS = ("UNIDIRECTIONAL_SEQUENCE_LSTM", "SVDF")
ACTIVATION_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


def _options(op, cls):
    table = op.BuiltinOptions()
    if table is None:
        return None
    o = cls()
    o.Init(table.Bytes, table.Pos)
    return o


def attrs(path: Path, graph: Graph, index: int, kind: str, op, ins: list[str], outs: list[str]):
    where = f"{path}: op {index} ({kind})"
    if kind == "SVDF":
        o = _options(op, tflite.SVDFOptions)
        if o is None or len(ins) != 5:
            raise ModelFileError(f"{where} lacks its options or its 5 operands; the file is corrupt; re-export it")
        act = ACTIVATION_NAMES.get(o.FusedActivationFunction(), "?")
        if act not in irops.ACTIVATIONS:
            raise UnsupportedOpError(f"{where}: fused activation {act} is not supported (NONE, RELU, RELU6, RELU_N1_TO_1)")
        return irops.SvdfAttrs(int(o.Rank()), act)
    o = _options(op, tflite.UnidirectionalSequenceLSTMOptions)
    if o is None:
        raise ModelFileError(f"{where} lacks its options; the file is corrupt; re-export it")
    a = irops.LstmAttrs(ACTIVATION_NAMES.get(o.FusedActivationFunction(), "?"), float(o.CellClip()),
                        float(o.ProjClip()), bool(o.TimeMajor()))
    problem = lstm_variant_problem(irops.Op(kind, ins, outs, a, f"{kind.lower()}_{index}"))
    if problem:
        raise UnsupportedOpError(f"{path}: {problem}")
    return a
