"""ONNX LSTM / GRU as torch.onnx.export writes them: float import against onnxruntime, then our PTQ bit-exact with
TFLM and the host C. The IR LSTM carries its state across invokes (TFLM); ONNX starts each run from zero, so
every sample runs from a fresh state (TFLM reset, host runner state="reset", a new executor state)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from mcucompress.errors import UnsupportedOpError
from mcucompress.frontend import onnx as onnx_import
from mcucompress.reference import executor

# (kind, batch_first, input size, hidden, seq, output, opset); output "y": all steps, "h": the last state,
# "cls": a classifier, softmax(Linear(y at the last step)) (torch exports a Gather)
CASES = [
    ("LSTM", True, 5, 6, 4, "y", 13), ("LSTM", False, 3, 4, 1, "y", 17), ("LSTM", True, 8, 16, 8, "h", 17),
    ("LSTM", False, 7, 12, 6, "h", 13), ("LSTM", True, 2, 9, 3, "y", 17), ("LSTM", False, 4, 5, 7, "y", 17),
    ("GRU", True, 5, 6, 4, "y", 13), ("GRU", False, 3, 4, 1, "y", 17), ("GRU", True, 8, 16, 8, "h", 17),
    ("GRU", False, 7, 12, 6, "h", 13), ("GRU", True, 2, 9, 3, "y", 17), ("GRU", False, 4, 5, 7, "y", 17),
    ("LSTM", True, 5, 8, 6, "cls", 17), ("LSTM", False, 6, 10, 5, "cls", 13),
    ("GRU", True, 5, 8, 6, "cls", 13), ("GRU", False, 6, 10, 5, "cls", 17),
]
SAMPLES = 4


class Net(torch.nn.Module):
    def __init__(self, kind, batch_first, n_in, hidden, out):
        super().__init__()
        self.rnn = getattr(torch.nn, kind)(n_in, hidden, batch_first=batch_first)
        self.fc = torch.nn.Linear(hidden, 3)
        self.out, self.batch_first = out, batch_first

    def forward(self, x):
        y, state = self.rnn(x)
        if self.out == "h":
            return (state[0] if isinstance(state, tuple) else state)[0]  # [batch, hidden]
        if self.out == "cls":
            return torch.softmax(self.fc(y[:, -1] if self.batch_first else y[-1]), -1)
        return y


def export(case, path, seed: int = 0):
    kind, batch_first, n_in, hidden, seq, out, opset = case
    torch.manual_seed(seed)
    net = Net(kind, batch_first, n_in, hidden, out).eval()
    with torch.no_grad():  # biases of magnitude like trained ones (torch's init is small)
        for p in net.parameters():
            p.mul_(2.0)
    shape = (1, seq, n_in) if batch_first else (seq, 1, n_in)
    torch.onnx.export(net, (torch.zeros(shape),), str(path), dynamo=False, opset_version=opset,
                      input_names=["x"], output_names=["y"])
    return shape


def ort_outputs(path, xs):
    sess = ort.InferenceSession(str(path))
    return [sess.run(None, {"x": x})[0] for x in xs]


def fresh_runs(g, xs):
    """The reference executor, every sample from the zero state (ONNX's semantics); an ONNX sample [seq, 1, n]
    is the IR input [1, seq, n] (the same bytes)."""
    shape = g.t(g.inputs[0]).shape
    return [executor.run(g, [x.reshape(shape)], state=executor.initial_state(g))[0] for x in xs]


def case_id(case):
    return f"{case[0]}-{'bf' if case[1] else 'sf'}-i{case[2]}-h{case[3]}-t{case[4]}-{case[5]}-op{case[6]}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_float_import_matches_onnxruntime(case, tmp_path):
    path = tmp_path / "m.onnx"
    shape = export(case, path)
    g = onnx_import.load(path)
    kinds = {op.kind for op in g.ops}
    assert ("UNIDIRECTIONAL_SEQUENCE_LSTM" in kinds) == (case[0] == "LSTM")
    xs = [np.random.default_rng(i).standard_normal(shape).astype(np.float32) for i in range(SAMPLES)]
    for ours, theirs in zip(fresh_runs(g, xs), ort_outputs(path, xs), strict=True):
        np.testing.assert_allclose(ours.reshape(theirs.shape), theirs, rtol=0, atol=1e-4)


PTQ_CASES = CASES  # a sequence-first model input [seq, 1, features] becomes the IR input [1, seq, features]


def qshape(g, shape):
    """The IR input shape: [1, seq, features] also for a sequence-first ONNX input [seq, 1, features]."""
    assert g.t(g.inputs[0]).shape == (1, max(shape[:2]), shape[2])
    return g.t(g.inputs[0]).shape


def assert_ptq_bit_exact(g, shape, tmp_path, label, min_sqnr=15.0):
    """Our PTQ of float graph g; int8 reference == TFLM == host C, every sample from the zero state."""
    import mcucompress
    from mcucompress.codegen.project import compile_graph
    from mcucompress.frontend import tflite_writer
    from mcucompress.harness.host import run_on_host
    from tests.conftest import TflmSession

    rng = np.random.default_rng(7)
    calib = rng.standard_normal((64, *qshape(g, shape)[1:])).astype(np.float32)
    qg = mcucompress.quantize(g, calib)
    qx = qg.t(qg.inputs[0]).quant
    xs = [rng.standard_normal(qshape(g, shape)).astype(np.float32) for _ in range(SAMPLES)]
    xq = [np.clip(np.round(x / qx.s) + qx.zp, -128, 127).astype(np.int8) for x in xs]
    ours = fresh_runs(qg, xq)
    tflm = TflmSession(tflite_writer.to_bytes(qg))
    theirs = []
    for x in xq:
        tflm.interp.reset()  # ONNX semantics: each sequence from the zero state
        theirs.append(tflm(x))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b.reshape(a.shape))
    out_shape = (1, *qg.t(qg.outputs[0]).shape)
    host = run_on_host(compile_graph(qg, "rnn"), np.stack(xq), out_shape, state="reset")
    np.testing.assert_array_equal(host.reshape(len(xq), -1), np.stack(ours).reshape(len(xq), -1))
    # the int8 model follows the float one
    qy = qg.t(qg.outputs[0]).quant
    deq = np.stack([(o.astype(np.float64) - qy.zp) * qy.s for o in ours])
    ref = np.stack(fresh_runs(g, xs)).astype(np.float64).reshape(deq.shape)
    sqnr = 10 * np.log10(np.sum(ref**2) / max(np.sum((deq - ref) ** 2), 1e-30))
    print(f"{label}: SQNR {sqnr:.1f} dB")
    assert sqnr >= min_sqnr, sqnr


@pytest.mark.parametrize("case", PTQ_CASES, ids=case_id)
def test_ptq_bit_exact_with_tflm_and_host_c(case, tmp_path):
    path = tmp_path / "m.onnx"
    shape = export(case, path)
    assert_ptq_bit_exact(onnx_import.load(path), shape, tmp_path, case_id(case))


def test_carry_differs_from_reset_for_lstm(tmp_path):
    """Without a reset the IR LSTM carries its state into the next sample (TFLM's behaviour): that is why
    ONNX LSTMs must run with state='reset'."""
    path = tmp_path / "m.onnx"
    shape = export(CASES[0], path)
    g = onnx_import.load(path)
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    state = executor.initial_state(g)
    first, second = (executor.run(g, [x], state=state)[0] for _ in range(2))
    assert not np.allclose(first, second)
    np.testing.assert_allclose(fresh_runs(g, [x])[0], first, rtol=0, atol=0)


def _lstm_model(path, **attrs):
    import onnx
    from onnx import TensorProto, helper

    hidden, n_in, seq = 3, 2, 2
    rng = np.random.default_rng(0)
    inits = [helper.make_tensor("W", TensorProto.FLOAT, (1, 4 * hidden, n_in), rng.standard_normal(24).tolist()),
             helper.make_tensor("R", TensorProto.FLOAT, (1, 4 * hidden, hidden), rng.standard_normal(36).tolist())]
    ins = ["x", "W", "R"]
    if attrs.pop("peephole", False):
        inits += [helper.make_tensor("B", TensorProto.FLOAT, (1, 8 * hidden), [0.0] * 24),
                  helper.make_tensor("P", TensorProto.FLOAT, (1, 3 * hidden), [0.1] * 9)]
        ins += ["B", "", "", "", "P"]
    outs = ["Y", "Y_h", "Y_c"] if attrs.pop("use_c", False) else ["Y"]
    node = helper.make_node("LSTM", ins, outs, hidden_size=hidden, **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, (seq, 1, n_in))],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, []) for o in outs], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


@pytest.mark.parametrize("attrs, match", [
    ({"peephole": True}, "peepholes"), ({"direction": "reverse"}, "forward"), ({"clip": 3.0}, "clip"),
    ({"use_c": True}, "Y_c"), ({"activations": ["Sigmoid", "Relu", "Tanh"]}, "activations"),
])
def test_unsupported_lstm_variants_refused_in_one_line(attrs, match, tmp_path):
    path = tmp_path / "m.onnx"
    _lstm_model(path, **attrs)
    with pytest.raises(UnsupportedOpError, match=match) as e:
        onnx_import.load(path)
    assert "\n" not in str(e.value) and "LSTM" in str(e.value)


def _gru_model(path, seq, n_in, hidden, before_reset, bias=True, h0=None, seed=0, batch_first=False):
    """A hand-built ONNX GRU (torch always exports linear_before_reset=1); batch_first: the input is [1, seq, n_in]
    and a Transpose feeds the GRU."""
    import onnx
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array((rng.standard_normal((1, 3 * hidden, n_in)) * 0.8).astype(np.float32), "W"),
             numpy_helper.from_array((rng.standard_normal((1, 3 * hidden, hidden)) * 0.8).astype(np.float32), "R")]
    ins = ["x", "W", "R"]
    if bias:
        inits.append(numpy_helper.from_array((rng.standard_normal((1, 6 * hidden)) * 0.5).astype(np.float32), "B"))
        ins.append("B")
    if h0 is not None:
        inits.append(numpy_helper.from_array(np.full((1, 1, hidden), h0, np.float32), "h0"))
        ins += ([] if bias else [""]) + ["", "h0"]
    nodes = [helper.make_node("GRU", ins, ["Y"], hidden_size=hidden, linear_before_reset=int(before_reset))]
    shape = (1, seq, n_in) if batch_first else (seq, 1, n_in)
    if batch_first:
        nodes.insert(0, helper.make_node("Transpose", ["x_in"], ["x"], perm=[1, 0, 2]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x_in" if batch_first else "x",
                                                                         onnx.TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, (seq, 1, 1, hidden))], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return shape


@pytest.mark.parametrize("before_reset", [0, 1])
@pytest.mark.parametrize("seq, n_in, hidden, bias", [(1, 3, 4, True), (5, 6, 10, True), (3, 2, 5, False)])
def test_gru_linear_before_reset_matches_onnxruntime(before_reset, seq, n_in, hidden, bias, tmp_path):
    path = tmp_path / "g.onnx"
    shape = _gru_model(path, seq, n_in, hidden, before_reset, bias, seed=seq, batch_first=seq == 5)
    g = onnx_import.load(path)
    xs = [np.random.default_rng(i).standard_normal(shape).astype(np.float32) for i in range(SAMPLES)]
    for ours, theirs in zip(fresh_runs(g, xs), ort_outputs_named(path, xs), strict=True):
        np.testing.assert_allclose(ours.reshape(theirs.shape), theirs, rtol=0, atol=1e-4)


@pytest.mark.parametrize("before_reset", [0, 1])
def test_gru_ptq_both_reset_orders(before_reset, tmp_path):
    """A batch-first GRU of either linear_before_reset, int8 bit-exact."""
    path = tmp_path / "g.onnx"
    shape = _gru_model(path, 6, 6, 8, before_reset, seed=11, batch_first=True)
    assert_ptq_bit_exact(onnx_import.load(path), shape, tmp_path, f"GRU lbr={before_reset}")


def ort_outputs_named(path, xs):
    sess = ort.InferenceSession(str(path))
    return [sess.run(None, {sess.get_inputs()[0].name: x})[0] for x in xs]


def test_nonzero_initial_state_refused(tmp_path):
    path = tmp_path / "g.onnx"
    _gru_model(path, 2, 3, 4, 1, h0=0.5)
    with pytest.raises(UnsupportedOpError, match="initial state .* is not zero"):
        onnx_import.load(path)
    _gru_model(path, 2, 3, 4, 1, h0=0.0)  # constant zeros are the omitted state
    assert onnx_import.load(path).ops


def test_int8_onnx_lstm_on_qemu_with_state_reset(tmp_path):
    """A PyTorch LSTM through ONNX and our PTQ on the Cortex-M4 of mps2-an386 (QEMU) with state="reset": every
    sample equals TFLM's run from a reset state (the ONNX semantics)."""
    import shutil

    import mcucompress
    from mcucompress.driver import run_graph_on_board
    from mcucompress.frontend import tflite_writer
    from tests.conftest import TflmSession

    if not shutil.which("qemu-system-arm") or not shutil.which("arm-none-eabi-gcc"):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    path = tmp_path / "m.onnx"
    shape = export(("LSTM", True, 6, 8, 5, "y", 17), path)
    rng = np.random.default_rng(21)
    qg = mcucompress.quantize(onnx_import.load(path), rng.standard_normal((64, *shape[1:])).astype(np.float32))
    xq = rng.integers(-128, 128, (3, *shape)).astype(np.int8)
    report, outputs = run_graph_on_board(qg, xq, "mps2-an386", state="reset")
    assert report["bit_exact"] and report["mismatches"] == 0
    tflm = TflmSession(tflite_writer.to_bytes(qg))
    theirs = []
    for x in xq:
        tflm.interp.reset()
        theirs.append(tflm(x).reshape(-1))
    np.testing.assert_array_equal(outputs.reshape(3, -1), np.stack(theirs))
