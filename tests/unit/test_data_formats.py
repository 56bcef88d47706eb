"""Data as users hold it: ONNX models fed in their declared NCHW layout, .npy inputs, folders of images,
--normalize, uint8 pixels, runs without data on random inputs, flat data refused, every error naming the file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from mcucompress import cli, driver
from mcucompress.codegen.project import compile_graph
from mcucompress.dataset import fit_samples, quantize_input
from mcucompress.errors import DataError, McuError
from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_CNN_ONNX, DIGITS_INT8, DIGITS_MLP_ONNX, DIGITS_TEST
from mcucompress.ir import Tensor, serialize
from mcucompress.normalize import parse
from tests.graphs import q

RUN_INT8 = ["run", DIGITS_INT8, "--board", "reference"]  # failing runs: on the reference executor, never QEMU
RUN_ONNX = ["run", DIGITS_CNN_ONNX, "--board", "reference"]


@pytest.fixture(scope="module")
def digits():
    d = np.load(DIGITS_TEST)
    return d["x"][:120], d["y"][:120]


@pytest.fixture(scope="module")
def files(digits, tmp_path_factory):
    """The same 120 test digits as NHWC and NCHW .npz, an NCHW .npy, and the calibration set as NCHW."""
    x, y = digits
    d = tmp_path_factory.mktemp("data")
    nchw = x.transpose(0, 3, 1, 2)
    np.savez(d / "nhwc.npz", x=x, y=y)
    np.savez(d / "nchw.npz", x=nchw, y=y)
    np.save(d / "nchw.npy", nchw)
    cal = np.load(DIGITS_CALIBRATION)["x"]
    np.savez(d / "cal_nchw.npz", x=cal.transpose(0, 3, 1, 2))
    return d


def one_line_error(capsys, argv, *needles) -> str:
    """cli.main(argv) fails with exit 2 and one stderr line holding every needle (and nothing on stdout)."""
    assert cli.main([str(a) for a in argv]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and not out and "Traceback" not in err, err
    for needle in needles:
        assert str(needle) in lines[0], (needle, lines[0])
    return lines[0]


# -------------------------------------------------------------------------------- layouts (ONNX NCHW)
def test_onnx_importer_records_the_declared_nchw_layout():
    graph = driver.load(DIGITS_CNN_ONNX)
    assert graph.t(graph.inputs[0]).shape == (1, 8, 8, 1)
    assert graph.input_perm() == (0, 2, 3, 1) and graph.declared_input_shape() == (1, 1, 8, 8)
    tflite = driver.load(DIGITS_INT8)
    assert tflite.input_perm() == (0, 1, 2, 3) and tflite.declared_input_shape() == (1, 8, 8, 1)


def test_layout_survives_quantization_and_serialization(tmp_path):
    graph = driver.prepare(DIGITS_CNN_ONNX, calibration=DIGITS_CALIBRATION)
    assert graph.input_perm() == (0, 2, 3, 1)
    serialize.save(graph, tmp_path / "g.json")
    assert serialize.load(tmp_path / "g.json").input_perm() == (0, 2, 3, 1)


def test_onnx_cnn_on_nchw_data_is_identical_to_nhwc_data_and_to_onnxruntime(files):
    ref_nhwc, out_nhwc = driver.run(DIGITS_CNN_ONNX, "reference", files / "nhwc.npz")
    ref_nchw, out_nchw = driver.run(DIGITS_CNN_ONNX, "reference", files / "nchw.npz")
    np.testing.assert_array_equal(out_nchw, out_nhwc)
    assert ref_nchw["accuracy"]["top1"] == ref_nhwc["accuracy"]["top1"] > 0.9
    assert ref_nchw["data"]["layout"].startswith("NCHW as the model file declares")
    assert ref_nhwc["data"]["layout"] == "NHWC"
    # The NCHW path is the one the model file means: onnxruntime on the same array agrees.
    import onnxruntime

    sess = onnxruntime.InferenceSession(str(DIGITS_CNN_ONNX), providers=["CPUExecutionProvider"])
    x = np.load(files / "nchw.npz")["x"]
    ort = np.concatenate([sess.run(None, {sess.get_inputs()[0].name: x[i:i + 1]})[0] for i in range(len(x))])
    np.testing.assert_allclose(out_nchw.reshape(ort.shape), ort, atol=1e-5)


def test_int8_run_and_calibration_in_nchw_match_nhwc(files):
    """Calibration (--calibration) and test data both NCHW: the same int8 model and the same outputs."""
    nhwc, out_nhwc = driver.run(DIGITS_CNN_ONNX, "host", files / "nhwc.npz", calibration=DIGITS_CALIBRATION)
    nchw, out_nchw = driver.run(DIGITS_CNN_ONNX, "host", files / "nchw.npz", calibration=files / "cal_nchw.npz")
    np.testing.assert_array_equal(out_nchw, out_nhwc)
    assert nchw["bit_exact"] and nchw["accuracy"]["top1"] == nhwc["accuracy"]["top1"]


def test_quantize_cli_with_nchw_calibration_writes_the_same_model(files, tmp_path, capsys):
    for name, cal in (("a", DIGITS_CALIBRATION), ("b", files / "cal_nchw.npz")):
        assert cli.main(["quantize", str(DIGITS_CNN_ONNX), "--calibration", str(cal), "-o",
                         str(tmp_path / f"{name}.tflite")]) == 0
    assert (tmp_path / "a.tflite").read_bytes() == (tmp_path / "b.tflite").read_bytes()


def test_prune_cli_takes_nchw_calibration(files, tmp_path, capsys):
    out = tmp_path / "p.tflite"
    assert cli.main(["prune", str(DIGITS_MLP_ONNX), "-o", str(out), "--method", "unstructured", "--sparsity", "0.5",
                     "--calibration", str(files / "cal_nchw.npz"), "--recover", "bias"]) == 0
    assert out.exists()


def test_ambiguous_shape_takes_the_declared_layout(tmp_path):
    """C == H == W: (N, 3, 3, 3) fits both layouts; the file's declared NCHW wins (onnxruntime agrees)."""
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = rng.normal(size=(2, 3, 2, 2)).astype(np.float32)
    fc = rng.normal(size=(8, 5)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("Flatten", ["c"], ["f"]),
         helper.make_node("MatMul", ["f", "fc"], ["y"])], "amb",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(fc, "fc")])
    path = tmp_path / "amb.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    x = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    report, out = driver.run(path, "reference", tmp_path / "x.npz")
    assert report["data"]["layout"].startswith("NCHW")
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ort = np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    np.testing.assert_allclose(out.reshape(ort.shape), ort, atol=1e-5)


