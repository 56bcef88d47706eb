"""Ops with int32 and bool tensors: ARG_MAX, ARG_MIN, the comparisons, SELECT_V2, ZEROS_LIKE, FILL.

Random single-op models bit-exact with TFLM in the reference executor and in host-compiled C (whose model
output may be int32 indices or bool bytes), float32 against LiteRT, a float classifier ending in ARG_MAX and a
float GREATER -> SELECT_V2 graph quantized by our PTQ against TFLM, and ONNX ArgMax/ArgMin/Equal/Less/Greater/
Where against onnxruntime.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcucompress.errors import UnsupportedOpError
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, Op, QuantParams, Tensor, constraints, registry
from mcucompress.ir import ops as irops
from mcucompress.ir.verify import verify
from mcucompress.reference import executor
from tests.unit.test_codegen_host import host_outputs
from tests.unit.test_reference_ops import q, rand_q, rand_shape

CONFIGS = 12
COMPARISONS = ["EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"]


def cases(name: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("seed", range(CONFIGS), ids=lambda s: f"{name}{s}")


def typed_graph(ops: list[tuple[str, list[str], str, object]], tensors: dict, inputs: list[str], outputs: list[str]):
    """tensors: name -> (shape, dtype, quant or None, constant data or None); ops: (kind, inputs, output, attrs)."""
    g = Graph(name="typed")
    for name, (shape, dtype, qp, data) in tensors.items():
        g.add_tensor(Tensor(name, shape, dtype, qp, data))
    g.ops = [Op(kind, ins, [out], attrs if attrs is not None else registry.spec(kind).attrs(), f"{kind.lower()}{i}")
             for i, (kind, ins, out, attrs) in enumerate(ops)]
    g.inputs, g.outputs = inputs, outputs
    verify(g)
    return g


def values(t: Tensor, rng: np.random.Generator, shape=None) -> np.ndarray:
    shape = t.shape if shape is None else shape
    if t.dtype == "float32":
        return (rng.standard_normal(shape) * 4).astype(np.float32)
    if t.dtype == "bool":
        return rng.random(shape) < 0.5
    return rng.integers(-128, 128, shape).astype(t.dtype)


def run_tflm(g: Graph, xs: list[np.ndarray]) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(tflite_writer.to_bytes(g), arena_size=1 << 20)
    for i, x in enumerate(xs):
        interp.set_input(x, i)
    interp.invoke()
    return interp.get_output(0).copy()


def run_litert(g: Graph, xs: list[np.ndarray]) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite_writer.to_bytes(g))
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), xs):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def assert_matches(g: Graph, rng: np.random.Generator, engine=run_tflm, runs: int = 2) -> None:
    for _ in range(runs):
        xs = [values(g.t(n), rng) for n in g.inputs]
        ours, ref = executor.run(g, xs)[0], engine(g, xs)
        assert ours.dtype == ref.dtype and ours.shape == ref.shape
        if ref.dtype == np.float32:
            np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(ours, ref)


def assert_host_matches(g: Graph, rng: np.random.Generator, tmp_path) -> np.ndarray:
    """Host C (ASan/UBSan in the suite) equals the reference executor, output dtype included."""
    t = g.t(g.inputs[0])
    xs = np.stack([values(t, rng) for _ in range(3)])
    host = host_outputs(g, xs, tmp_path)
    ref = np.stack([executor.run(g, [x])[0] for x in xs])
    assert host.dtype == ref.dtype
    np.testing.assert_array_equal(host.reshape(len(xs), -1), ref.reshape(len(xs), -1))
    return host


def broadcast_of(rng: np.random.Generator, shape: tuple[int, ...], seed: int) -> tuple[int, ...]:
    if seed % 3 == 0:
        return shape
    if seed % 3 == 1:
        return tuple(d if rng.random() < 0.5 else 1 for d in shape)
    return shape[-int(rng.integers(1, len(shape) + 1)):]


# ---------------------------------------------------------------- ARG_MAX, ARG_MIN


def arg_graph(kind: str, rng: np.random.Generator, dtype: str, seed: int) -> Graph:
    shape = rand_shape(rng)
    axis = int(rng.integers(0, len(shape)))
    out = tuple(d for i, d in enumerate(shape) if i != axis)
    return typed_graph([(kind, ["x"], "y", irops.ArgMinMaxAttrs(axis))],
                       {"x": (shape, dtype, rand_q(rng) if dtype == "int8" else None, None),
                        "y": (out, "int32", None, None)}, ["x"], ["y"])


@pytest.mark.parametrize("kind", ["ARG_MAX", "ARG_MIN"])
@cases("arg")
def test_arg_min_max_int8_matches_tflm_and_host_c(kind, seed, tmp_path):
    rng = np.random.default_rng(700 + seed)
    g = arg_graph(kind, rng, "int8", seed)
    # few distinct values: ties are frequent and must go to the lowest index, as in TFLM
    x = rng.integers(-3, 3, g.t("x").shape).astype(np.int8)
    np.testing.assert_array_equal(executor.run(g, [x])[0], run_tflm(g, [x]))
    assert_matches(g, rng)
    if seed % 4 == 0:
        assert_host_matches(g, rng, tmp_path)


@pytest.mark.parametrize("kind", ["ARG_MAX", "ARG_MIN"])
@cases("argf")
def test_arg_min_max_float_matches_tflm_and_litert(kind, seed):
    rng = np.random.default_rng(800 + seed)
    g = arg_graph(kind, rng, "float32", seed)
    assert_matches(g, rng)
    assert_matches(g, rng, run_litert, runs=1)


def test_arg_max_int64_output_is_refused_for_int8():
    with pytest.raises(UnsupportedOpError, match="int32"):
        typed_graph([("ARG_MAX", ["x"], "y", irops.ArgMinMaxAttrs(1))],
                    {"x": ((1, 5), "int8", q(0.1), None), "y": ((1,), "int64", None, None)}, ["x"], ["y"])


# ---------------------------------------------------------------- comparisons


def compare_graph(kind: str, rng: np.random.Generator, dtype: str, seed: int, const_second: bool) -> Graph:
    shape = rand_shape(rng)
    other = broadcast_of(rng, shape, seed)
    if seed % 2:
        shape, other = other, shape  # the broadcast operand first
    out = tuple(np.broadcast_shapes(shape, other))
    qa = rand_q(rng, hi=0.9) if dtype == "int8" else None
    qb = (qa if seed % 4 == 0 else rand_q(rng, hi=0.9)) if dtype == "int8" else None
    tb = Tensor("b", other, dtype, qb)
    data = values(tb, rng) if const_second else None
    return typed_graph([(kind, ["a", "b"], "y", None)],
                       {"a": (shape, dtype, qa, None), "b": (other, dtype, qb, data), "y": (out, "bool", None, None)},
                       ["a"] if const_second else ["a", "b"], ["y"])


@pytest.mark.parametrize("kind", COMPARISONS)
@cases("cmp")
def test_compare_int8_matches_tflm(kind, seed):
    rng = np.random.default_rng(900 + seed)
    g = compare_graph(kind, rng, "int8", seed, const_second=False)
    assert_matches(g, rng)
    if seed % 4 == 0:  # equal quantizations: many equal values, EQUAL and the _EQUAL variants see ties
        a = values(g.t("a"), rng)
        b = np.broadcast_to(a, g.t("y").shape)
        if b.shape == g.t("b").shape:
            np.testing.assert_array_equal(executor.run(g, [a, b])[0], run_tflm(g, [a, b]))


@pytest.mark.parametrize("kind", COMPARISONS)
@cases("cmph")
def test_compare_int8_host_c_bool_output(kind, seed, tmp_path):
    if seed % 3:
        pytest.skip("host C on every third configuration (compile time)")
    rng = np.random.default_rng(950 + seed)
    g = compare_graph(kind, rng, "int8", seed, const_second=True)
    assert_matches(g, rng)
    host = assert_host_matches(g, rng, tmp_path)
    assert host.dtype == np.bool_


@pytest.mark.parametrize("kind", COMPARISONS)
@cases("cmpf")
def test_compare_float_matches_tflm_and_litert(kind, seed):
    rng = np.random.default_rng(1000 + seed)
    g = compare_graph(kind, rng, "float32", seed, const_second=False)
    assert_matches(g, rng)
    assert_matches(g, rng, run_litert, runs=1)


@pytest.mark.parametrize("kind", COMPARISONS)
def test_compare_int32_matches_tflm(kind):
    """int32 inputs compare raw (reference only: the C kernels take int8)."""
    rng = np.random.default_rng(1050)
    for seed in range(4):
        assert_matches(compare_graph(kind, rng, "int32", seed, const_second=False), rng)


def test_ptq_of_int64_arg_max_is_one_clear_line():
    """tf.argmax's default int64 indices: the float model runs on the reference, the int8 one is refused."""
    rng = np.random.default_rng(1060)
    g = float_classifier(rng)
    g.t("y").dtype = "int64"
    x = rng.standard_normal((1, 16)).astype(np.float32)
    assert executor.run(g, [x])[0].dtype == np.int64
    with pytest.raises(UnsupportedOpError, match="int32 indices only") as err:
        ptq(g, rng)
    assert "\n" not in str(err.value)


