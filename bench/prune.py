"""Pruning benchmark (a script, not a test): MLPerf Tiny ResNet-8 pruned per method, sparsity and recovery.

For each row: top-1 of the int8 model on the first 2,000 CIFAR-10 test images (reference executor, which is
bit-exact with our C), weight bytes of the int8 model's tensors and of its compiled formats (sparse, packed or dense
per layer, as `compile` chooses them), and executed instructions per inference on
mps2-an386 in QEMU (median of a few samples). Float pruned models are quantized with our quantizer on the
same 500 calibration images as the dense baseline: the issue's protocol, 500 training images drawn with
to_npz.py --seed 0 (tests/cifar_protocol.py, cached in .cache/cifar10), with the same calibration method
(`--calibration-method`, default minmax; percentile clips the pruned models' activation outliers: ResNet-8 2:4
distill 76.05 -> 75.65%, 50% unstructured distill 76.25 -> 76.05% with torch on two threads (distillation seeds 1 and 2:
75.30 -> 75.85% and 75.40 -> 76.20%; 75.60 -> 75.50% and 76.35 -> 76.05%), dense 76.70% either way; before the
distillation's student trained with BatchNorm 74.05 -> 75.20% and 75.45 -> 75.65%).

usage: python bench/prune.py [--methods channels,unstructured,2:4,1:4] [--sparsities 0.3,0.5,0.7,0.9]
                             [--recover none,bias,reconstruct,distill] [--no-qemu | --qemu-for LIST] [--n-test 2000]
                             [--calibration-method minmax|percentile|...] [--packed-ram BYTES]

--qemu-for "channels 0.3 distill,2:4 - distill" measures instructions only for those rows (QEMU is slow).
--packed-ram BYTES compiles the pruned models as `compile --packed-ram` does: more flash saved for RAM (the arena
column). ResNet-8, unstructured 0.5 distill: 59,576 compiled weight bytes (0.731x of dense's 81,528) in dense's
arena (29,024 B), 14.01M instructions (dense 14.19M); --packed-ram 12000: 57,042 B (0.700x), arena 36,992 B.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests/cifar_protocol.py
SHARED = REPO.parent / "shared"
MODEL = SHARED / "models" / "mlperf_tiny" / "ic_pretrainedResnet_float.tflite"

from tests import cifar_protocol


def cifar(split: str, n: int) -> dict:
    data = cifar_protocol.cifar(split, n)
    if data is None:
        raise SystemExit(f"{cifar_protocol.TO_NPZ} is absent: lay ../shared beside the repository")
    return data


def top1(graph, x, y) -> float:
    from mcucompress.dataset import quantize_input
    from mcucompress.reference import executor

    xq = quantize_input(x, graph.t(graph.inputs[0]))
    out = np.concatenate([executor.run(graph, [xq[i:i + 500]])[0] for i in range(0, len(xq), 500)])
    return float(np.mean(out.argmax(axis=1) == y))


def compiled(graph, packed_ram: int):
    """The model compiled for the DSP target, with the formats compile chooses (sparse, packed, dense) and
    `compile --packed-ram`."""
    from mcucompress.codegen.project import compile_graph
    from mcucompress.driver import default_prefix

    return compile_graph(graph, default_prefix(graph), packed_ram=packed_ram)


def instructions(graph, model, x) -> int | None:
    from mcucompress.dataset import quantize_input
    from mcucompress.driver import reference_outputs
    from mcucompress.harness.target import run_on_board

    xq = quantize_input(x, graph.t(graph.inputs[0]))
    run = run_on_board(model, xq, graph.t(graph.outputs[0]).shape, "mps2-an386")
    assert np.array_equal(run.outputs.reshape(-1), reference_outputs(graph, xq).reshape(-1)), \
        "firmware differs from the reference executor"
    return int(np.median(run.latency))


def main() -> int:
    import mcucompress
    from mcucompress.analysis import total_cost

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default="channels,unstructured,2:4,1:4")
    ap.add_argument("--sparsities", default="0.3,0.5,0.7,0.9")
    ap.add_argument("--recover", default="none,bias,reconstruct")
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--no-qemu", action="store_true", help="skip the instruction counts")
    ap.add_argument("--qemu-for", default=None, help="comma-separated 'method sparsity recovery' rows to run in QEMU")
    ap.add_argument("--calibration-method", default="minmax", help="quantize's, for the dense and every pruned model")
    ap.add_argument("--packed-ram", type=int, default=0,
                    help="compile --packed-ram for the pruned models (the arena may grow by that many bytes)")
    a = ap.parse_args()
    if not MODEL.exists():
        print(f"{MODEL} is absent: lay ../shared beside the repository", file=sys.stderr)
        return 2
    cal, test = cifar("train", 500), cifar("test", a.n_test)
    graph = mcucompress.load(MODEL)
    dense = mcucompress.quantize(graph, cal["x"], a.calibration_method)

    qemu_rows = None if a.qemu_for is None else {r.strip() for r in a.qemu_for.split(",")}

    def row(name: str, q) -> None:
        acc = top1(q, test["x"], test["y"])
        wanted = not a.no_qemu and (qemu_rows is None or name in qemu_rows or name == "dense int8")
        model = compiled(q, 0 if name == "dense int8" else a.packed_ram)
        instr = instructions(q, model, test["x"][:3]) if wanted else None
        print(f"| {name} | {100 * acc:.2f} | {total_cost(q).weight_bytes:,} | {model.weights_bytes:,} | "
              f"{model.plan.arena_bytes:,} | {instr if instr is None else f'{instr:,}'} |", flush=True)

    print("| model | top-1 % (int8) | weight bytes (tensors) | weight bytes (compiled) | arena bytes "
          "| M4 instructions |\n|---|---:|---:|---:|---:|---:|")
    row("dense int8", dense)
    for method in a.methods.split(","):
        sparsities = ["-"] if ":" in method else a.sparsities.split(",")
        for s in sparsities:
            for rec in a.recover.split(","):
                result = mcucompress.prune(graph, cal["x"], method, None if s == "-" else float(s), rec)
                row(f"{method} {s} {rec}", mcucompress.quantize(result.graph, cal["x"], a.calibration_method))
    return 0


if __name__ == "__main__":
    sys.exit(main())
