"""Benchmark: executed instructions per inference, per MAC, flash and RAM on QEMU boards, beside TFLM.

Latency is executed instructions under ``qemu-system-arm -icount shift=0`` (SysTick ticks x 1e9/clock),
not cycles: QEMU is not cycle-accurate. The TFLM + CMSIS-NN and TFLM reference-kernel figures come from
../shared/anchors/tflm_cmsis_nn_qemu.md, measured the same way on the same QEMU, so the columns compare
like for like. RAM is everything the image reserves (.data + .bss incl. arena + stack), flash is code +
constants + .data initial values. Every run is also checked bit-exact against the reference executor.

Run: python bench/latency.py [--boards mps2-an386 mps2-an500] [--models kws_ref_model ...] [--samples 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mcucompress.driver import load, run_graph_on_board
from mcucompress.examples import DIGITS_INT8

MODELS_DIR = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny"
MLPERF = ["kws_ref_model", "vww_96_int8", "ic_pretrainedResnet_quant", "ad01_int8"]
# (instructions / inference, RAM B, flash B) from the anchors file, by (model, cpu): CMSIS-NN, then reference
TFLM_CMSIS = {("kws_ref_model", "m4"): (7_699_760, 25_328, 109_612), ("kws_ref_model", "m7"): (7_645_560, 25_304, 107_992),
              ("vww_96_int8", "m4"): (24_101_560, 103_216, 388_996), ("vww_96_int8", "m7"): (24_025_200, 103_192, 387_344),
              ("ic_pretrainedResnet_quant", "m4"): (29_863_160, 57_504, 151_976),
              ("ic_pretrainedResnet_quant", "m7"): (30_026_000, 57_480, 150_576),
              ("ad01_int8", "m4"): (582_880, 4_152, 306_404), ("ad01_int8", "m7"): (583_200, 4_152, 303_908)}
TFLM_REF_M4 = {"kws_ref_model": 43_042_480, "vww_96_int8": 100_250_600, "ic_pretrainedResnet_quant": 107_404_920,
               "ad01_int8": 1_952_320}
CPU_OF_BOARD = {"mps2-an385": "m3", "mps2-an386": "m4", "mps2-an500": "m7", "mps2-an505": "m33"}


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
    ap.add_argument("--boards", nargs="+", default=["mps2-an386", "mps2-an500"])
    ap.add_argument("--models", nargs="+", default=["digits_cnn_int8", *MLPERF])
    ap.add_argument("--samples", type=int, default=3, help="inputs per model: the anchors' LCG vector + random ones")
    args = ap.parse_args(argv)

    header = (f"{'model':<26}{'board':<12}{'instr/inf':>12}{'instr/MAC':>10}{'flash B':>10}{'RAM B':>9}{'exact':>6}"
              f"  | {'TFLM+CMSIS-NN instr':>19}{'instr/MAC':>10}{'flash B':>10}{'RAM B':>9}{'speedup':>8}"
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
            anchor = TFLM_CMSIS.get((name, CPU_OF_BOARD.get(board)))
            if anchor:
                instr, ram, flash = anchor
                line += (f"  | {instr:>19,}{instr / r['macs']:>10.2f}{flash:>10,}{ram:>9,}"
                         f"{instr / r['instructions']:>7.2f}x")
            else:
                line += f"  | {'-':>19}{'':>10}{'':>10}{'':>9}{'':>8}"
            ref = TFLM_REF_M4.get(name) if CPU_OF_BOARD.get(board) == "m4" else None
            line += f" | {ref:>15,}" if ref else f" | {'-':>15}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