def test_compare_scale_of_one_or_more_is_refused():
    with pytest.raises(UnsupportedOpError, match="below 1"):
        typed_graph([("LESS", ["a", "b"], "y", None)],
                    {"a": ((1, 4), "int8", q(1.5), None), "b": ((1, 4), "int8", q(0.1), None),
                     "y": ((1, 4), "bool", None, None)}, ["a", "b"], ["y"])


# ---------------------------------------------------------------- SELECT_V2


def select_graph(rng: np.random.Generator, dtype: str, seed: int) -> Graph:
    shape = rand_shape(rng, rank=int(rng.integers(1, 5)))
    shapes = [broadcast_of(rng, shape, seed + k) for k in range(3)]
    shapes[seed % 3] = shape
    out = tuple(np.broadcast_shapes(*shapes))
    qv = rand_q(rng) if dtype == "int8" else None
    return typed_graph([("SELECT_V2", ["c", "x", "z"], "y", None)],
                       {"c": (shapes[0], "bool", None, None), "x": (shapes[1], dtype, qv, None),
                        "z": (shapes[2], dtype, qv, None), "y": (out, dtype, qv, None)}, ["c", "x", "z"], ["y"])


@cases("sel")
def test_select_v2_matches_tflm(seed):
    rng = np.random.default_rng(1100 + seed)
    assert_matches(select_graph(rng, "int8", seed), rng)
    g = select_graph(rng, "float32", seed)
    assert_matches(g, rng)
    assert_matches(g, rng, run_litert, runs=1)