def test_generated_header_documents_the_input_layout():
    onnx_header = compile_graph(driver.prepare(DIGITS_CNN_ONNX, calibration=DIGITS_CALIBRATION), "d").files["d_model.h"]
    assert "Input: int8, NHWC shape [1, 8, 8, 1]" in onnx_header
    assert "declared this input NCHW [1, 1, 8, 8]: transpose NCHW data to NHWC" in onnx_header
    tflite_header = compile_graph(driver.load(DIGITS_INT8), "d").files["d_model.h"]
    assert "Input: int8, NHWC shape [1, 8, 8, 1]" in tflite_header and "declared" not in tflite_header


# -------------------------------------------------------------------------------- flat data, shapes
def test_flat_data_is_refused_with_the_exact_reshape(digits, tmp_path, capsys):
    x, y = digits
    np.savez(tmp_path / "flat.npz", x=x.reshape(len(x), 64), y=y)
    one_line_error(capsys, [*RUN_INT8, "--data", tmp_path / "flat.npz"], tmp_path / "flat.npz",
                   "flat samples (120, 64)", "not reshaped silently", "x.reshape(120, 8, 8, 1)")
    one_line_error(capsys, [*RUN_ONNX, "--data", tmp_path / "flat.npz"], tmp_path / "flat.npz",
                   "(N, 1, 8, 8) (NCHW) or (N, 8, 8, 1) (NHWC)", "NCHW element order", "x.reshape(120, 1, 8, 8)")


