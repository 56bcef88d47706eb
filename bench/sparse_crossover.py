"""Benchmark: dense versus N:M sparse kernels per kernel kind on QEMU, their crossover, and the cost model's fit.

For each kernel kind (3x3 conv, 1x1 conv, depthwise 3x3, fully connected) a chain of layers of several
shapes is built with random int8 weights, then zeroed 2:4 and 1:4 by magnitude (tests/sparse_graphs.py),
compiled with each format forced (`compile_graph(..., sparse_kernels="2:4")`) and run on mps2-an386 in QEMU;
per-layer latency = executed instructions (-icount shift=0, SysTick x 40). Every run is checked bit-exact
against the reference executor. The table prints instructions per layer and format and the crossover: the
lowest sparsity whose format beats dense (2:4 = 50%, 1:4 = 75%; depthwise layers have no sparse kernel and
stay dense, so their crossover is "none").

--fit prints least-squares constants for mcucompress/codegen/sparse.py's COST table from these runs
(plus the MLPerf ResNet-8 layers when ../shared is present), and the model's error per layer.

--unstructured measures the unstructured kernels instead (mcc_convolve_us_s8, mcc_fully_connected_us_s8):
the 3x3, 1x1 and FC chains zeroed by magnitude at 30-90% sparsity (tests/sparse_graphs.py), the format
forced, against dense; prints per-layer instructions and ratios, the crossover sparsity per layer (linear
interpolation of the ratio between the measured sparsities) and per kernel kind, and with --fit the
least-squares constants of codegen/unstructured.py's COST (plus ResNet-8's layers at 50/70/90%).

Run: python bench/sparse_crossover.py [--unstructured] [--fit] [--board mps2-an386]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ helpers (graph builders)

import itertools

from mcucompress.codegen import sparse, unstructured
from mcucompress.codegen.project import compile_graph
from mcucompress.driver import count_mismatches, default_prefix, reference_outputs
from mcucompress.harness.target import run_on_board
from mcucompress.ir import ops as irops
from tests import sparse_graphs
from tests.random_graphs import Builder, _weighted_op

RESNET = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny" / "ic_pretrainedResnet_quant.tflite"
# (input H=W, channels in -> out) per layer of each chain; 3x3 layers keep the size (SAME padding)
CHAINS = {
    "3x3": (16, [8, 16, 32, 64, 16]),
    "1x1": (16, [16, 32, 64, 16, 128]),
    "depthwise": (16, [32, 32]),
    "fc": (1, [64, 256, 128, 32, 10]),
}


def chain_graph(kind: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    hw, channels = CHAINS[kind]
    b = Builder(rng, f"bench_{kind.replace('x', '_')}")
    x = b.input((1, hw, hw, channels[0]) if kind != "fc" else (1, channels[0]), scale=0.05, zp=-3)
    for cin, cout in itertools.pairwise(channels):
        if kind == "fc":
            inputs, y = _weighted_op(b, x, (cout, cin), cout, cin, 0, True, "RELU", (1, cout), None)
            x = b.op("FULLY_CONNECTED", inputs, y, irops.FullyConnectedAttrs("RELU"))
        elif kind == "depthwise":
            inputs, y = _weighted_op(b, x, (1, 3, 3, cin), cin, 9, 3, True, "RELU", (1, hw, hw, cin), None)
            x = b.op("DEPTHWISE_CONV_2D", inputs, y, irops.DepthwiseConv2DAttrs(1, 1, 1, 1, 1, 1, 1, 1, "RELU", 1))
        else:
            k = 3 if kind == "3x3" else 1
            p = k // 2
            inputs, y = _weighted_op(b, x, (cout, k, k, cin), cout, k * k * cin, 0, True, "RELU", (1, hw, hw, cout), None)
            x = b.op("CONV_2D", inputs, y, irops.Conv2DAttrs(1, 1, 1, 1, p, p, p, p, "RELU"))
    return b.finish(x)


def measure(graph, fmt: str, board: str) -> tuple[list, list[float]]:
    """(kernel calls, per-layer instructions) of `graph` compiled with `fmt` forced."""
    compiled = compile_graph(graph, default_prefix(graph), sparse_kernels=fmt)
    shape = graph.t(graph.inputs[0]).shape
    x = np.random.default_rng(1).integers(-128, 128, (1,) + shape[1:], dtype=np.int8)
    run = run_on_board(compiled, x, graph.t(graph.outputs[0]).shape, board)
    if count_mismatches(run.outputs, reference_outputs(graph, x)):
        raise SystemExit(f"{graph.name} {fmt}: NOT bit-exact")
    return compiled.calls, list(run.layer_latency.mean(axis=0))


def by_op(measured: tuple[list, list[float]]) -> dict[str, tuple]:
    """measure()'s (calls, instructions) by op name: compile may run the ops in another order than the graph's."""
    calls, ticks = measured
    return {c.op_name: (c, t) for c, t in zip(calls, ticks)}


def features(graph, op, fmt: str) -> tuple[str, list[float]]:
    """The cost-model key and feature vector of one layer (see sparse.dense_cost / nm_cost)."""
    s = sparse.layer_shape(graph, op)
    if fmt == "dense":
        return f"{s.kind}_dense", [s.rows * s.k * s.cout, s.rows * s.k, s.rows * s.cout, 1.0]
    group = sparse.NM_GROUPS[fmt]
    if group == 4 and s.row_tables is not None:  # the row tables (sparse.row_work)
        return "conv_nm4_rows", sparse.row_work(s)
    groups = -(-s.k // group)
    entries = groups + (groups & 1)
    rows = -(-s.rows // sparse.PIX) * sparse.PIX if s.kind == "conv" else s.rows
    return f"{s.kind}_nm{group}", [rows * groups, rows * s.cout * entries, s.rows * s.cout, 1.0]


SPARSITIES = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9)


def us_features(graph, op) -> tuple[str, list[float]]:
    """The unstructured cost-model key and features of one layer (codegen/unstructured.py)."""
    s = sparse.layer_shape(graph, op)
    q = unstructured.quads(graph.t(op.inputs[1]).data, unstructured.stride_for(s.kind, s.rows))
    cin = graph.t(op.inputs[0]).shape[-1] if op.kind == "CONV_2D" else s.k
    return unstructured.features(s.kind, s.rows, s.k, s.cout, int(q.sum()), cin)


def fit(samples: dict, names: list[str]) -> None:
    """Least squares on relative error; features that are never used or come out negative are dropped."""
    for key, rows in sorted(samples.items()):
        a = np.array([f for f, _ in rows])
        y = np.array([t for _, t in rows])
        active = [j for j in range(a.shape[1]) if np.any(a[:, j])]
        while True:
            c, *_ = np.linalg.lstsq(a[:, active] / y[:, None], np.ones_like(y), rcond=None)
            if np.all(c >= 0):
                break
            active.pop(int(np.argmin(c)))
        coef = np.zeros(a.shape[1])
        coef[active] = c
        err = np.abs(a @ coef - y) / y
        print(f'    "{key}": {{' + ", ".join(f'"{n}": {coef[j]:.3f}' for j, n in enumerate(names) if j in active)
              + f"}},  # {len(rows)} layers, max error {err.max():.1%}")
        for j in np.argsort(-err)[:3]:
            print(f"      error {err[j]:.1%}: measured {y[j]:,.0f}, features " + ", ".join(f"{v:g}" for v in a[j]))


def crossover(ratios: list[tuple[float, float]]) -> float | None:
    """Lowest sparsity where the ratio (sparse / dense) falls below 1, linearly interpolated (negative: at or
    below the lowest sparsity measured)."""
    prev = None
    for s, r in ratios:
        if r < 1:
            if prev is None:
                return -s
            (s0, r0) = prev
            return s0 + (s - s0) * (r0 - 1) / (r0 - r)
        prev = (s, r)
    return None


def main_unstructured(args) -> int:
    samples: dict[str, list[tuple[list[float], float]]] = {}
    sources = [(kind, chain_graph(kind)) for kind in ("3x3", "1x1", "fc")]
    sparsities = SPARSITIES
    if args.fit and RESNET.exists():
        from mcucompress.driver import load

        sources.append(("resnet8", load(RESNET)))
    print("instructions per layer on", args.board, "(QEMU -icount shift=0), every run bit-exact;"
          " unstructured (forced) / dense")
    head = "".join(f"{f'{round(100 * s)}%':>16}" for s in sparsities)
    print(f"{'kind':<9}{'layer':<20}{'dense':>11}{head}  crossover")
    per_kind: dict[str, list[float | None]] = {}
    for kind, base in sources:
        levels = sparsities if kind != "resnet8" else (0.5, 0.7, 0.9)
        dense = by_op(measure(base, "dense", args.board))
        runs = {}
        for sp in levels:
            g = sparse_graphs.unstructured(base, sp)
            runs[sp] = (g, by_op(measure(g, unstructured.FORMAT, args.board)))
        for i, op in enumerate(base.ops):
            if op.kind not in ("CONV_2D", "FULLY_CONNECTED"):
                continue
            ratios, cells = [], []
            d = dense[op.name][1]
            for sp in levels:
                g, measured = runs[sp]
                call, tick = measured[op.name]
                if call.weight_format != unstructured.FORMAT:
                    cells.append(f"{'-':>16}")
                    continue
                key, f = us_features(g, g.ops[i])
                samples.setdefault(key, []).append((f, tick))
                ratios.append((sp, tick / d))
                cells.append(f"{tick:>10,.0f} {tick / d:>4.2f}")
            cross = crossover(ratios)
            per_kind.setdefault(kind, []).append(cross)
            w = base.t(op.inputs[1]).shape
            label = op.kind[:4] + " " + "x".join(map(str, w))
            shown = "none" if cross is None else f"<={-cross:.0%}" if cross < 0 else f"{cross:.0%}"
            print(f"{kind:<9}{label:<20}{d:>11,.0f}{''.join(cells)}  {shown}", flush=True)
    print("\ncrossover sparsity per kernel kind (unstructured beats dense from; per layer above, then the worst):")
    for kind, crosses in per_kind.items():
        show = lambda c: "none" if c is None else f"<={-c:.0%}" if c < 0 else f"{c:.0%}"
        shown = ", ".join(show(c) for c in crosses)
        worst = "none" if any(c is None for c in crosses) else show(max(crosses, key=abs))
        print(f"  {kind:<9} {shown}   (worst: {worst})")
    if args.fit:
        print("\nleast-squares COST constants, relative error (codegen/unstructured.py):")
        fit(samples, unstructured.FEATURES)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--fit", action="store_true", help="print least-squares COST constants")
    ap.add_argument("--unstructured", action="store_true", help="the unstructured kernels at 30-90%% sparsity")
    args = ap.parse_args(argv)
    if args.unstructured:
        return main_unstructured(args)
    samples: dict[str, list[tuple[list[float], float]]] = {}
    print("instructions per layer on", args.board, "(QEMU -icount shift=0), every run bit-exact")
    print(f"{'kind':<10}{'layer':<22}{'dense':>11}{'2:4':>11}{'ratio':>7}{'1:4':>11}{'ratio':>7}  crossover")
    summary = {}
    sources = [(kind, chain_graph(kind)) for kind in CHAINS]
    if args.fit and RESNET.exists():
        from mcucompress.driver import load

        sources.append(("resnet8", load(RESNET)))
    for kind, base in sources:
        graphs = {"dense": base, "2:4": sparse_graphs.nm(base, 2, 4), "1:4": sparse_graphs.nm(base, 1, 4)}
        lat = {}
        for fmt, g in graphs.items():
            lat[fmt] = (by_op(measure(g, fmt, args.board)), g)
        for i, op in enumerate(base.ops):
            if op.kind not in ("CONV_2D", "FULLY_CONNECTED", "DEPTHWISE_CONV_2D"):
                continue
            row = {}
            for fmt, (by_name, g) in lat.items():
                call, tick = by_name[op.name]
                used = call.weight_format or "dense"
                row[fmt] = tick if used == fmt else None
                if op.kind != "DEPTHWISE_CONV_2D" and row[fmt] is not None:
                    key, f = features(g, g.ops[i], fmt)
                    samples.setdefault(key, []).append((f, tick))
            w = base.t(op.inputs[1]).shape
            d = row["dense"]
            r24 = row["2:4"] / d if row["2:4"] else None
            r14 = row["1:4"] / d if row["1:4"] else None
            cross = "50% (2:4)" if r24 and r24 < 1 else "75% (1:4)" if r14 and r14 < 1 else "none"
            summary.setdefault(kind, []).append(cross)
            fmt_n = lambda v: f"{v:>11,.0f}" if v else f"{'-':>11}"
            fmt_r = lambda v: f"{v:>7.2f}" if v else f"{'-':>7}"
            print(f"{kind:<10}{op.kind[:4] + ' ' + 'x'.join(map(str, w)):<22}{fmt_n(d)}{fmt_n(row['2:4'])}{fmt_r(r24)}"
                  f"{fmt_n(row['1:4'])}{fmt_r(r14)}  {cross}", flush=True)
    print("\ncrossover sparsity per kernel kind (lowest sparsity whose N:M kernel beats dense, per layer above):")
    for kind, crosses in summary.items():
        print(f"  {kind:<10} {', '.join(crosses)}")
    print("  unstructured zeros: see --unstructured (mcc_convolve_us_s8 / mcc_fully_connected_us_s8)")
    if args.fit:
        print("\nleast-squares COST constants, relative error (codegen/sparse.py):")
        names = {"dense": ["mac", "col", "out", "call"], "nm": ["group", "entry", "out", "call"],
                 "rows": ["entry", "build", "out", "call"]}
        for key, rows in sorted(samples.items()):
            a = np.array([f for f, _ in rows])
            y = np.array([t for _, t in rows])
            coef, *_ = np.linalg.lstsq(a / y[:, None], np.ones_like(y), rcond=None)  # relative error
            err = np.abs(a @ coef - y) / y
            labels = names["dense" if key.endswith("dense") else "rows" if key.endswith("rows") else "nm"]
            print(f'    "{key}": {{' + ", ".join(f'"{n}": {c:.3f}' for n, c in zip(labels, coef))
                  + f"}},  # {len(rows)} layers, max error {err.max():.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
