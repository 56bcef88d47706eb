"""Benchmark: executed instructions per inference, per MAC, flash and RAM on QEMU boards, beside TFLM.

Latency is executed instructions under ``qemu-system-arm -icount shift=0`` (SysTick ticks x 1e9/clock),
not cycles: QEMU is not cycle-accurate. The TFLM + CMSIS-NN and TFLM reference-kernel figures come from
../shared/anchors/tflm_cmsis_nn_qemu.md (read by bench/anchors.py), measured the same way on the same QEMU, so the columns compare
like for like. RAM is everything the image reserves (.data + .bss incl. arena + stack), flash is code +
constants + .data initial values. Every run is also checked bit-exact against the reference executor. The last
column says whether issue 15's goal holds: at most 0.5x TFLM + CMSIS-NN's instructions on the same core.

Run: python bench/latency.py [--boards mps2-an386 mps2-an500] [--models kws_ref_model ...] [--samples 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from anchors import INSTRUCTIONS_GOAL, anchor_for, load_anchors, verdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure this checkout, not an installed copy
from mcucompress.boards import load_board

HELIUM_PER_MAC = 0.5  # instructions per MAC on the Cortex-M55 with Helium (no TFLM anchor there)
HELIUM_MODELS = ("kws_ref_model", "vww_96_int8", "ic_pretrainedResnet_quant")
from mcucompress.driver import load, run_graph_on_board
from mcucompress.examples import DIGITS_INT8

MODELS_DIR = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny"
MLPERF = ["kws_ref_model", "vww_96_int8", "ic_pretrainedResnet_quant", "ad01_int8"]


def lcg_input(n: int) -> np.ndarray:
    """The anchors' input vector (x = 1664525x + 1013904223 mod 2^32, byte = x >> 24)."""
    x, out = 12345, np.empty(n, np.uint8)
    for i in range(n):
        x = (1664525 * x + 1013904223) & 0xFFFFFFFF
        out[i] = x >> 24
    return out.view(np.int8)


def measure(path: Path, board: str, samples: int) -> dict:
    graph = load(path)
    shape = graph.t(graph.inputs[0]).shape
    rng = np.random.default_rng(0)
    x = np.stack([lcg_input(int(np.prod(shape))).reshape(shape[1:])]
                 + [rng.integers(-128, 128, shape[1:]).astype(np.int8) for _ in range(samples - 1)])
    report, _ = run_graph_on_board(graph, x, board)
    return {"instructions": report["latency"]["median"], "macs": report["macs"],
            "flash": report["memory"]["flash_bytes"], "ram": report["memory"]["ram_bytes"],
            "mismatches": report["mismatches"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", nargs="+", default=["mps2-an386", "mps2-an500", "mps3-an547"])
    ap.add_argument("--models", nargs="+", default=["digits_cnn_int8", *MLPERF])
    ap.add_argument("--samples", type=int, default=3, help="inputs per model: the anchors' LCG vector + random ones")
    args = ap.parse_args(argv)

    anchors = load_anchors()
    if not anchors:
        print("(no ../shared/anchors beside the checkout: TFLM columns left empty)")
    header = (f"{'model':<26}{'board':<12}{'instr/inf':>12}{'instr/MAC':>10}{'flash B':>10}{'RAM B':>9}{'exact':>6}"
              f"  | {'TFLM+CMSIS-NN instr':>19}{'instr/MAC':>10}{'ratio':>7}{'<=0.5x':>7}"
              f" | {'TFLM ref instr':>15}")
    print("latency = executed instructions under QEMU -icount shift=0 (median over samples), not cycles")
    print(header)
    print("-" * len(header))
    for name in args.models:
        path = DIGITS_INT8 if name == "digits_cnn_int8" else MODELS_DIR / f"{name}.tflite"
        if not path.exists():
            print(f"{name:<26}(missing: {path})")
            continue
        for board in args.boards:
            r = measure(path, board, args.samples)
            line = (f"{name:<26}{board:<12}{r['instructions']:>12,.0f}{r['instructions'] / r['macs']:>10.2f}"
                    f"{r['flash']:>10,}{r['ram']:>9,}{'yes' if r['mismatches'] == 0 else 'NO':>6}")
            spec = load_board(board)
            cpu = spec.cpu
            anchor = anchor_for(anchors, name, cpu)
            per_mac = r["instructions"] / r["macs"]
            if spec.mve and name in HELIUM_MODELS:  # issue 15: Helium at most 0.5 instructions per MAC
                line += f"  | {'Helium goal <= 0.5/MAC':>29}{verdict(per_mac <= HELIUM_PER_MAC):>7}"
            elif anchor:
                ratio = r["instructions"] / anchor.instructions
                line += (f"  | {anchor.instructions:>19,}{anchor.instructions / anchor.macs:>10.2f}{ratio:>6.2f}x"
                         f"{verdict(ratio <= INSTRUCTIONS_GOAL):>7}")
            else:
                line += f"  | {'-':>19}{'':>10}{'':>7}{'':>7}"
            ref = anchors.get((name, "M4 reference kernels")) if cpu == "cortex-m4" else None
            line += f" | {ref.instructions:>15,}" if ref else f" | {'-':>15}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