def test_flat_data_of_a_flat_input_and_single_samples_are_accepted():
    t = Tensor("x", (1, 64), "float32")
    assert fit_samples("f.npz", np.zeros((5, 64), np.float32), None, t).x.shape == (5, 64)
    assert fit_samples("f.npz", np.zeros(64, np.float32), None, t).x.shape == (1, 64)
    t4 = Tensor("x", (1, 8, 8, 1), "float32")
    assert fit_samples("f.npz", np.zeros((3, 1, 8, 8, 1), np.float32), None, t4).x.shape == (3, 8, 8, 1)
    with pytest.raises(DataError, match=r"f\.npz: 'x' has shape \(3, 8, 8\)"):
        fit_samples("f.npz", np.zeros((3, 8, 8), np.float32), None, t4)


# -------------------------------------------------------------------------------- .npy
def test_npy_holds_inputs_without_labels(files):
    report, out = driver.run(DIGITS_CNN_ONNX, "reference", files / "nchw.npy")
    _, expected = driver.run(DIGITS_CNN_ONNX, "reference", files / "nhwc.npz")
    np.testing.assert_array_equal(out, expected)
    assert report["accuracy"]["top1"] is None and report["data"]["format"] == "npy"


# -------------------------------------------------------------------------------- uint8 and --normalize
def test_uint8_pixels_need_normalize_and_then_match_the_int8_values(tmp_path, capsys):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (6, 8, 8, 1), dtype=np.uint8)
    np.save(tmp_path / "px.npy", pixels)
    one_line_error(capsys, [*RUN_INT8, "--data", tmp_path / "px.npy"], tmp_path / "px.npy", "raw uint8",
                   "scale 0.00392157, zero point -128", "--normalize")
    # Input scale 1/255, zero point -128: pixels / 255 quantize to exactly pixel - 128.
    np.save(tmp_path / "q.npy", (pixels.astype(np.int16) - 128).astype(np.int8))
    _, via_normalize = driver.run(DIGITS_INT8, "reference", tmp_path / "px.npy", normalize="1/255")
    _, via_int8 = driver.run(DIGITS_INT8, "reference", tmp_path / "q.npy")
    np.testing.assert_array_equal(via_normalize, via_int8)


