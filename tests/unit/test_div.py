"""DIV int8 (TFLM's reference div.h arithmetic, including its x86-64 result for shifts beyond 31): random
single-op models bit-exact with TFLM in the reference executor and host C, a float graph quantized by our PTQ.

Divisors never equal their zero point (division by zero is undefined in TFLM).
"""

from __future__ import annotations

import numpy as np
import pytest

import mcucompress
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, Op, Tensor, constraints
from mcucompress.ir import ops as irops
from mcucompress.reference import executor
from tests.conftest import TflmSession
from tests.unit.test_codegen_host import assert_same, host_outputs, reference_outputs
from tests.unit.test_reference_ops import q, rand_q, tflm

CASES = 12


def div_graph(rng: np.random.Generator, seed: int, dtype: str = "int8") -> tuple[Graph, int]:
    """x [1, 2 * n] sliced into a dividend [1, h, w] and a divisor (an activation of the same shape, or a
    broadcast [w] constant every third seed); returns the graph and the divisor's zero point."""
    h, w = (int(d) for d in rng.integers(1, 7, 2))
    int8 = dtype == "int8"
    qx = rand_q(rng, 1e-2, 1.0) if int8 else None
    qd = rand_q(rng, 1e-2, 1.0) if int8 else None
    qo = q(float(qx.s / qd.s * np.exp(rng.uniform(-1, 2)) / 16), int(rng.integers(-128, 128))) if int8 else None
    act = "RELU" if seed % 4 == 1 else "NONE"
    g = Graph(name="div")
    kind = dtype if int8 else "float32"

    def add(name, shape, qp, data=None):
        g.add_tensor(Tensor(name, shape, kind, qp, data))

    n = h * w
    const = seed % 3 == 2
    add("x", (1, n if const else 2 * n), qx)
    add("a", (1, h, w), qx)
    add("out", (1, h, w), qo)
    if const:
        dz = qd.zp if int8 else 0
        data = rng.integers(-128, 128, (w,))
        data[data == dz] = dz + 1 if dz < 127 else dz - 1
        add("d", (w,), qd, data.astype(np.int8) if int8 else (data / 16).astype(np.float32))
        g.ops = [Op("RESHAPE", ["x"], ["a"], name="reshape_0")]
        divisor_zp = None
    else:
        add("a_flat", (1, n), qx)
        add("d_flat", (1, n), qx)
        add("d", (1, h, w), qx)
        g.ops = [Op("SLICE", ["x"], ["a_flat"], irops.SliceAttrs((0, 0), (1, n)), name="slice_0"),
                 Op("SLICE", ["x"], ["d_flat"], irops.SliceAttrs((0, n), (1, n)), name="slice_1"),
                 Op("RESHAPE", ["a_flat"], ["a"], name="reshape_2"), Op("RESHAPE", ["d_flat"], ["d"], name="reshape_3")]
        divisor_zp = qx.zp if int8 else None
    g.ops.append(Op("DIV", ["a", "d"], ["out"], irops.ElementwiseAttrs(act), name="div_9"))
    g.inputs, g.outputs = ["x"], ["out"]
    return g, divisor_zp


def samples(g: Graph, divisor_zp, rng: np.random.Generator, count: int) -> np.ndarray:
    """int8 inputs [count, 1, size] whose divisor half (when the divisor is sliced from the input) avoids its zero
    point; the first dividend value of each sample is the dividend's zero point (0 / d)."""
    size = g.t("x").shape[1]
    xs = rng.integers(-128, 128, (count, 1, size)).astype(np.int64)
    if divisor_zp is not None:
        d = xs[:, :, size // 2:]
        d[d == divisor_zp] = divisor_zp + 1 if divisor_zp < 127 else divisor_zp - 1
    xs[:, 0, 0] = g.t("x").quant.zp
    return xs.astype(np.int8)


@pytest.mark.parametrize("seed", range(CASES), ids=lambda s: f"div{s}")
def test_div_int8_bit_exact_with_tflm_and_host_c(seed, tmp_path):
    rng = np.random.default_rng(8000 + seed)
    g, dzp = div_graph(rng, seed)
    constraints.check_graph(g)
    run = tflm(g)
    xs = samples(g, dzp, rng, 6)
    for x in xs:
        np.testing.assert_array_equal(executor.run(g, [x])[0], run(x))
    assert_same(host_outputs(g, xs[:3, 0], tmp_path), reference_outputs(g, xs[:3, 0]))


def test_div_quantized_by_ptq():
    rng = np.random.default_rng(8100)
    g, _ = div_graph(rng, 2, "float32")  # a constant divisor away from zero
    shape = g.t("x").shape
    cal = (rng.standard_normal((16,) + shape[1:]) * 2).astype(np.float32)
    qg = mcucompress.quantize(g, cal)
    constraints.check_graph(qg)
    run = TflmSession(tflite_writer.to_bytes(qg))
    d = qg.t("d")
    assert (d.data != d.quant.zp).all()
    for x in rng.integers(-128, 128, (4,) + shape[1:], dtype=np.int8):
        np.testing.assert_array_equal(executor.run(qg, [x[None]])[0], run(x[None]))


def test_div_and_gelu_on_qemu(tmp_path):
    """GELU (int8 table) -> DIV by an activation -> DIV by a constant on the default board (Cortex-M4 in QEMU): the
    firmware equals the reference (no TFLM here: it has no GELU kernel)."""
    import json
    import shutil

    from tests.unit.test_cli_errors import mcc

    if not shutil.which("qemu-system-arm") or not shutil.which("arm-none-eabi-gcc"):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    rng = np.random.default_rng(8200)
    g = Graph(name="gelu_div")
    s = (1, 4, 32)
    for name, qp in (("x", q(0.05, -10)), ("ge", q(0.03, -100)), ("d1", q(0.2, 5)), ("y", q(0.1, 3))):
        g.add_tensor(Tensor(name, s, "int8", qp))
    divisor = rng.integers(10, 120, (32,)) * rng.choice([-1, 1], 32)  # never its zero point 0
    g.add_tensor(Tensor("dc", (32,), "int8", q(0.02), divisor.astype(np.int8)))
    g.ops = [Op("GELU", ["x"], ["ge"], irops.GeluAttrs(), name="gelu_0"),
             Op("DIV", ["x", "ge"], ["d1"], irops.ElementwiseAttrs(), name="div_1"),
             Op("DIV", ["d1", "dc"], ["y"], irops.ElementwiseAttrs(), name="div_2")]
    g.inputs, g.outputs = ["x"], ["y"]
    constraints.check_graph(g)
    model = tmp_path / "gelu_div.tflite"
    tflite_writer.write(g, model)
    result = mcc("run", model, "--samples", "4", "--json", tmp_path / "run.json")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run.json").read_text())["bit_exact"] is True
