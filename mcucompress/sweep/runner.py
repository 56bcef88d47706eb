"""Schedule a sweep: reuse cached configurations, run the others in local worker processes or as Ray tasks,
cache each as it finishes, then write results.csv and report.html in grid order.

Workers run with one BLAS thread (OMP/OPENBLAS/MKL_NUM_THREADS=1, also on Ray), so every configuration's
floating-point work (pruning, calibration) is the same whichever backend and however many jobs run it, and
results.csv is byte-identical across --jobs and --ray. Only the driver writes into DIR: a lock file keeps
a second sweep out of the same folder, and workers build under DIR/work (cleared at the start of a run).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mcucompress import __version__
from mcucompress.errors import McuError
from mcucompress.sweep.config_cache import ConfigCache, InputDigests, config_key
from mcucompress.sweep.evaluate import evaluate
from mcucompress.sweep.grid import Config, load_grid

ONE_BLAS_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
RAY_HINT = "pip install 'mcucompress[ray]'"


@dataclass
class SweepSummary:
    total: int
    reused: int
    computed: int
    failed: list[tuple[Config, str]] = field(default_factory=list)
    results_csv: Path | None = None
    report_html: Path | None = None


@dataclass(frozen=True)
class Inputs:
    model: Path
    calibration: Path
    data: Path


def default_jobs() -> int:
    return os.cpu_count() or 1


def run_sweep(model, calibration, data, board: str, grid, outdir, jobs: int | None = None,
              ray: str | None = None) -> SweepSummary:
    """Run (or resume) the sweep of `grid` into `outdir`; `ray` is None (local processes), 'local' or an address."""
    from mcucompress import driver

    configs = load_grid(grid, board)
    inputs = Inputs(Path(model), Path(calibration), Path(data))
    for option, path in (("MODEL", inputs.model), ("--calibration", inputs.calibration), ("--data", inputs.data)):
        if not path.is_file():
            raise McuError(f"{path}: no such file ({option}); give the path of an existing file")
    if jobs is not None and jobs < 1:
        raise McuError(f"--jobs {jobs}: give a number of workers of at least 1")
    jobs = jobs or default_jobs()
    if ray is not None:
        _import_ray()  # before any work: without Ray, --ray fails at once
        if ray != "local":
            _check_reachable(ray)
    graph = driver.load(inputs.model)  # a model we cannot read fails once here, not once per configuration
    if _is_int8(graph) and len({(c.calibration_method, c.per_tensor) for c in configs}) > 1:
        _say(f"note: {inputs.model} is already int8: calibration_method and per_tensor leave it unchanged, so "
             "configurations differing only in them give the same numbers")
    digests = InputDigests.of(inputs.model, inputs.calibration, inputs.data)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with _exclusive(outdir):
        cache = ConfigCache(outdir / "cache")
        if cache.folder.is_dir():
            cache.clean_partial()
        work_root = outdir / "work"
        shutil.rmtree(work_root, ignore_errors=True)  # build folders of a killed run
        work_root.mkdir()
        keys = {c: config_key(digests, c) for c in configs}
        results = {c: r for c in configs if (r := cache.get(keys[c], c)) is not None}
        summary = SweepSummary(total=len(configs), reused=len(results), computed=0)
        todo = [c for c in configs if c not in results]
        where = (f"{min(jobs, len(todo))} local worker processes" if ray is None
                 else "a local Ray cluster" if ray == "local" else f"the Ray cluster at {ray}")
        _say(f"sweep: {len(configs)} configurations; {summary.reused} reused from {cache.folder}, "
             f"{len(todo)} to run" + (f" on {where}" if todo else ""))
        if todo:
            _compute(todo, inputs, jobs, ray, work_root, keys, cache, results, summary)
        rows = [(c, results[c]) for c in configs]
        from mcucompress.sweep.report import write_report, write_results

        summary.results_csv, summary.report_html = outdir / "results.csv", outdir / "report.html"
        write_results(summary.results_csv, rows)
        write_report(summary.report_html, rows, inputs)
        shutil.rmtree(work_root, ignore_errors=True)
    return summary


def _is_int8(graph) -> bool:
    from mcucompress.passes.float_io import int8_core

    return graph.is_quantized or int8_core(graph) is not None


def _compute(todo, inputs, jobs, ray, work_root, keys, cache, results, summary) -> None:
    from tqdm import tqdm

    bar = tqdm(total=summary.total, initial=summary.reused, unit="config", file=sys.stderr,
               disable=not sys.stderr.isatty(), leave=False)
    try:
        started = time.monotonic()
        backend = (_local(todo, inputs, jobs, work_root) if ray is None
                   else _ray(todo, inputs, jobs, ray, work_root if ray == "local" else None))
        for config, result in backend:
            if result.get("version") != __version__:
                raise McuError(f"a worker runs mcucompress {result.get('version')}, this sweep {__version__}; "
                               "install the same version on every node of the cluster")
            results[config] = result
            summary.computed += 1
            if result["error"] is None:
                cache.put(keys[config], config, result)  # only finished, successful ones: errors are retried
            else:
                summary.failed.append((config, result["error"]))
            bar.update(1)
            tqdm.write(f"[{summary.reused + summary.computed}/{summary.total}] {config.label()}: {_outcome(result)} "
                       f"({time.monotonic() - started:.1f} s into the run)", file=sys.stderr)
    finally:
        bar.close()


def _outcome(result: dict) -> str:
    if result["error"] is not None:
        return f"failed: {result['error']}"
    parts = [f"top-1 {result['top1']:.4f}" if result["top1"] is not None else "no labels"]
    if result["instructions"] is not None:
        parts.append(f"{result['instructions']:,} instructions")
    if result["flash_bytes"] is not None:
        parts.append(f"flash {result['flash_bytes']:,} B")
    parts.append(f"weights {result['weights_bytes']:,} B")
    if result["bit_exact"] is not None:
        parts.append("bit-exact" if result["bit_exact"] else f"{result['mismatches']} mismatches")
    return ", ".join(parts)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _exclusive(outdir: Path):
    """Hold DIR/.sweep.lock: two sweeps writing one folder would clear each other's build folders."""
    import fcntl

    with open(outdir / ".sweep.lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise McuError(f"{outdir}: another sweep is writing into this folder; wait for it to finish or give "
                           "another -o DIR") from None
        yield  # the lock goes with the file (also when the process is killed)


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _local(todo: list[Config], inputs: Inputs, jobs: int, work_root: Path) -> Iterator[tuple[Config, dict]]:
    """Worker processes (spawned: a fresh interpreter each, started with one BLAS thread), as they finish."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # Spawned workers (and multiprocessing's resource tracker) copy the environment when they start. Workers
    # stopped on an interrupt hold queue semaphores, which the tracker would report in a multi-line warning.
    quiet = ",".join(w for w in (os.environ.get("PYTHONWARNINGS"), "ignore:resource_tracker:UserWarning") if w)
    with _environment({**ONE_BLAS_THREAD, "PYTHONWARNINGS": quiet}):
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=multiprocessing.get_context("spawn"))
        try:
            futures = {pool.submit(evaluate, c, inputs.model, inputs.calibration, inputs.data, work_root): c
                       for c in todo}
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except BrokenProcessPool:
                    raise McuError("a sweep worker process died (killed, or out of memory); run the same command "
                                   "again to resume: finished configurations are cached") from None
        except BaseException:  # Ctrl-C, SIGTERM, an error: results still running would never be cached
            _stop_workers(pool)  # first: shutdown() forgets the worker processes
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def _stop_workers(pool) -> None:
    """End the pool's worker processes now (their build folders are under DIR/work, cleared by the next run)."""
    if hasattr(pool, "terminate_workers"):  # Python 3.14
        pool.terminate_workers()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):  # private: no public API before 3.14
        process.terminate()