def test_normalize_forms():
    x = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(1, 2, 2, 3) * 20
    np.testing.assert_allclose(parse("1/255").apply(x, "d"), x / 255, rtol=1e-6)
    np.testing.assert_allclose(parse("0.5,-1").apply(x, "d"), x * 0.5 - 1, rtol=1e-6)
    mean, std = np.array([0.49, 0.48, 0.45]), np.array([0.25, 0.24, 0.26])
    np.testing.assert_allclose(parse("mean=0.49,0.48,0.45:std=0.25,0.24,0.26").apply(x, "d"),
                               (x / 255 - mean) / std, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(parse("mean=0.5:std=0.5").apply(x, "d"), (x / 255 - 0.5) / 0.5, rtol=1e-5, atol=1e-6)
    with pytest.raises(McuError, match=r"d: --normalize 'mean=0,0:std=1,1' gives 2 values per channel.*3 channels"):
        parse("mean=0,0:std=1,1").apply(x, "d")


@pytest.mark.parametrize("spec,message", [
    ("abc", "'abc' is not a number"), ("1/0", "'1/0' is not a number"), ("0", "scale of 0"), ("1,2,3", "3 numbers"),
    ("mean=0.5", "give both mean= and std="), ("mean=0.5:std=0", "std must be positive"),
    ("mean=1:sd=2", "unknown or repeated field 'sd'"),
])
def test_bad_normalize_is_one_line_before_any_work(capsys, spec, message):
    one_line_error(capsys, [*RUN_INT8, "--data", DIGITS_TEST, "--normalize", spec], "--normalize", message)


# -------------------------------------------------------------------------------- image folders
def write_digit_folder(root, x, y, ext=".png"):
    """Class folders named so that their sorted order reverses the digits (0 -> 'j', ..., 9 -> 'a')."""
    names = {label: chr(ord("j") - label) for label in range(10)}
    pixels = np.round(x[..., 0] * 255).astype(np.uint8)
    for i, (img, label) in enumerate(zip(pixels, y)):
        (root / names[label]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img, "L").save(root / names[label] / f"{i:04d}{ext}")
    return pixels, names


def test_image_folder_reads_pngs_with_sorted_folder_labels(digits, tmp_path):
    x, y = digits
    pixels, names = write_digit_folder(tmp_path / "imgs", x, y)
    report, out = driver.run(DIGITS_INT8, "reference", tmp_path / "imgs", normalize="1/255")
    assert report["data"]["format"] == "images" and report["samples"] == len(x)
    # The same pixels as an .npz, in the folder's order (sorted classes, then sorted files), labelled by class index.
    classes = sorted(names.values())
    order = sorted(range(len(y)), key=lambda i: (classes.index(names[y[i]]), i))
    np.savez(tmp_path / "same.npz", x=pixels[order][..., None],
             y=np.array([classes.index(names[y[i]]) for i in order]))
    npz_report, npz_out = driver.run(DIGITS_INT8, "reference", tmp_path / "same.npz", normalize="1/255")
    np.testing.assert_array_equal(out, npz_out)
    assert report["accuracy"]["top1"] == npz_report["accuracy"]["top1"]
    # The labels are folder indices: for this model they only score when they equal the digit for the folders used.
    digits_named = {label: str(label) for label in range(10)}
    for i, (img, label) in enumerate(zip(pixels, y)):
        (tmp_path / "byname" / digits_named[label]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img, "L").save(tmp_path / "byname" / digits_named[label] / f"{i:04d}.png")
    named, _ = driver.run(DIGITS_INT8, "reference", tmp_path / "byname", normalize="1/255")
    assert named["accuracy"]["top1"] > 0.9


def test_onnx_model_reads_an_image_folder_as_nhwc(digits, tmp_path):
    x, y = digits
    write_digit_folder(tmp_path / "imgs", x[:20], y[:20])
    report, _ = driver.run(DIGITS_CNN_ONNX, "reference", tmp_path / "imgs", normalize="1/255")
    assert report["data"]["layout"] == "NHWC" and report["samples"] == 20


def test_image_folder_errors_name_the_file(digits, tmp_path, capsys):
    x, y = digits
    write_digit_folder(tmp_path / "imgs", x[:3], y[:3])
    one_line_error(capsys, [*RUN_INT8, "--data", tmp_path / "imgs"], tmp_path / "imgs", "--normalize")
    big = tmp_path / "imgs" / chr(ord("j") - y[0]) / "big.png"
    Image.new("L", (10, 8)).save(big)
    one_line_error(capsys, [*RUN_INT8, "--data", tmp_path / "imgs", "--normalize", "1/255"], big,
                   "10x8 (WxH)", "takes 8x8", "resize")
    big.unlink()
    bad = tmp_path / "imgs" / chr(ord("j") - y[0]) / "bad.png"
    bad.write_bytes(b"not a png")
    one_line_error(capsys, [*RUN_INT8, "--data", tmp_path / "imgs", "--normalize", "1/255"], bad,
                   "not a readable image")
    (tmp_path / "flat").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "flat" / "a.png")
    one_line_error(capsys, [*RUN_INT8, "--data", tmp_path / "flat"], tmp_path / "flat", "one subfolder per class")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    one_line_error(capsys, [*RUN_INT8, "--data", tmp_path / "empty"], tmp_path / "empty", "no images")


def test_image_folder_for_a_non_image_input(tmp_path):
    t = Tensor("x", (1, 64), "float32")
    from mcucompress.dataset import load_samples

    (tmp_path / "imgs" / "a").mkdir(parents=True)
    with pytest.raises(DataError, match=r"imgs: a folder of images feeds an image input"):
        load_samples(tmp_path / "imgs", t)


# -------------------------------------------------------------------------------- runs without data
def test_run_without_data_uses_seeded_random_inputs(tmp_path, capsys):
    assert cli.main(["run", str(DIGITS_INT8), "--board", "host", "--samples", "4", "--json",
                     str(tmp_path / "r.json"), "--save-outputs", str(tmp_path / "o.npy")]) == 0
    out = capsys.readouterr().out
    assert "4 samples of random input (uniform int8 in [-128, 127], seed 0; no --data)" in out
    assert "top-1 accuracy: n/a (random inputs)" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["samples"] == 4 and report["accuracy"]["top1"] is None and report["bit_exact"]
    assert report["data"] == {"source": "random", "distribution": "uniform int8 in [-128, 127]", "seed": 0}
    _, outputs = driver.run(DIGITS_INT8, "reference", None, samples=4)
    np.testing.assert_array_equal(outputs, np.load(tmp_path / "o.npy"))  # seeded: the same inputs every time
    default, _ = driver.run(DIGITS_INT8, "reference", None)
    assert default["samples"] == driver.RANDOM_SAMPLES == cli.RANDOM_SAMPLES_DEFAULT


