"""QAT simulates the int8 model we export: same scales and integer weights, the same predictions (measured),
and the exported .tflite is bit-exact between TFLM, the reference executor and the host C."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import mcucompress
from mcucompress.dataset import quantize_input
from mcucompress.examples import DIGITS_CALIBRATION, DIGITS_FLOAT
from mcucompress.examples.make_digits_models import digits_cnn_net, digits_split
from mcucompress.frontend import load_model
from mcucompress.reference import executor
from mcucompress.torch import export, prepare_qat
from mcucompress.torch.bridge import WEIGHTED, GraphModule
from tests.conftest import TflmSession
from tests.unit.test_codegen_host import host_outputs


def train(module, x, y, epochs=2, lr=1e-3, seed=0):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    module.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(module(xt[idx], logits=True), yt[idx]).backward()
            opt.step()
    module.eval()


@pytest.fixture(scope="module")
def qat_digits():
    x_train, x_test, y_train, y_test = digits_split()
    module = prepare_qat(GraphModule(mcucompress.load(DIGITS_FLOAT)), torch.from_numpy(x_train[:64]),
                         calibration=np.load(DIGITS_CALIBRATION)["x"], observe_steps=30)
    train(module, x_train, y_train)
    return module, x_test, y_test


def test_observers_freeze_and_export_has_the_simulated_quantization(qat_digits):
    module, _, _ = qat_digits
    fq = module.fake_quant
    assert fq.frozen and fq.steps == fq.observe_steps + 1
    q = fq.export_graph()
    for name, (scale, zp) in fq.qparams.items():
        assert (q.t(name).quant.s, q.t(name).quant.zp) == (scale, zp), name
    for op in q.ops:
        if op.kind in WEIGHTED:
            w = q.t(op.inputs[1])
            fake_w, _ = fq.weight(op, module.const(op.inputs[1]), module.const(op.inputs[2]))
            shape = [1] * w.data.ndim
            shape[w.quant.axis] = -1
            np.testing.assert_array_equal(w.data.astype(np.float32) * w.quant.scale.reshape(shape),
                                          fake_w.detach().numpy())


def test_exported_int8_predicts_what_fake_quant_predicted(qat_digits):
    """Measured: the int8 logits are within 2 LSB of the fake-quantized ones, top-1 agrees on >= 99% (539 of 540
    digits when written)."""
    module, x, y = qat_digits
    with torch.no_grad():
        fake = module(torch.from_numpy(x), logits=True).numpy()
    q = module.fake_quant.export_graph()
    logits = executor.run(q, [quantize_input(x, q.t(q.inputs[0]))], keep_all=True)[module.logits_name]
    lq = q.t(module.logits_name).quant
    assert np.abs((logits.astype(np.float32) - lq.zp) * lq.s - fake).max() <= 3 * lq.s
    assert np.mean(fake.argmax(1) == logits.argmax(1)) >= 0.99
    assert abs(np.mean(fake.argmax(1) == y) - np.mean(logits.argmax(1) == y)) <= 0.01
    assert np.mean(logits.argmax(1) == y) >= 0.95


def test_exported_tflite_bit_exact_tflm_reference_host(qat_digits, tmp_path):
    module, x, _ = qat_digits
    path = tmp_path / "qat.tflite"
    export(module, path)
    q = load_model(path)
    assert q.is_quantized
    xs = quantize_input(x[:40], q.t(q.inputs[0]))
    tflm = TflmSession(path)
    ref = np.stack([executor.run(q, [xi[None]])[0][0] for xi in xs])
    np.testing.assert_array_equal(np.stack([tflm(xi[None])[0] for xi in xs]), ref)
    np.testing.assert_array_equal(host_outputs(q, xs, tmp_path).reshape(ref.shape), ref)


def test_pytorch_model_round_trip(tmp_path):
    """A user's own nn.Module (NCHW, ending in softmax): prepare_qat, train, export -> int8 .tflite."""
    x_train, x_test, y_train, y_test = digits_split()
    torch.manual_seed(0)
    net = digits_cnn_net(export=True)
    nchw = np.ascontiguousarray(x_train.transpose(0, 3, 1, 2))
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    for _ in range(12):  # the user's float training (the net ends in softmax: NLL on its log)
        for i in range(0, len(nchw), 64):
            opt.zero_grad()
            out = net(torch.from_numpy(nchw[i:i + 64]))
            torch.nn.functional.nll_loss(torch.log(out + 1e-9), torch.from_numpy(y_train[i:i + 64])).backward()
            opt.step()
    module = prepare_qat(net, torch.from_numpy(nchw[:64]), observe_steps=20)
    assert module.input_layout == "NCHW"
    with torch.no_grad():
        pre = module(torch.from_numpy(nchw[:8]))
    assert pre.shape == (8, 10)
    train(module, nchw, y_train, epochs=1, lr=1e-4)
    export(module, tmp_path / "net.tflite")
    q = load_model(tmp_path / "net.tflite")
    out = executor.run(q, [quantize_input(x_test, q.t(q.inputs[0]))])[0]
    assert np.mean(out.argmax(1) == y_test) >= 0.9
    float_path = tmp_path / "float.tflite"
    export(net, float_path, torch.from_numpy(nchw[:1]))
    g = load_model(float_path)
    with torch.no_grad():
        expect = net.eval()(torch.from_numpy(np.ascontiguousarray(x_test[:16].transpose(0, 3, 1, 2)))).numpy()
    np.testing.assert_allclose(executor.run(g, [x_test[:16]])[0], expect, atol=1e-5)
