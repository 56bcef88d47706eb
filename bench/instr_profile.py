"""Flat profile of a model's inference on a QEMU board: executed instructions per firmware function.

Runs one input (the anchors' kind: a seeded random int8 sample) with QEMU's execution trace on
(mcucompress/harness/profile.py) and prints the functions by executed instructions, beside the firmware's own
per-layer count (SysTick under -icount shift=0). The harness's functions (protocol, CRC, UART, timer reads) are listed
apart. Inlined code counts as its caller. Instructions, not cycles.

Run: python bench/instr_profile.py MODEL [--board mps2-an386] [--top 20]
(not bench/profile.py: a script there would shadow the standard library's `profile` for every bench script)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure this checkout, not an installed copy
from mcucompress.boards import load_board
from mcucompress.codegen.project import compile_graph
from mcucompress.driver import count_mismatches, default_prefix, load, reference_outputs
from mcucompress.errors import McuError
from mcucompress.harness.profile import profile_on_qemu, split_harness


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--top", type=int, default=20)
    a = ap.parse_args()
    try:
        graph = load(a.model)
        compiled = compile_graph(graph, default_prefix(graph))
        x = np.random.default_rng(0).integers(-128, 128, (1, *graph.t(graph.inputs[0]).shape[1:]), dtype=np.int8)
        counts, run = profile_on_qemu(compiled, x, graph.t(graph.outputs[0]).shape, load_board(a.board))
    except McuError as exc:
        print(f"bench/instr_profile.py: {exc}", file=sys.stderr)
        return 2
    exact = count_mismatches(run.outputs, reference_outputs(graph, x)) == 0
    model, harness = split_harness(counts)
    layers = int(run.layer_latency.sum())
    print(f"{Path(a.model).name} on {a.board}: layers {layers:,} instructions (firmware count), profiled "
          f"{sum(model.values()):,} outside the harness; bit-exact: {'yes' if exact else 'NO'}")
    for name, n in sorted(model.items(), key=lambda kv: -kv[1])[:a.top]:
        print(f"{n:12,d}  {100 * n / max(layers, 1):5.1f}%  {name}")
    print(f"harness (protocol, timer reads): {sum(harness.values()):,} instructions")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