def select_chain(rng: np.random.Generator, seed: int) -> Graph:
    """GREATER(x, constant) -> SELECT_V2(cond, x, constant): one int8 input, the bool inside the arena."""
    shape = rand_shape(rng, rank=int(rng.integers(2, 5)))
    other = broadcast_of(rng, shape, seed)
    qx = rand_q(rng, hi=0.9)
    tc, ty = Tensor("t", other, "int8", rand_q(rng, hi=0.9)), Tensor("z", other, "int8", qx)
    return typed_graph([("GREATER", ["x", "t"], "c", None), ("SELECT_V2", ["c", "x", "z"], "y", None)],
                       {"x": (shape, "int8", qx, None), "t": (other, "int8", tc.quant, values(tc, rng)),
                        "z": (other, "int8", qx, values(ty, rng)), "c": (shape, "bool", None, None),
                        "y": (shape, "int8", qx, None)}, ["x"], ["y"])


@cases("selh")
def test_greater_select_chain_matches_tflm_and_host_c(seed, tmp_path):
    rng = np.random.default_rng(1200 + seed)
    g = select_chain(rng, seed)
    assert_matches(g, rng)
    if seed % 3 == 0:
        assert_host_matches(g, rng, tmp_path)


def test_select_v2_needs_shared_quantization():
    with pytest.raises(UnsupportedOpError, match="SELECT_V2"):
        typed_graph([("SELECT_V2", ["c", "x", "z"], "y", None)],
                    {"c": ((4,), "bool", None, None), "x": ((4,), "int8", q(0.1), None),
                     "z": ((4,), "int8", q(0.2), None), "y": ((4,), "int8", q(0.1), None)}, ["c", "x", "z"], ["y"])


