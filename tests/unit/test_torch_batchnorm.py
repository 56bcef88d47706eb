"""finetune --batchnorm: BatchNorm inserted as the identity, trained with batch statistics, folded on export."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import mcucompress
from mcucompress.cli import main
from mcucompress.examples import DIGITS_FLOAT
from mcucompress.examples.make_digits_models import digits_split
from mcucompress.reference import executor
from mcucompress.torch import Pruner
from mcucompress.torch.batchnorm import insert_batchnorm, normalizable_ops
from mcucompress.torch.bridge import GraphModule
from mcucompress.torch.train import FinetuneConfig, finetune


@pytest.fixture(scope="module")
def digits():
    x_train, x_test, y_train, y_test = digits_split()
    return x_train, y_train, x_test, y_test


def test_inserted_batchnorm_is_the_identity_until_trained(digits):
    x, _, x_test, _ = digits
    module = GraphModule(mcucompress.load(DIGITS_FLOAT)).eval()
    with torch.no_grad():
        before = module(torch.from_numpy(x_test[:64]), logits=True)
    assert insert_batchnorm(module, x[:300]) == len(normalizable_ops(module)) == 3
    module.eval()
    with torch.no_grad():
        after = module(torch.from_numpy(x_test[:64]), logits=True)
    assert float((after - before).abs().max()) <= 1e-5 * float(before.abs().max())


def test_trained_batchnorm_folds_into_the_exported_weights_with_zeros_kept(digits):
    """After training with masks and BatchNorm, the exported graph (no BatchNorm op) computes what the module
    computes in eval mode (reference executor), and every masked weight is an exact zero in it."""
    x, y, x_test, _ = digits
    module = GraphModule(mcucompress.load(DIGITS_FLOAT))
    pruner = Pruner(module, method="unstructured", sparsity=0.6)
    insert_batchnorm(module, x[:300])
    opt = torch.optim.Adam(module.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    module.train()
    for i in range(40):
        idx = torch.arange(i * 32, i * 32 + 32) % len(xt)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(module(xt[idx], logits=True), yt[idx]).backward()
        opt.step()
        pruner.step()
    module.eval()
    stats = [bn.running_mean.clone() for bn in module.norms.values()]
    with torch.no_grad():
        expected = module(torch.from_numpy(x_test[:64])).numpy()
    graph = module.to_graph()
    assert all(torch.equal(a, bn.running_mean) for a, bn in zip(stats, module.norms.values()))  # left as they were
    assert {op.kind for op in graph.ops} == {op.kind for op in module.graph.ops}
    out = executor.run(graph, [x_test[:64]])[0]
    np.testing.assert_allclose(out, expected, atol=2e-5)
    for name, mask in module.masks.items():
        assert np.all(graph.t(name).data[mask.numpy() == 0] == 0), name
    scales = [float(bn.weight.detach().abs().mean() / bn.running_var.sqrt().mean()) for bn in module.norms.values()]
    assert any(abs(s - 1) > 1e-3 for s in scales)  # the training moved the BatchNorms off the identity


def test_finetune_with_batchnorm_learns_and_refuses_qat(digits, tmp_path, capsys):
    x, y, x_test, y_test = digits
    np.savez(tmp_path / "train.npz", x=x, y=y)
    out = tmp_path / "bn.tflite"
    logs = []
    cfg = FinetuneConfig(epochs=2, batch_size=32, lr=1e-2, seed=0, batchnorm=True, prune="unstructured",
                         sparsity=0.8, schedule="gradual")
    finetune(DIGITS_FLOAT, tmp_path / "train.npz", out, cfg, progress=False, log=logs.append)
    assert any(m.startswith("batchnorm: 3 convolutions") for m in logs), logs
    graph = mcucompress.load(out)
    q = mcucompress.quantize(graph, x[:200])
    from mcucompress.dataset import quantize_input

    top1 = float(np.mean(executor.run(q, [quantize_input(x_test, q.t(q.inputs[0]))])[0].argmax(1) == y_test))
    assert top1 >= 0.9, top1
    rc = main(["finetune", str(DIGITS_FLOAT), "--data", str(tmp_path / "train.npz"), "-o",
               str(tmp_path / "bad.tflite"), "--batchnorm", "--qat"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "--batchnorm with --qat" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "bad.tflite").exists()


def test_magnitude_pruning_ranks_the_weights_with_batchnorm_folded(digits):
    """With BatchNorm a channel's raw weight scale says nothing: the Pruner ranks the weights as exported, so a
    channel whose BatchNorm scales it down 1000x loses its weights first."""
    x, *_ = digits
    module = GraphModule(mcucompress.load(DIGITS_FLOAT))
    insert_batchnorm(module, x[:300])
    op = [o for o in normalizable_ops(module) if o.kind == "CONV_2D"][-1]
    with torch.no_grad():
        module.norms[module.norm_key(op)].weight[0] *= 1e-3
    pruner = Pruner(module, method="unstructured", sparsity=0.3, allocation="uniform")
    mask = pruner.masks[op.inputs[1]]
    assert float(mask[0].sum()) == 0 and float(mask[1:].mean()) > 0.6