def test_random_inputs_cover_the_input_range():
    from mcucompress.dataset import random_samples

    x = random_samples(Tensor("x", (1, 8, 8, 1), "int8", q(0.1, 0)), 50).x
    assert x.dtype == np.int8 and x.shape == (50, 8, 8, 1) and x.min() == -128 and x.max() == 127
    f = random_samples(Tensor("x", (1, 4), "float32"), 100).x
    assert f.dtype == np.float32 and -1 <= f.min() < -0.9 and 0.9 < f.max() < 1
    report, _ = driver.run(DIGITS_CNN_ONNX, "reference", None, samples=3)
    assert report["data"]["distribution"] == "uniform float32 in [-1, 1)" and report["samples"] == 3


def test_samples_takes_the_first_n_of_the_data(capsys):
    report, out = driver.run(DIGITS_INT8, "reference", DIGITS_TEST, samples=7)
    _, full = driver.run(DIGITS_INT8, "reference", DIGITS_TEST)
    assert report["samples"] == 7
    np.testing.assert_array_equal(out, full[:7])
    one_line_error(capsys, [*RUN_INT8, "--samples", "0"], "--samples 0")


# -------------------------------------------------------------------------------- errors name the file
def test_integer_values_outside_int8_name_the_file(tmp_path, capsys):
    np.save(tmp_path / "big.npy", np.full((2, 8, 8, 1), 300, np.int32))
    one_line_error(capsys, [*RUN_INT8, "--data", tmp_path / "big.npy"], tmp_path / "big.npy",
                   "outside the int8 range ([300, 300])")
    t = Tensor("x", (1, 2), "int8", q(0.1, 0))
    with pytest.raises(DataError, match="^input data: integer input values outside"):
        quantize_input(np.array([[500, 0]]), t)


@pytest.mark.parametrize("name,content,message", [
    ("missing.npz", None, "no such data file"),
    ("text.npz", b"hello", "not an .npz file"),
    ("text.npy", b"hello", "not a readable .npy file"),
    ("obj.npy", "objects", "holds Python objects"),
    ("strings.npy", "strings", "has dtype <U1"),
    ("nan.npy", "nan", "NaN"),
    ("shape.npy", "shape", "has shape (2, 5, 5, 1)"),
])
def test_every_data_error_names_the_file(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "objects":
        with open(path, "wb") as f:
            np.save(f, np.array([1, None], dtype=object), allow_pickle=True)
    elif content == "strings":
        np.save(path, np.array(["a", "b"]))
    elif content == "nan":
        np.save(path, np.full((2, 8, 8, 1), np.nan, np.float32))
    elif content == "shape":
        np.save(path, np.zeros((2, 5, 5, 1), np.float32))
    for argv in ([*RUN_INT8, "--data", path],
                 ["compile", DIGITS_CNN_ONNX, "-o", tmp_path / "out", "--calibration", path]):
        one_line_error(capsys, argv, path, message)
    assert not (tmp_path / "out").exists()


def test_finetune_reads_nchw_data_image_folders_and_normalize(files, digits, tmp_path):
    pytest.importorskip("torch")
    from mcucompress.torch.train import load_training_data

    graph = driver.load(DIGITS_CNN_ONNX)
    x_nhwc, y_nhwc = load_training_data(files / "nhwc.npz", graph, "ce")
    x_nchw, y_nchw = load_training_data(files / "nchw.npz", graph, "ce")
    np.testing.assert_array_equal(x_nchw, x_nhwc)
    np.testing.assert_array_equal(y_nchw, y_nhwc)
    x, y = digits
    pixels, _ = write_digit_folder(tmp_path / "imgs", x[:30], y[:30])
    xi, yi = load_training_data(tmp_path / "imgs", graph, "ce", normalize="1/255")
    assert xi.dtype == np.float32 and xi.shape == (30, 8, 8, 1) and len(yi) == 30
    np.testing.assert_allclose(np.sort(xi.ravel()), np.sort(pixels.ravel() / 255), rtol=1e-6)