# ---------------------------------------------------------------- ZEROS_LIKE, FILL


@pytest.mark.parametrize("dtype", ["int8", "int32", "float32"])
@cases("zeros")
def test_zeros_like_matches_tflm(dtype, seed):
    rng = np.random.default_rng(1300 + seed)
    shape = rand_shape(rng)
    qp = q(0.05, 0) if dtype == "int8" else None
    g = typed_graph([("ZEROS_LIKE", ["x"], "y", None)], {"x": (shape, dtype, qp, None), "y": (shape, dtype, qp, None)},
                    ["x"], ["y"])
    assert_matches(g, rng, runs=1)


def fill_chain(rng: np.random.Generator, dtype: str) -> Graph:
    """A run-time FILL value: REDUCE_MAX of the input over all axes (a scalar), filled into a constant shape."""
    shape = rand_shape(rng, rank=int(rng.integers(1, 4)))
    out = rand_shape(rng)
    qp = rand_q(rng) if dtype == "int8" else None
    return typed_graph([("REDUCE_MAX", ["x"], "v", irops.MeanAttrs(tuple(range(len(shape))), False)),
                        ("FILL", ["v"], "y", None)],
                       {"x": (shape, dtype, qp, None), "v": ((), dtype, qp, None), "y": (out, dtype, qp, None)},
                       ["x"], ["y"])


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@cases("fill")
def test_fill_of_a_runtime_value_matches_tflm(dtype, seed, tmp_path):
    rng = np.random.default_rng(1400 + seed)
    g = fill_chain(rng, dtype)
    assert_matches(g, rng)
    if dtype == "int8" and seed % 4 == 0:
        assert_host_matches(g, rng, tmp_path)


def test_zeros_like_int8_needs_zero_point_zero():
    with pytest.raises(UnsupportedOpError, match="zero point"):
        typed_graph([("ZEROS_LIKE", ["x"], "y", None)],
                    {"x": ((4,), "int8", q(0.1, 3), None), "y": ((4,), "int8", q(0.1, 3), None)}, ["x"], ["y"])


def test_tflite_round_trip_keeps_kinds_and_attrs():
    from mcucompress.frontend.tflite import load

    rng = np.random.default_rng(5)
    g = arg_graph("ARG_MIN", rng, "int8", 0)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.tflite"
        tflite_writer.write(g, path)
        back = load(path)
    assert [op.kind for op in back.ops] == ["ARG_MIN"] and back.ops[0].attrs == g.ops[0].attrs
    assert back.t(back.outputs[0]).dtype == "int32"
    assert QuantParams is not None


# ---------------------------------------------------------------- PTQ, the CLI and QEMU


def float_classifier(rng: np.random.Generator, classes: int = 10, depth: int = 16) -> Graph:
    """FULLY_CONNECTED -> ARG_MAX: a float classifier whose output is the class index (int32)."""
    w = (rng.standard_normal((classes, depth)) * 0.5).astype(np.float32)
    b = (rng.standard_normal(classes) * 0.1).astype(np.float32)
    g = typed_graph([("FULLY_CONNECTED", ["x", "w", "b"], "logits", irops.FullyConnectedAttrs()),
                     ("ARG_MAX", ["logits"], "y", irops.ArgMinMaxAttrs(1))],
                    {"x": ((1, depth), "float32", None, None), "w": ((classes, depth), "float32", None, w),
                     "b": ((classes,), "float32", None, b), "logits": ((1, classes), "float32", None, None),
                     "y": ((1,), "int32", None, None)}, ["x"], ["y"])
    g.name = "argmax_classifier"
    return g


def ptq(g: Graph, rng: np.random.Generator) -> Graph:
    import mcucompress

    cal = (rng.standard_normal((32,) + g.t(g.inputs[0]).shape[1:]) * 2).astype(np.float32)
    return mcucompress.quantize(g, cal)


