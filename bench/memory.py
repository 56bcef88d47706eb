"""Benchmark: firmware RAM, code size and the planned arena on the MLPerf Tiny int8 models, beside TFLM.

For each model and board the harness image is built (not run): RAM is everything the image reserves
(.data + .bss incl. the arena + stack), as ../shared/anchors counts TFLM's; "code B" is flash minus weight
bytes (kernels, runtime, harness, requantization tables, libc). The columns after "|" are TFLM + CMSIS-NN's
figures on the same core from the anchors, and whether issue 15's goals hold: RAM at most 0.6x TFLM's,
code at most 16 KB. The arena columns compare our planned arena (the model input and output inside it, as
TFLM keeps them: compile --io arena) with TFLM's smallest working arena.

Run: python bench/memory.py [--boards mps2-an386 mps2-an500] [--models kws_ref_model ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from anchors import CODE_GOAL_BYTES, RAM_GOAL, anchor_for, load_anchors, verdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure this checkout, not an installed copy
from mcucompress.boards import load_board
from mcucompress.codegen.project import compile_graph, write_project
from mcucompress.driver import default_prefix, load
from mcucompress.harness.firmware import build_firmware

MODELS_DIR = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny"
MLPERF = ["kws_ref_model", "vww_96_int8", "ic_pretrainedResnet_quant", "ad01_int8"]


def measure(path: Path, board_name: str) -> dict:
    graph = load(path)
    board = load_board(board_name)
    compiled = compile_graph(graph, default_prefix(graph), dsp=board.dsp, mve=board.mve)
    with tempfile.TemporaryDirectory() as tmp:
        project = write_project(compiled, Path(tmp) / "project")
        firmware = build_firmware(project, board, compiled.prefix, build_dir=Path(tmp) / "build")
    return {"ram": firmware.ram_bytes, "code": firmware.flash_bytes - compiled.weights_bytes,
            "weights": compiled.weights_bytes, "arena": compiled.plan.arena_bytes}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", nargs="+", default=["mps2-an386", "mps2-an500"])
    ap.add_argument("--models", nargs="+", default=MLPERF)
    args = ap.parse_args(argv)
    anchors = load_anchors()
    if not anchors:
        print("(no ../shared/anchors beside the checkout: TFLM columns left empty)")
    header = (f"{'model':<26}{'board':<12}{'RAM B':>9}{'code B':>9}{'weights B':>11}{'arena B':>10}"
              f"  | {'TFLM RAM':>9}{'ratio':>7}{'<=0.6x':>7}{'TFLM code':>10}{'<=16KB':>7}{'TFLM arena':>11}")
    print(header)
    print("-" * len(header))
    for name in args.models:
        path = MODELS_DIR / f"{name}.tflite"
        if not path.exists():
            print(f"{name:<26}(missing: {path})")
            continue
        for board in args.boards:
            r = measure(path, board)
            line = (f"{name:<26}{board:<12}{r['ram']:>9,}{r['code']:>9,}{r['weights']:>11,}"
                    f"{r['arena']:>10,}")
            anchor = anchor_for(anchors, name, load_board(board).cpu)
            code_ok = verdict(r["code"] <= CODE_GOAL_BYTES)
            if anchor:
                ratio = r["ram"] / anchor.ram_bytes
                line += (f"  | {anchor.ram_bytes:>9,}{ratio:>6.2f}x{verdict(ratio <= RAM_GOAL):>7}"
                         f"{anchor.code_const_bytes:>10,}{code_ok:>7}{anchor.arena_bytes:>11,}")
            else:
                line += f"  | {'-':>9}{'':>7}{'':>7}{'-':>10}{code_ok:>7}{'-':>11}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
