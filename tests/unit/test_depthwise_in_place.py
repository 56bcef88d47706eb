"""DEPTHWISE_CONV_2D written over its input (codegen/lower.py depthwise_writes_over_input): not with dilation_h > 1,
whose taps skip rows (input row r first needed by an output row below r, already written over it)."""

from __future__ import annotations

import numpy as np

from mcucompress.codegen.lower import depthwise_writes_over_input
from tests.unit.test_codegen_host import (assert_same, host_outputs, random_single_op_graph, reference_outputs,
                                          samples, single_input_graph)


def test_dilated_depthwise_not_in_place_and_bit_exact(tmp_path):
    rng = np.random.default_rng(17)  # its third graph: 2x2 filter, dilation_h 3, pad_top 1, 7x2x8 in and out
    for _ in range(3):
        graph = single_input_graph(lambda r: random_single_op_graph("DEPTHWISE_CONV_2D", r), rng)
        xs = samples(graph, rng)
    op = graph.ops[0]
    assert op.attrs.dilation_h == 3 and not depthwise_writes_over_input(graph, op)
    assert_same(host_outputs(graph, xs, tmp_path), reference_outputs(graph, xs))  # wrong rows when in place
