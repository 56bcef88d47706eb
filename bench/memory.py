"""Benchmark: our statically planned arena vs TFLM's measured arena on the MLPerf Tiny int8 models.

Prints bytes side by side. Our arena excludes the model input and output, which live in the caller's
buffers; the column "ours + I/O" adds them back for a like-for-like view of TFLM's figure (TFLM keeps
input and output tensors inside its arena). Run: python bench/memory.py [MODELS_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from mcucompress.codegen.project import compile_graph
from mcucompress.driver import default_prefix, load

# Smallest TFLM arena that works, x86-64 host build (../shared/models/README.md).
TFLM_ARENA = {"kws_ref_model": 24_272, "vww_96_int8": 103_672, "ic_pretrainedResnet_quant": 55_984, "ad01_int8": 4_632}


def main(models_dir: Path) -> int:
    if not models_dir.is_dir():
        print(f"no models at {models_dir}; pass the MLPerf Tiny folder (../shared/models/mlperf_tiny)")
        return 1
    header = f"{'model':<28}{'weights B':>12}{'arena B':>10}{'scratch B':>11}{'I/O B':>8}{'ours+I/O':>10}{'TFLM arena':>12}{'saved':>8}"
    print(header)
    print("-" * len(header))
    for name, tflm in TFLM_ARENA.items():
        path = models_dir / f"{name}.tflite"
        if not path.exists():
            print(f"{name:<28} (missing)")
            continue
        graph = load(path)
        compiled = compile_graph(graph, default_prefix(graph))
        io = sum(graph.t(n).nbytes for n in graph.inputs + graph.outputs)
        arena = compiled.plan.arena_bytes
        saved = 1 - (arena + io) / tflm
        print(f"{name:<28}{compiled.weights_bytes:>12,}{arena:>10,}{compiled.plan.scratch_bytes:>11,}{io:>8,}"
              f"{arena + io:>10,}{tflm:>12,}{saved:>8.0%}")
    return 0


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny"
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
