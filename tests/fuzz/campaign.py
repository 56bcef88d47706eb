"""Run numbered fuzz cases in worker processes and sort every outcome (see tests/fuzz/__init__.py).

A case imports one mutant with mcucompress.driver.load (import + verifier); every `compile_every`-th case
that loads also runs the compile pipeline (quantization with calibration data for float models, memory
plan, C generation, the reference executor on one sample). Outcomes: ok, error (an McuError), backstop (an
McuError raised by an importer's catch-all behind its explicit checks: allowed, but each is a check to
add), uncaught (any other exception: a bug), hang (the per-case timeout fired) and death (the worker
process died).
"""

from __future__ import annotations

import multiprocessing
import random
import re
import signal
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

import numpy as np

from tests.fuzz.mutators import mutate, tflite_fields

REPO = Path(__file__).resolve().parents[2]
BUNDLED = sorted((REPO / "mcucompress" / "examples").glob("*.tflite")) + sorted(
    (REPO / "mcucompress" / "examples").glob("*.onnx")) + sorted((REPO / "tests" / "data").glob("*.tflite"))
BACKSTOP = re.compile(r"corrupt (TFLite file|ONNX model) \((\w+(Error|Exception)|an offset points outside)")


@dataclass
class Seed:
    name: str
    raw: bytes
    kind: str  # "tflite" or "onnx"
    fields: list = field(default_factory=list)


def load_seeds(paths) -> list[Seed]:
    seeds = []
    for p in paths:
        p = Path(p)
        raw = p.read_bytes()
        kind = "tflite" if raw[4:8] == b"TFL3" else "onnx"
        seeds.append(Seed(p.name, raw, kind, tflite_fields(raw) if kind == "tflite" else []))
    return seeds


def mutant(seeds: list[Seed], campaign_seed: int, case: int) -> tuple[Seed, bytes, str]:
    """Case `case` of campaign `campaign_seed`: always the same seed and the same mutation."""
    rng = random.Random(f"{campaign_seed}:{case}")
    seed = seeds[case % len(seeds)]
    data, what = mutate(seed.raw, seed.kind, seed.fields, rng)
    return seed, data, what


class CaseTimeout(BaseException):
    """Raised by SIGALRM inside a case (a BaseException: no `except Exception` in the code under test eats it)."""


def _alarm(signum, frame):
    raise CaseTimeout()


