"""`python -m tests.fuzz --cases N --jobs J`: a fuzz campaign over the bundled models (and --seed-dir)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tests.fuzz.campaign import BUNDLED, campaign, load_seeds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    p.add_argument("--cases", type=int, default=10000)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="campaign seed: case n of seed s is always the same mutant")
    p.add_argument("--start", type=int, default=0, help="first case number")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per case before it counts as a hang")
    p.add_argument("--compile-every", type=int, default=50, help="every n-th case that loads also compiles")
    p.add_argument("--seed-dir", action="append", default=[], help="more seed models (*.tflite, *.onnx)")
    p.add_argument("--save", type=Path, help="write the mutant of every finding here")
    p.add_argument("--json", type=Path, help="write the report as JSON")
    p.add_argument("--progress", type=int, default=10000, help="print a line every n cases")
    args = p.parse_args(argv)
    paths = list(BUNDLED) + [f for d in args.seed_dir for f in sorted(Path(d).iterdir()) if f.suffix in (".tflite", ".onnx")]
    report = campaign(load_seeds(paths), args.cases, args.jobs, args.seed, args.timeout, args.compile_every,
                      args.start, args.save, args.progress)
    print(report.summary())
    if args.json:
        args.json.write_text(json.dumps({"cases": report.cases, "seconds": report.seconds,
                                         "outcomes": dict(report.outcomes), "details": dict(report.details),
                                         "findings": report.findings, "seeds": [p.name for p in paths]}, indent=1))
    return 1 if any(o in report.outcomes for o in ("uncaught", "hang", "death")) else 0


if __name__ == "__main__":
    sys.exit(main())