def test_ptq_of_a_classifier_ending_in_arg_max(tmp_path):
    rng = np.random.default_rng(1500)
    qg = ptq(float_classifier(rng), rng)
    assert qg.t("logits").dtype == "int8" and qg.t("y").dtype == "int32" and qg.t("y").quant is None
    assert_matches(qg, rng, runs=4)
    assert assert_host_matches(qg, rng, tmp_path).dtype == np.int32


def test_ptq_of_greater_then_select_v2(tmp_path):
    """float GREATER(x, 0.25) -> SELECT_V2(cond, x, -x * 0.5 as a constant-free MUL): condition stays bool, x, the
    other value and the output share one quantization (TFLM copies raw values)."""
    rng = np.random.default_rng(1600)
    shape = (1, 3, 4, 5)
    g = typed_graph([("GREATER", ["x", "t"], "c", None), ("MUL", ["x", "k"], "m", irops.ElementwiseAttrs()),
                     ("SELECT_V2", ["c", "x", "m"], "y", None)],
                    {"x": (shape, "float32", None, None), "t": ((1,), "float32", None, np.array([0.25], np.float32)),
                     "k": ((1,), "float32", None, np.array([-0.5], np.float32)), "c": (shape, "bool", None, None),
                     "m": (shape, "float32", None, None), "y": (shape, "float32", None, None)}, ["x"], ["y"])
    qg = ptq(g, rng)
    assert qg.t("c").dtype == "bool" and qg.t("c").quant is None
    assert qg.t("x").quant == qg.t("m").quant == qg.t("y").quant
    constraints.check_graph(qg)
    assert_matches(qg, rng, runs=4)
    assert_host_matches(qg, rng, tmp_path)


def test_ptq_folds_zeros_like_into_a_select(tmp_path):
    """SELECT_V2(x > 0, x, ZEROS_LIKE(x)): the zeros become a constant quantized like x (no range forced onto x)."""
    rng = np.random.default_rng(1650)
    shape = (1, 4, 6)
    g = typed_graph([("GREATER", ["x", "t"], "c", None), ("ZEROS_LIKE", ["x"], "z", None),
                     ("SELECT_V2", ["c", "x", "z"], "y", None)],
                    {"x": (shape, "float32", None, None), "t": ((1,), "float32", None, np.zeros(1, np.float32)),
                     "c": (shape, "bool", None, None), "z": (shape, "float32", None, None),
                     "y": (shape, "float32", None, None)}, ["x"], ["y"])
    qg = ptq(g, rng)
    assert [op.kind for op in qg.ops] == ["GREATER", "SELECT_V2"]
    z = qg.t("z")
    assert z.is_const and z.quant == qg.t("x").quant and (z.data == z.quant.zp).all()
    assert qg.t("x").quant.s > 0.02  # the calibrated range of x (about +-6), not a fixed 1/128
    assert_matches(qg, rng, runs=3)
    assert_host_matches(qg, rng, tmp_path)


