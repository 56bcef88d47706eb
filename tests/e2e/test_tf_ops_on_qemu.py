"""The int8 Keras models of issue 10's operators (tests/data/keras_{decoder,gru,attention,lstm,ops_*}_int8.tflite,
tests/unit/test_tf_ops_models.py) on mps2-an386 in QEMU: bit-exact with TFLM on a few samples each, every sample
an independent sequence (state policy "reset", as TFLM reset before each sample)."""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.codegen.project import compile_graph
from mcucompress.driver import default_prefix, load
from mcucompress.harness.qemu import run_on_qemu
from tests.e2e.helpers import needs_arm_toolchain_and_qemu
from tests.unit.test_tf_ops_models import INT8_MODELS, path, samples, tflm_outputs

pytestmark = [needs_arm_toolchain_and_qemu, pytest.mark.slow]
N_SAMPLES = 4


@pytest.mark.parametrize("name", INT8_MODELS)
def test_tf_ops_int8_model_bit_exact_with_tflm_on_an386(name, tmp_path):
    graph = load(path(name))
    x, _ = samples(name)
    x = x[:N_SAMPLES]
    out = graph.t(graph.outputs[0])  # ArgMax's output is int32: the harness decodes it in the output's dtype
    run = run_on_qemu(compile_graph(graph, default_prefix(graph)), x, out.shape, board="mps2-an386",
                      workdir=tmp_path, state="reset")
    outputs = np.asarray(run.outputs).reshape(N_SAMPLES, *out.shape)
    np.testing.assert_array_equal(outputs, tflm_outputs(name)[:N_SAMPLES])
    assert (run.ticks > 0).all()