def _ray_evaluate(config: Config, names: tuple[str, str, str], model: bytes, calibration: bytes, data: bytes,
                  work_root: str | None) -> dict:
    """A Ray task: the input files arrive as bytes (a cluster node need not see the driver's disk)."""
    with tempfile.TemporaryDirectory(prefix="mcc-sweep-inputs-") as tmp:
        paths = []
        for role, name, blob in zip(("model", "calibration", "data"), names, (model, calibration, data)):
            path = Path(tmp) / role / name  # the original name: the model's suffix selects its importer
            path.parent.mkdir()
            path.write_bytes(blob)
            paths.append(path)
        return evaluate(config, *paths, work_root=work_root)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise McuError(f"--ray needs Ray, which is not installed: {RAY_HINT}") from None
    return ray


def _check_reachable(address: str) -> None:
    """Refuse at once a HOST:PORT (or ray://HOST:PORT) nobody listens on: Ray itself retries for minutes."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # 'auto' and other forms Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise McuError(f"--ray {address}: no Ray cluster answers there ({exc.strerror or exc}); start one with "
                       "'ray start --head' and give its address, or use --ray local") from None


def _ray(todo: list[Config], inputs: Inputs, jobs: int, address: str,
         work_root: Path | None) -> Iterator[tuple[Config, dict]]:
    """The same evaluation as Ray tasks of one CPU each, on a local cluster of `jobs` CPUs or a running one."""
    import logging

    ray = _import_ray()

    env = dict(ONE_BLAS_THREAD)
    if address == "local":  # local workers import this very mcucompress (a checkout need not be installed)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[2]),
                                                        os.environ.get("PYTHONPATH")) if p)
    options = {"runtime_env": {"env_vars": env}, "logging_level": logging.WARNING, "log_to_driver": False}
    started_here = not ray.is_initialized()
    if started_here:
        try:
            if address == "local":
                # address="local": always a new cluster, never one found in RAY_ADDRESS or /tmp/ray
                ray.init(address="local", num_cpus=jobs, include_dashboard=False, **options)
            else:
                ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise McuError(f"--ray {address}: cannot start or join the Ray cluster ({first}); start one with "
                           "'ray start --head' and give its address, or use --ray local") from None
    try:
        task = ray.remote(num_cpus=1)(_ray_evaluate)
        names = (inputs.model.name, inputs.calibration.name, inputs.data.name)
        blobs = [ray.put(p.read_bytes()) for p in (inputs.model, inputs.calibration, inputs.data)]
        refs = {task.remote(c, names, *blobs, str(work_root) if work_root else None): c for c in todo}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], ray.get(ref)
    finally:
        if started_here:
            ray.shutdown()
