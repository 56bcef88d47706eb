"""compile and run choose kernel variants for the board's core: sparse N:M kernels only where the DSP
extension makes them pay (Cortex-M4/M7/M33), dense on a core without it (Cortex-M3)."""

from __future__ import annotations

import numpy as np

from mcucompress.driver import compile_model
from mcucompress.frontend import tflite_writer
from tests import sparse_graphs
from tests.unit.test_sparse_kernels import conv_graph


def test_compile_chooses_sparse_kernels_by_the_boards_core(tmp_path):
    graph = sparse_graphs.nm(conv_graph(np.random.default_rng(5), 8, 32, [64]), 2, 4)
    path = tmp_path / "conv_2of4.tflite"
    tflite_writer.write(graph, path)
    formats = {board: compile_model(path, tmp_path / board, board=board).summary()["per_layer"][0]["format"]
               for board in ("mps2-an386", "mps2-an385")}
    assert formats == {"mps2-an386": "2:4", "mps2-an385": "dense"}