def _site(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/mcucompress/" in f.filename] or frames
    f = ours[-1]
    return f"{type(exc).__name__} @ {f.filename.split('/mcucompress/')[-1]}:{f.lineno} ({f.name})"


def _compile(path: Path, graph, workdir: Path, rng: random.Random) -> None:
    from mcucompress import driver
    from mcucompress.codegen.project import compile_graph, write_project

    shape = graph.t(graph.inputs[0]).shape
    cal = workdir / "cal.npz"
    np.savez(cal, x=np.random.default_rng(rng.getrandbits(32)).uniform(0, 1, (4, *shape[1:])).astype(np.float32))
    q = driver.prepare(path, calibration=cal)
    compiled = compile_graph(q, driver.default_prefix(q))
    write_project(compiled, workdir / "project", force=True)
    x = np.random.default_rng(0).integers(-128, 128, (1, *q.t(q.inputs[0]).shape[1:])).astype(np.int8)
    driver.reference_outputs(q, x)


def run_case(seeds: list[Seed], campaign_seed: int, case: int, workdir: Path, timeout: float,
             compile_every: int) -> tuple[str, str, str]:
    """(outcome, detail, mutation) of one case."""
    from mcucompress import driver
    from mcucompress.errors import McuError

    seed, data, what = mutant(seeds, campaign_seed, case)
    path = workdir / f"m_{seed.name}"
    path.write_bytes(data)
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    stage = "load"
    try:
        graph = driver.load(path)
        if compile_every and case % compile_every == 0:
            stage = "compile"
            _compile(path, graph, workdir, random.Random(case))
        return "ok", stage, what
    except McuError as exc:
        kind = "backstop" if BACKSTOP.search(str(exc)) else "error"
        return kind, f"{stage}: {type(exc).__name__}" + (f" {BACKSTOP.search(str(exc)).group(2)}" if kind == "backstop" else ""), what
    except CaseTimeout:
        return "hang", f"{stage}: over {timeout:g} s", what
    except Exception as exc:  # noqa: BLE001 - exactly what the fuzzer looks for
        return "uncaught", f"{stage}: {_site(exc)}", what
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _worker(conn, seeds, campaign_seed, first, stop, step, timeout, compile_every) -> None:
    with tempfile.TemporaryDirectory(prefix="mcc-fuzz-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
        for case in range(first, stop, step):
            conn.send((case, *run_case(seeds, campaign_seed, case, Path(tmp), timeout, compile_every)))
    conn.send(None)


@dataclass
class Report:
    cases: int = 0
    seconds: float = 0.0
    outcomes: Counter = field(default_factory=Counter)
    details: Counter = field(default_factory=Counter)
    findings: list = field(default_factory=list)  # (case, outcome, detail, mutation) of uncaught/hang/death

    def summary(self) -> str:
        lines = [f"{self.cases:,} cases in {self.seconds:,.1f} s ({self.cases / max(self.seconds, 1e-9):,.0f}/s): "
                 + ", ".join(f"{k} {v:,}" for k, v in sorted(self.outcomes.items()))]
        lines += [f"  {n:>9,}  {d}" for d, n in self.details.most_common()]
        lines += [f"  FINDING case {c}: {o} {d} [{w}]" for c, o, d, w in self.findings[:50]]
        return "\n".join(lines)


def campaign(seeds: list[Seed], cases: int, jobs: int = 1, campaign_seed: int = 0, timeout: float = 20.0,
             compile_every: int = 0, start: int = 0, save: Path | None = None, progress=None) -> Report:
    """Cases start .. start+cases-1 over `jobs` worker processes; a worker that dies or stops answering is
    recorded against its current case and replaced, starting after that case."""
    ctx = multiprocessing.get_context("fork")
    report, stop, began = Report(), start + cases, time.monotonic()
    workers = {}  # connection -> [process, next case, last message time]

    def spawn(first: int) -> None:
        if first >= stop:
            return
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_worker, args=(child, seeds, campaign_seed, first, stop, jobs, timeout, compile_every),
                        daemon=True)
        p.start()
        child.close()
        workers[parent] = [p, first, time.monotonic()]

    def record(case: int, outcome: str, detail: str, what: str) -> None:
        report.cases += 1
        report.outcomes[outcome] += 1
        if outcome != "ok":
            report.details[f"{outcome}: {detail}"] += 1
        if outcome in ("uncaught", "hang", "death"):
            report.findings.append((case, outcome, detail, what))
            if save is not None:
                seed, data, _ = mutant(seeds, campaign_seed, case)
                save.mkdir(parents=True, exist_ok=True)
                (save / f"case{case}_{seed.name}").write_bytes(data)

    for k in range(jobs):
        spawn(start + k)
    while workers:
        for conn in wait(list(workers), timeout=1.0):
            proc, nxt, _ = workers[conn]
            try:
                msg = conn.recv()
            except EOFError:  # the worker died in its current case
                proc.join()
                del workers[conn]
                record(nxt, "death", f"exit code {proc.exitcode}", mutant(seeds, campaign_seed, nxt)[2])
                spawn(nxt + jobs)
                continue
            if msg is None:
                proc.join()
                del workers[conn]
                continue
            record(*msg)
            workers[conn][1:] = [msg[0] + jobs, time.monotonic()]
            if progress and report.cases % progress == 0:
                report.seconds = time.monotonic() - began
                print(report.summary().splitlines()[0], flush=True)
        for conn, (proc, nxt, last) in list(workers.items()):
            if time.monotonic() - last > timeout + 30:  # stuck where SIGALRM cannot reach (C code)
                proc.kill()
                proc.join()
                del workers[conn]
                record(nxt, "hang", "worker unresponsive", mutant(seeds, campaign_seed, nxt)[2])
                spawn(nxt + jobs)
    report.seconds = time.monotonic() - began
    return report