def test_arg_max_classifier_on_qemu_with_labels(tmp_path):
    """`mcucompress run` of a float classifier ending in ARG_MAX, quantized by PTQ, on the Cortex-M4 in QEMU: the
    firmware's int32 indices equal the reference executor's, and top-1 accuracy is computed from the indices."""
    import json
    import shutil

    from tests.unit.test_cli_errors import mcc

    if not shutil.which("qemu-system-arm") or not shutil.which("arm-none-eabi-gcc"):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    rng = np.random.default_rng(1700)
    g = float_classifier(rng)
    model = tmp_path / "argmax_classifier.tflite"
    tflite_writer.write(g, model)
    x = (rng.standard_normal((12, 16)) * 2).astype(np.float32)
    y = np.array([executor.run(g, [xi[None]])[0][0] for xi in x], np.int64)
    y[:3] = (y[:3] + 1) % 10  # three wrong labels: top-1 must be 0.75, not 1
    np.savez(tmp_path / "data.npz", x=x, y=y)
    np.savez(tmp_path / "cal.npz", x=x)
    result = mcc("run", model, "--calibration", tmp_path / "cal.npz", "--data", tmp_path / "data.npz",
                 "--board", "mps2-an386", "--json", tmp_path / "run.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["bit_exact"] is True and report["output_dtype"] == "int32"
    assert report["accuracy"]["top1"] <= 0.75 and report["accuracy"]["top1"] >= 0.5
    agreement = report["validation"]["outputs"][0]["top1_agreement"]
    assert agreement >= 0.75


# ---------------------------------------------------------------- ONNX import against onnxruntime


def onnx_kinds(tmp_path, fn, shape, **mods) -> list[str]:
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from tests.unit.test_onnx_import import Net, compare, export, kinds

    g = compare(export(tmp_path, Net(fn, **mods), shape), shape)
    return kinds(g)


def test_onnx_argmax_of_a_classifier(tmp_path):
    import torch
    from torch import nn

    assert onnx_kinds(tmp_path, lambda m, x: torch.argmax(m.fc(x), dim=1), (1, 10), fc=nn.Linear(10, 5)) == \
        ["FULLY_CONNECTED", "ARG_MAX"]


def test_onnx_argmin_keepdim_over_channels(tmp_path):
    import torch

    assert onnx_kinds(tmp_path, lambda m, x: torch.argmin(x, dim=1, keepdim=True), (1, 3, 4, 5)) == \
        ["ARG_MIN", "RESHAPE"]


def test_onnx_comparisons_and_where(tmp_path):
    import torch

    c = torch.linspace(-1, 1, 5)

    def fn(m, x):
        a = torch.where(x > 0.3, x, x * 0.5)
        b = torch.where(torch.lt(x, c), a, x)
        return torch.where(torch.eq(torch.relu(x), 0.0), b, b * 2.0)  # many exact ties at 0

    kinds = onnx_kinds(tmp_path, fn, (1, 3, 4, 5))
    assert {"GREATER", "LESS", "EQUAL", "SELECT_V2"} <= set(kinds)


def test_int32_reshape_after_arg_max_in_host_c(tmp_path):
    """ARG_MAX keepdims (as ONNX imports it: ARG_MAX then RESHAPE of the int32 indices) compiles and runs."""
    rng = np.random.default_rng(1800)
    g = typed_graph([("ARG_MAX", ["x"], "i", irops.ArgMinMaxAttrs(3)), ("RESHAPE", ["i"], "y", None)],
                    {"x": ((1, 3, 4, 6), "int8", q(0.05, 3), None), "i": ((1, 3, 4), "int32", None, None),
                     "y": ((1, 3, 4, 1), "int32", None, None)}, ["x"], ["y"])
    assert_matches(g, rng)
    assert assert_host_matches(g, rng, tmp_path).dtype == np.int32


# ---------------------------------------------------------------- the PyTorch bridge (finetune, QAT)


def bridge_graphs(rng: np.random.Generator) -> dict[str, Graph]:
    shape = (1, 3, 4, 5)
    fill = fill_chain(rng, "float32")
    return {
        "classifier": float_classifier(rng),
        "greater_select": typed_graph(
            [("GREATER", ["x", "t"], "c", None), ("ZEROS_LIKE", ["x"], "z", None),
             ("SELECT_V2", ["c", "x", "z"], "y", None)],
            {"x": (shape, "float32", None, None), "t": ((5,), "float32", None, np.linspace(-1, 1, 5, dtype=np.float32)),
             "c": (shape, "bool", None, None), "z": (shape, "float32", None, None), "y": (shape, "float32", None, None)},
            ["x"], ["y"]),
        **{kind.lower(): compare_graph(kind, rng, "float32", 2, const_second=True) for kind in COMPARISONS},
        "arg_min": arg_graph("ARG_MIN", rng, "float32", 0),
        "fill": fill,
    }


@pytest.mark.parametrize("name", ["classifier", "greater_select", *[k.lower() for k in COMPARISONS], "arg_min",
                                  "fill"])
def test_torch_bridge_matches_reference(name):
    pytest.importorskip("torch")
    import torch

    from mcucompress.errors import GraphError
    from mcucompress.torch.bridge import GraphModule

    g = bridge_graphs(np.random.default_rng(1900))[name]
    if g.t(g.outputs[0]).dtype != "float32":  # indices or bools out: no loss to train on; refused in one line
        with pytest.raises(GraphError, match=f"tensor '{g.outputs[0]}' is {g.t(g.outputs[0]).dtype}"):
            GraphModule(g)
        return
    x = np.random.default_rng(1901).normal(0, 2, g.t(g.inputs[0]).shape).astype(np.float32)
    with torch.no_grad():
        y = GraphModule(g)(torch.from_numpy(x)).numpy()
    ref = executor.run(g, [x])[0]
    np.testing.assert_allclose(y.astype(ref.dtype).reshape(ref.shape), ref, rtol=0, atol=1e-5)


# ---------------------------------------------------------------- every int32 / bool kind through the writer

TYPED_KINDS = {"ARG_MAX", "ARG_MIN", *COMPARISONS, "SELECT_V2", "ZEROS_LIKE", "FILL"}


def typed_zoo(rng: np.random.Generator) -> Graph:
    """One int8 graph with every int32 / bool kind: six comparisons pick between x and ZEROS_LIKE(x) in a chain of
    SELECT_V2, REDUCE_MAX -> FILL, then ARG_MAX of the chain (the output) and ARG_MIN of the fill."""
    shape, qx = (1, 4, 4, 8), q(0.05)
    tensors = {"x": (shape, "int8", qx, None), "z": (shape, "int8", qx, None), "v": ((), "int8", qx, None),
               "f": (shape, "int8", qx, None), "am": ((1, 4, 4), "int32", None, None),
               "an": ((1, 4, 8), "int32", None, None)}
    ops, prev = [("ZEROS_LIKE", ["x"], "z", None)], "x"
    for k, kind in enumerate(COMPARISONS):
        tq = q(float(rng.uniform(0.01, 0.1)), int(rng.integers(-20, 20)))
        tensors[f"t{k}"] = ((8,), "int8", tq, rng.integers(-128, 128, 8).astype(np.int8))
        tensors[f"c{k}"], tensors[f"s{k}"] = (shape, "bool", None, None), (shape, "int8", qx, None)
        ops += [(kind, [prev, f"t{k}"], f"c{k}", None), ("SELECT_V2", [f"c{k}", prev, "z"], f"s{k}", None)]
        prev = f"s{k}"
    ops += [("REDUCE_MAX", [prev], "v", irops.MeanAttrs((0, 1, 2, 3), False)), ("FILL", ["v"], "f", None),
            ("ARG_MAX", [prev], "am", irops.ArgMinMaxAttrs(3)), ("ARG_MIN", ["f"], "an", irops.ArgMinMaxAttrs(2))]
    g = typed_graph(ops, tensors, ["x"], ["am", "an"])
    g.name = "typed_zoo"
    for i, op in enumerate(g.ops):
        op.name = f"{op.kind.lower()}_{i}"
    return g


def test_typed_zoo_round_trips_and_runs_in_tflm(tmp_path):
    """(LiteRT has no int8 ZEROS_LIKE kernel, TFLM has: TFLM is the oracle here.)"""
    from tests.unit.test_tflite_writer import assert_graphs_equal, write_and_reload

    rng = np.random.default_rng(2000)
    g = typed_zoo(rng)
    assert {op.kind for op in g.ops} >= TYPED_KINDS
    _, reloaded = write_and_reload(g, tmp_path)
    assert_graphs_equal(g, reloaded)
    assert_matches(g, rng, runs=3)


def test_typed_zoo_in_host_c(tmp_path):
    """The zoo's ARG_MAX branch (every comparison, SELECT_V2, ZEROS_LIKE) compiled: int32 indices out."""
    rng = np.random.default_rng(2100)
    g = typed_zoo(rng)
    g.ops = [op for op in g.ops if op.kind not in ("FILL", "ARG_MIN", "REDUCE_MAX")]
    g.outputs = ["am"]
    g.remove_unused_tensors()
    verify(g)
    assert assert_host_matches(g, rng, tmp_path).dtype == np.int32


def test_checks_build_of_an_arg_max_model(tmp_path):
    """compile --checks asserts the int32 output's extent in bytes: the debug build runs the classifier unchanged."""
    from mcucompress.codegen.project import compile_graph, write_project
    from mcucompress.harness.host import build_runner, run_runner

    rng = np.random.default_rng(2200)
    qg = ptq(float_classifier(rng), rng)
    xs = rng.integers(-128, 128, (3, 16)).astype(np.int8)
    for io in ("arena", "separate"):
        compiled = compile_graph(qg, "cls", checks=True, io=io)
        runner = build_runner(write_project(compiled, tmp_path / io), "cls")
        ours = run_runner(runner, xs, qg.t("y").shape, compiled.output_dtype)
        np.testing.assert_array_equal(ours.reshape(-1), [executor.run(qg, [x[None]])[0][0] for x in xs])


# ---------------------------------------------------------------- the verifier's rules, import folding


def _bad(name: str):
    qq = q(0.05)
    cases = {
        "arg_axis": ([("ARG_MAX", ["x"], "y", irops.ArgMinMaxAttrs(3))],
                     {"x": ((1, 4, 5), "int8", qq, None), "y": ((1, 4), "int32", None, None)}),
        "arg_shape": ([("ARG_MIN", ["x"], "y", irops.ArgMinMaxAttrs(1))],
                      {"x": ((1, 4, 5), "int8", qq, None), "y": ((1, 4), "int32", None, None)}),
        "arg_dtype": ([("ARG_MAX", ["x"], "y", irops.ArgMinMaxAttrs(1))],
                      {"x": ((1, 4), "int8", qq, None), "y": ((1,), "int8", qq, None)}),
        "compare_out": ([("LESS", ["x", "x"], "y", None)],
                        {"x": ((1, 4), "int8", qq, None), "y": ((1, 4), "int8", qq, None)}),
        "compare_shape": ([("EQUAL", ["x", "c"], "y", None)],
                          {"x": ((1, 4), "int8", qq, None), "c": ((3,), "int8", qq, np.zeros(3, np.int8)),
                           "y": ((1, 4), "bool", None, None)}),
        "select_cond": ([("SELECT_V2", ["x", "x", "x"], "y", None)],
                        {"x": ((1, 4), "int8", qq, None), "y": ((1, 4), "int8", qq, None)}),
        "select_out": ([("SELECT_V2", ["c", "x", "x"], "y", None)],
                       {"c": ((2, 4), "bool", None, None), "x": ((1, 4), "int8", qq, None),
                        "y": ((1, 4), "int8", qq, None)}),
        "fill_value": ([("FILL", ["x"], "y", None)],
                       {"x": ((1, 2), "int8", qq, None), "y": ((3, 3), "int8", qq, None)}),
    }
    return cases[name]


@pytest.mark.parametrize("name", ["arg_axis", "arg_shape", "arg_dtype", "compare_out", "compare_shape", "select_cond",
                                  "select_out", "fill_value"])
def test_verifier_rejects_inconsistent_typed_ops(name):
    from mcucompress.errors import GraphError

    ops, tensors = _bad(name)
    with pytest.raises(GraphError) as err:
        typed_graph(ops, tensors, [n for n, t in tensors.items() if t[3] is None][:1], ["y"])
    assert "\n" not in str(err.value) and "op '" in str(err.value)


def test_tflite_import_folds_constant_fill_and_zeros_like(tmp_path):
    from mcucompress.frontend.tflite import load

    shape = (1, 4)
    g = typed_graph([("FILL", ["v"], "f", None), ("ZEROS_LIKE", ["w"], "z", None),
                     ("ADD", ["x", "f"], "a", irops.ElementwiseAttrs()), ("ADD", ["a", "z"], "y", irops.ElementwiseAttrs())],
                    {"x": (shape, "float32", None, None), "v": ((), "float32", None, np.float32(2.5)),
                     "w": (shape, "float32", None, np.ones(shape, np.float32)), "f": (shape, "float32", None, None),
                     "z": (shape, "float32", None, None), "a": (shape, "float32", None, None),
                     "y": (shape, "float32", None, None)}, ["x"], ["y"])
    path = tmp_path / "folds.tflite"
    tflite_writer.write(g, path)
    back = load(path)
    assert [op.kind for op in back.ops] == ["ADD", "ADD"]
    x = np.arange(4, dtype=np.float32)[None]
    np.testing.assert_array_equal(executor.run(back, [x])[0], x + 2.5)

