"""16x8 ops compiled to C with the host gcc (ASan/UBSan): bit-exact with the reference executor and TFLM.

The C model takes and returns int8, so each random 16x8 op runs between QUANTIZE int8 -> int16 and
QUANTIZE int16 -> int8 (tests/int16_graphs.int8_wrapped); the int16 op itself is checked against TFLM
directly in test_int16_ops.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.int16_graphs import KINDS, int8_wrapped, random_graph
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs
from tests.unit.test_int16_ops import run_tflm

CONFIGS = 8


@pytest.mark.parametrize("kind", KINDS)
def test_int16_op_bit_exact_on_host(kind, tmp_path):
    rng = np.random.default_rng(5000 + KINDS.index(kind))
    for i in range(CONFIGS):
        graph = int8_wrapped(random_graph(kind, rng), rng)
        shape = graph.t("x8").shape
        xs = rng.integers(-128, 128, (4,) + shape, dtype=np.int8)
        ours = host_outputs(graph, xs, tmp_path / str(i))
        ref = reference_outputs(graph, xs)
        assert_same(ours, ref)
        for x, y in zip(xs, ref):
            np.testing.assert_array_equal(y.reshape(-1), run_tflm(graph, [x.reshape(shape)]).reshape(-1))
