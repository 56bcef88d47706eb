"""The CLI as a user meets it: `python -m mcucompress.cli ...` in a subprocess.

Every bad input gives exit code 2 and exactly one line on stderr that names the file (and the op
where one is at fault), never a traceback. The good paths print what they promise.
"""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import tflite

from mcucompress import cli
from mcucompress.frontend import tflite_writer
from mcucompress.ir import Graph, Op, QuantParams, Tensor, registry
from mcucompress.ir import ops as irops
from mcucompress.reference import executor
from tests.cli import run_cli
from tests.graphs import q, tiny_conv_fc

# tiny_conv_fc: CONV_2D 3x3x2 -> 4 channels on 6x6 (stride 2, out 3x3), RESHAPE, FULLY_CONNECTED 36 -> 5.
TINY_MACS = 3 * 3 * 4 * (3 * 3 * 2) + 5 * 36
TINY_PARAMS = (4 * 3 * 3 * 2 + 4) + (5 * 36 + 5)


def mcc(*args) -> subprocess.CompletedProcess:
    return run_cli(*args, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, nothing on stdout, one stderr line holding every needle, and no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mcucompress: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert result.stdout == ""
    return lines[0]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny.tflite"
    tflite_writer.write(tiny_conv_fc(), path)
    return path


# ---------------------------------------------------------------- bad model files


def test_missing_file(tmp_path):
    path = tmp_path / "nope.tflite"
    assert_one_line_error(mcc("inspect", path), str(path), "no such file")


def test_directory(tmp_path):
    assert_one_line_error(mcc("inspect", tmp_path), str(tmp_path), "directory")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.tflite"
    path.write_bytes(b"")
    assert_one_line_error(mcc("inspect", path), str(path), "empty")


def test_truncated_model(tmp_path, tiny_model):
    data = tiny_model.read_bytes()
    path = tmp_path / "half.tflite"
    path.write_bytes(data[: len(data) // 2])
    assert_one_line_error(mcc("inspect", path), str(path), "truncated")


@pytest.mark.parametrize("content", [np.random.default_rng(0).bytes(3000), b"weights = [1, 2, 3]\nnot a model\n"],
                         ids=["random-bytes", "text"])
def test_not_a_tflite_file(tmp_path, content):
    path = tmp_path / "junk.tflite"
    path.write_bytes(content)
    assert_one_line_error(mcc("inspect", path), str(path), "not a TFLite")


def test_corrupted_bytes_never_give_a_traceback(tmp_path, tiny_model, capsys):
    """Bytes flipped anywhere after the header: the model loads, or one line and exit 2 (in-process for speed)."""
    data = tiny_model.read_bytes()
    rng = np.random.default_rng(4)
    path = tmp_path / "corrupt.tflite"
    failures = 0
    for _ in range(300):
        corrupt = bytearray(data)
        for pos in rng.integers(8, len(data), int(rng.integers(1, 4))):
            corrupt[pos] = int(rng.integers(0, 256))
        path.write_bytes(bytes(corrupt))
        rc = cli.main(["inspect", str(path)])  # any other exception fails the test with its traceback
        err = capsys.readouterr().err
        if rc != 0:
            failures += 1
            assert rc == 2 and len(err.splitlines()) == 1 and str(path) in err, err
    assert failures > 100  # the corruptions do hit something


def with_builtin_code(model: bytes, old: int, new: int) -> bytes:
    """Rewrite an OperatorCode in place: both the int8 deprecated code and the int32 code (vtable slots 4 and 10)."""
    data = bytearray(model)
    m = tflite.Model.GetRootAs(model, 0)
    for i in range(m.OperatorCodesLength()):
        tab = m.OperatorCodes(i)._tab
        if m.OperatorCodes(i).BuiltinCode() == old:
            struct.pack_into("<b", data, tab.Pos + tab.Offset(4), new)
            struct.pack_into("<i", data, tab.Pos + tab.Offset(10), new)
    assert bytes(data) != model
    return bytes(data)


def unsupported_model(tmp_path, kind: str):
    """tiny_conv_fc with a RELU after the conv and after the FC, both turned into `kind`, and between them a
    RELU6 whose output is quantized unlike its input (which TFLM's RELU6 does not honour)."""
    graph = tiny_conv_fc()
    graph.add_tensor(Tensor("r", (1, 3, 3, 4), "int8", q(0.04, -128)))
    graph.add_tensor(Tensor("y6", (1, 5), "int8", q(0.1, 5)))  # zero point patched below: the writer verifies
    graph.add_tensor(Tensor("out", (1, 5), "int8", q(0.05, -128)))
    graph.ops[0].outputs = ["r"]
    graph.ops.insert(1, Op("RELU", ["r"], ["c"], irops.NoAttrs(), "relu"))
    graph.ops += [Op("RELU6", ["y"], ["y6"], irops.NoAttrs(), "relu6"), Op("RELU", ["y6"], ["out"], irops.NoAttrs(), "relu_out")]
    graph.outputs = ["out"]
    path = tmp_path / "unsupported.tflite"
    code = getattr(tflite.BuiltinOperator, kind)
    data = bytearray(with_builtin_code(tflite_writer.to_bytes(graph), tflite.BuiltinOperator.RELU, code))
    sg = tflite.Model.GetRootAs(bytes(data), 0).Subgraphs(0)
    y6 = next(sg.Tensors(i) for i in range(sg.TensorsLength()) if sg.Tensors(i).Name() == b"y6")
    quant = y6.Quantization()._tab
    struct.pack_into("<q", data, quant.Vector(quant.Offset(10)), -128)  # ZeroPoint[0] (vtable slot 10)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind", ["SIN", "LSH_PROJECTION"])  # kinds the IR does not have (EXP is float-only now)
def test_compile_names_every_unsupported_op_and_where_to_look(tmp_path, kind):
    path = unsupported_model(tmp_path, kind)
    result = mcc("compile", path, "-o", tmp_path / "out")
    line = assert_one_line_error(result, str(path), f"op '{kind.lower()}_1' is {kind}", f"op '{kind.lower()}_5' is {kind}",
                                 "op 'relu6_4' (RELU6)", "not supported")
    assert "mcucompress ops" in line and "docs/SUPPORTED_OPS.md" in line
    assert not any(f" {op}," in line for op in ("ADD", "SOFTMAX", "AVERAGE_POOL_2D"))  # not the whole op list
    assert not (tmp_path / "out").exists()


def test_inspect_flags_unsupported_ops_in_the_whole_table(tmp_path):
    """inspect is an analysis: exit 0, every op in the table, the unsupported ones flagged with why, one summary line."""
    result = mcc("inspect", unsupported_model(tmp_path, "SIN"))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    rows = [line for line in result.stdout.splitlines() if line[:3].strip().isdigit()]
    assert [row.split()[1] for row in rows] == ["CONV_2D", "SIN", "RESHAPE", "FULLY_CONNECTED", "RELU6", "SIN"]
    flagged = [i for i, row in enumerate(rows) if "<< UNSUPPORTED" in row]
    assert flagged == [1, 4, 5]
    assert "which is not supported" in rows[1] and "TFLM's RELU6 does not rescale" in rows[4]
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith("unsupported: 3 of 6 ops (#1 SIN, #4 RELU6, #5 SIN)"), summary
    doc = json.loads(mcc("inspect", unsupported_model(tmp_path, "SIN"), "--json").stdout)
    assert doc["totals"]["unsupported"] == [1, 4, 5] and doc["ops"][4]["problem"].startswith("op 'relu6_4' (RELU6)")


def test_hybrid_model_says_hybrid_and_what_to_do(tmp_path):
    g = Graph(name="hybrid")
    g.add_tensor(Tensor("x", (1, 6, 6, 2), "float32"))
    w = np.random.default_rng(0).integers(-127, 128, (4, 3, 3, 2))
    g.add_tensor(Tensor("w", (4, 3, 3, 2), "int8", QuantParams(np.full(4, 0.01, np.float32), np.zeros(4), 0), w))
    g.add_tensor(Tensor("b", (4,), "float32", None, np.zeros(4)))
    g.add_tensor(Tensor("y", (1, 4, 4, 4), "float32"))
    g.ops = [Op("CONV_2D", ["x", "w", "b"], ["y"], irops.Conv2DAttrs(), "conv")]
    g.inputs, g.outputs = ["x"], ["y"]
    path = tmp_path / "hybrid.tflite"
    tflite_writer.write(g, path)
    assert_one_line_error(mcc("inspect", path), str(path), "hybrid", "op 0", "CONV_2D", "--calibration")
    # With calibration data it becomes a full int8 model: weights dequantized exactly as TFLite does, then our PTQ.
    from mcucompress.driver import load

    dequantized = load(path, dequantize_hybrid=True).t("w")
    assert dequantized.dtype == "float32" and dequantized.quant is None
    np.testing.assert_array_equal(dequantized.data, np.float32(0.01) * w.astype(np.float32))
    cal = tmp_path / "cal.npz"
    np.savez(cal, x=np.random.default_rng(1).normal(size=(16, 6, 6, 2)).astype(np.float32))
    out = mcc("run", path, "--calibration", cal, "--board", "host", "--samples", "4")
    assert out.returncode == 0 and "bit-exact vs reference: True" in out.stdout, out.stderr


def test_model_that_fails_verification_names_the_file(tmp_path, tiny_model):
    """A well-formed file whose graph is invalid (an int8 zero point of 300): the verifier's message plus the path."""
    data = bytearray(tiny_model.read_bytes())
    sg = tflite.Model.GetRootAs(bytes(data), 0).Subgraphs(0)
    y = next(sg.Tensors(i) for i in range(sg.TensorsLength()) if sg.Tensors(i).Name() == b"y")
    quant = y.Quantization()._tab
    struct.pack_into("<q", data, quant.Vector(quant.Offset(10)), 300)  # ZeroPoint[0] (vtable slot 10)
    path = tmp_path / "bad_zp.tflite"
    path.write_bytes(bytes(data))
    assert_one_line_error(mcc("inspect", path), str(path), "tensor 'y'", "zero point")


# ---------------------------------------------------------------- bad data for `run`


def save_data(path, x, y=None):
    np.savez(path, **({"x": x} if y is None else {"x": x, "y": y}))
    return path


def test_run_with_data_of_the_wrong_shape(tmp_path, tiny_model):
    data = save_data(tmp_path / "d.npz", np.zeros((3, 5, 5, 2), np.int8))
    assert_one_line_error(mcc("run", tiny_model, "--data", data), str(data), "(3, 5, 5, 2)", "(N, 6, 6, 2)")


def test_run_with_nan_data(tmp_path, tiny_model):
    x = np.zeros((3, 6, 6, 2), np.float32)
    x[1, 2, 3, 1] = np.nan
    data = save_data(tmp_path / "d.npz", x)
    assert_one_line_error(mcc("run", tiny_model, "--data", data), str(data), "NaN")


def test_run_with_data_that_is_not_an_npz(tmp_path, tiny_model):
    npy = tmp_path / "x.npy"  # an .npy that is not one (an .npy of inputs is accepted: test_data_formats.py)
    npy.write_text("1 2 3\n")
    assert_one_line_error(mcc("run", tiny_model, "--data", npy), str(npy), "not a readable .npy")
    text = tmp_path / "x.txt"
    text.write_text("1 2 3\n")
    assert_one_line_error(mcc("run", tiny_model, "--data", text), str(text), "not an .npz")


def test_run_with_no_samples(tmp_path, tiny_model):
    data = save_data(tmp_path / "d.npz", np.zeros((0, 6, 6, 2), np.int8))
    assert_one_line_error(mcc("run", tiny_model, "--data", data), str(data), "no samples")


# ---------------------------------------------------------------- good paths


def test_inspect_prints_a_table_with_totals(tiny_model):
    result = mcc("inspect", tiny_model)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    out = result.stdout
    for kind in ("CONV_2D", "RESHAPE", "FULLY_CONNECTED"):
        assert kind in out
    assert f"total: 3 ops, {TINY_MACS:,} MACs, {TINY_PARAMS:,} params" in out.splitlines()[-1]


def test_inspect_json_totals(tiny_model):
    result = mcc("inspect", tiny_model, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["totals"]["macs"] == TINY_MACS == 828
    assert doc["totals"]["params"] == TINY_PARAMS == 261
    assert [op["kind"] for op in doc["ops"]] == ["CONV_2D", "RESHAPE", "FULLY_CONNECTED"]


@pytest.mark.parametrize("labels", [True, False], ids=["labels", "no-labels"])
def test_run_on_the_reference_writes_outputs_and_report(tmp_path, tiny_model, labels):
    rng = np.random.default_rng(9)
    n = 11
    x = rng.integers(-128, 128, (n, 6, 6, 2)).astype(np.int8)
    y = rng.integers(0, 5, n) if labels else None
    data = save_data(tmp_path / "d.npz", x, y)
    out_path, report_path = tmp_path / "o.npy", tmp_path / "r.json"
    result = mcc("run", tiny_model, "--board", "reference", "--data", data,
                 "--save-outputs", out_path, "--json", report_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    outputs = np.load(out_path)
    assert outputs.dtype == np.int8 and outputs.shape == (n, 5)  # the model's output dtype, N rows
    expected = executor.run(tiny_conv_fc(), [x])[0]
    np.testing.assert_array_equal(outputs, expected)
    report = json.loads(report_path.read_text())
    assert report["samples"] == n and report["board"] == "reference" and report["output_dtype"] == "int8"
    if labels:
        assert report["accuracy"]["top1"] == pytest.approx(float(np.mean(expected.argmax(1) == y)))
        assert "top-1 accuracy: " in result.stdout and "n/a" not in result.stdout
    else:
        assert report["accuracy"]["top1"] is None
    assert not list(tmp_path.glob("*.tmp"))


def test_ops_lists_every_op_kind():
    result = mcc("ops")
    assert result.returncode == 0 and result.stderr == ""
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ") and line.split()}
    assert set(registry.kinds()) <= listed
    for alias in ("SQUEEZE", "EXPAND_DIMS", "PADV2"):
        assert alias in result.stdout


def test_run_defaults_to_the_readme_board_and_boards_marks_it():
    """`run` without --board runs on the default board the README names; --help and `boards` say which."""
    from mcucompress.boards import DEFAULT_BOARD
    from mcucompress.cli import build_parser

    assert build_parser().parse_args(["run", "m.tflite", "--data", "d.npz"]).board == DEFAULT_BOARD
    readme = " ".join(Path(__file__).resolve().parents[2].joinpath("README.md").read_text().split())
    assert f"default board ({DEFAULT_BOARD}" in readme
    help_text = mcc("run", "--help").stdout
    assert f"default: {DEFAULT_BOARD}" in " ".join(help_text.split())
    listing = mcc("boards").stdout.splitlines()
    assert [line.split()[1] for line in listing if line.startswith("*") and "default" not in line] == [DEFAULT_BOARD]
