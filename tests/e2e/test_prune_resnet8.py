"""Post-training pruning goals on MLPerf Tiny ResNet-8 (issue 11), slow: int8 top-1 on the first 2,000 CIFAR-10
test images, the float model pruned with 500 training images (no labels; the issue's protocol: to_npz.py --split train
--n 500 --seed 0) and quantized with our quantizer on the same images, against the dense model quantized the same
way (76.7%).

The CIFAR npz files are made with ../shared/data/cifar10/to_npz.py into .cache/cifar10 (tests/cifar_protocol.py,
reused across runs); the tests skip with a reason when ../shared is absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mcucompress
from mcucompress.analysis import total_cost
from mcucompress.codegen.project import compile_graph
from mcucompress.dataset import quantize_input
from mcucompress.driver import default_prefix
from mcucompress.reference import executor
from tests import cifar_protocol
from tests.e2e.helpers import needs_arm_toolchain_and_qemu

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
MODEL = SHARED / "models" / "mlperf_tiny" / "ic_pretrainedResnet_float.tflite"

pytestmark = pytest.mark.slow


def cifar(split: str, n: int) -> dict:
    data = cifar_protocol.cifar(split, n) if MODEL.exists() else None
    if data is None:
        pytest.skip(f"{cifar_protocol.TO_NPZ} or {MODEL} is absent (../shared not laid beside the repo)")
    return data


def top1(q, x, y) -> float:
    xq = quantize_input(x, q.t(q.inputs[0]))
    out = np.concatenate([executor.run(q, [xq[i:i + 500]])[0] for i in range(0, len(xq), 500)])
    return float(np.mean(out.argmax(axis=1) == np.asarray(y).reshape(-1)))


@pytest.fixture(scope="module")
def setup():
    cal, test = cifar("train", 500), cifar("test", 2000)
    graph = mcucompress.load(MODEL)
    dense = mcucompress.quantize(graph, cal["x"])
    return graph, cal["x"], test["x"], test["y"], top1(dense, test["x"], test["y"]), dense


NOT_MET = "issue 11 goal not met yet (strict: a pass fails, so the marker goes when the goal is met)"


@pytest.mark.parametrize("method,sparsity,recover,points", [
    # measured 72.80% int8 (72.20% quantized with percentile; 71.25% with 1,500 steps and no CutMix, 70.40% with the
    # 300-step distillation at 3e-3, reconstruct 68.0%) against dense 76.7%: -3.9 points
    pytest.param("channels", 0.3, "distill", 2.0, marks=pytest.mark.xfail(reason=NOT_MET, strict=True)),
    # measured 76.25% (-0.45 points) with torch on this machine's two threads, as the suite runs (distillation seeds
    # 1, 2: 75.60%, 76.35%); 75.55% with 300 steps, 75.45% before the student's BatchNorm; reconstruction 75.05%
    pytest.param("unstructured", 0.5, "distill", 1.0),
    # measured 76.05% (-0.65 points) on two threads (seeds 1, 2: 75.30%, 75.40%); 75.25% with 300 steps; before the
    # student's BatchNorm 74.05% on PyTorch 2.13 CPU, 74.65% before the 2:4 positions could move in distillation,
    # 68.65% before the layers 2:4 does not speed up stayed dense
    pytest.param("2:4", None, "distill", 1.5),
])
def test_resnet8_pruning_goal(setup, method, sparsity, recover, points):
    if recover == "distill":
        pytest.importorskip("torch")
    graph, cal, x, y, dense_top1, dense = setup
    q = mcucompress.quantize(mcucompress.prune(graph, cal, method, sparsity, recover).graph, cal)
    assert top1(q, x, y) >= dense_top1 - points / 100
    if method == "channels":
        assert total_cost(q).weight_bytes <= 0.75 * total_cost(dense).weight_bytes
    if method == "unstructured":  # flash as compiled (the sparse format where chosen), against dense compiled alike
        flash = {name: compile_graph(g, default_prefix(g)).weights_bytes
                 for name, g in (("pruned", q), ("dense", dense))}
        assert flash["pruned"] <= 0.75 * flash["dense"]


def test_resnet8_reconstruction_beats_no_recovery_at_half_sparsity(setup):
    graph, cal, x, y, dense_top1, _ = setup
    acc = {rec: top1(mcucompress.quantize(mcucompress.prune(graph, cal, "unstructured", 0.5, rec).graph, cal), x, y)
           for rec in ("none", "reconstruct")}
    assert acc["reconstruct"] >= acc["none"] + 0.10  # measured 75.05% vs 56.85%
    assert acc["reconstruct"] >= dense_top1 - 0.025  # a regression guard at the measured -1.65 points


def test_resnet8_channel_distillation_takes_its_longer_schedule(setup):
    """Removing channels needs a longer, stronger distillation than zeroing weights, with CutMix boxes
    (distill.SCHEDULES): 30% of the MACs removed, int8 (minmax), measured 72.80% (6,000 steps at 1e-2 with CutMix)
    against 71.25% (1,500 steps, flips and shifts only) and 70.40% with 300 steps at 3e-3 (the other methods take
    600 at 3e-3)."""
    pytest.importorskip("torch")
    graph, cal, x, y, dense_top1, _ = setup
    pruned = mcucompress.prune(graph, cal, "channels", 0.3, "distill").graph
    assert top1(mcucompress.quantize(pruned, cal), x, y) >= 0.72


@needs_arm_toolchain_and_qemu
def test_resnet8_half_unstructured_meets_the_flash_goal_at_the_dense_arena(setup, tmp_path):
    """50% unstructured, compiled with no RAM allowed: the 64 -> 64 layer's step stream with 4-bit steps
    (codegen/us_packed.py) and the other pruned layers' bitmasks (codegen/packed.py), the 32 -> 64 layer's filter unpacked
    in two halves of its output channels, take the weights to 0.75x of dense or less in the dense model's arena,
    and the model runs no slower than dense on the emulated Cortex-M4, bit-exact. Measured on the distilled model:
    59,576 B (0.731x), 14,008,600 against 14,187,520 instructions, arena 29,024 B as dense (before the halves:
    62,336 B, 0.765x; 59,572 B took compile --packed-ram 4000)."""
    from mcucompress.driver import reference_outputs
    from mcucompress.harness.target import run_on_board

    graph, cal, x, _, _, dense = setup
    q = mcucompress.quantize(mcucompress.prune(graph, cal, "unstructured", 0.5, "reconstruct").graph, cal)
    xq = quantize_input(x[:1], q.t(q.inputs[0]))
    runs = {}
    for name, g in (("pruned", q), ("dense", dense)):
        compiled = compile_graph(g, default_prefix(g))
        run = run_on_board(compiled, xq, g.t(g.outputs[0]).shape, "mps2-an386", workdir=tmp_path / name)
        np.testing.assert_array_equal(run.outputs.reshape(-1), reference_outputs(g, xq).reshape(-1))
        runs[name] = (compiled, int(np.median(run.latency)))
    assert runs["pruned"][0].plan.arena_bytes <= runs["dense"][0].plan.arena_bytes
    assert "mcc_convolve_packed_s8" in [c.function for c in runs["pruned"][0].calls]
    formats = [c.weight_format for c in runs["pruned"][0].calls]
    assert "unstructured-packed" in formats
    assert runs["pruned"][0].weights_bytes <= 0.75 * runs["dense"][0].weights_bytes
    assert runs["pruned"][1] <= runs["dense"][1]
