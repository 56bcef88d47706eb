"""Build a generated C project with the host gcc into a small runner program and drive it from Python."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from mcucompress.assets import asset_dir
from mcucompress.codegen.project import CompiledModel, write_project
from mcucompress.errors import McuError
from mcucompress.harness import exit_text
from mcucompress.harness.state_policy import check_state
from mcucompress.harness.toolrun import run_tool

HOST_CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"]
# MCC_HOST_SANITIZE=1 (the test suite sets it): AddressSanitizer + UBSan, any finding aborts the runner.
SANITIZE_CFLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]


def sanitize_default() -> bool:
    return os.environ.get("MCC_HOST_SANITIZE", "") == "1"


def find_host_cc() -> str:
    for cc in ("gcc", "cc", "clang"):
        if shutil.which(cc):
            return cc
    raise McuError("no host C compiler found; install gcc (Debian: apt-get install gcc)")


def build_runner(project: Path, prefix: str, sanitize: bool | None = None) -> Path:
    """Compile the project and firmware/runtime/host_main.c into `project/host_runner` (with ASan and UBSan
    when `sanitize`, by default when MCC_HOST_SANITIZE=1)."""
    sanitize = sanitize_default() if sanitize is None else sanitize
    cc = find_host_cc()
    sources = [str(p) for p in sorted(project.glob("*.c"))] + [str(p) for p in sorted((project / "mcc" / "kernels").rglob("*.c"))]
    runner = project / "host_runner"
    cmd = [
        cc, *HOST_CFLAGS, *(SANITIZE_CFLAGS if sanitize else []), f"-I{project}", f"-I{project / 'mcc' / 'include'}",
        f'-DMCC_MODEL_HEADER="{prefix}_model.h"', f"-DMCC_PREFIX={prefix}", f"-DMCC_PREFIX_UPPER={prefix.upper()}",
        str(asset_dir("firmware") / "runtime" / "host_main.c"), *sources, "-o", str(runner),
    ]
    # gcc's own temporaries go inside the project folder, so a run that is stopped mid-build and removes the
    # folder leaves none of them behind (cc1/as outlive a killed gcc driver).
    result = run_tool(cmd, env={**os.environ, "TMPDIR": str(project)})
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["(no output)"])[0]
        raise McuError(f"host build of {project} failed: {first}")
    return runner


def runner_failure(returncode: int, stderr: str) -> str:
    """One line: a sanitizer's SUMMARY, the signal that killed the runner, or its first line of stderr."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    summary = next((line for line in lines if line.startswith("SUMMARY:")), None)
    if summary:
        return summary
    if returncode < 0:
        return exit_text(returncode) + (f" ({lines[0]})" if lines else "")
    return lines[0] if lines else exit_text(returncode)


def run_runner(runner: Path, inputs: np.ndarray, output_shape: tuple[int, ...], dtype: str = "int8",
               state: str = "carry") -> np.ndarray:
    """Feed int8 samples [N, ...] through the runner; returns outputs [N, *output_shape[1:]] of `dtype` (the
    model output's: int8, int32 indices or bool, decoded from the bytes the runner writes). `state`: the
    per-sample state policy (state_policy.py), "reset" resets a recurrent model's state before every sample."""
    check_state(state)
    with tempfile.TemporaryDirectory() as tmp:
        in_path, out_path = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        np.ascontiguousarray(inputs, dtype=np.int8).tofile(in_path)
        result = run_tool([str(runner), str(in_path), str(out_path), state])  # ends with an interruption
        if result.returncode != 0:
            raise McuError(f"host runner failed: {runner_failure(result.returncode, result.stderr)}")
        out = np.fromfile(out_path, dtype=np.dtype(dtype).newbyteorder("<"))
    per_sample = tuple(output_shape[1:]) if output_shape and output_shape[0] == 1 else tuple(output_shape)
    return out.reshape((len(inputs),) + per_sample)


def run_on_host(model: CompiledModel, inputs: np.ndarray, output_shape: tuple[int, ...], workdir: Path | None = None,
                state: str = "carry") -> np.ndarray:
    """Write the project to a temporary directory (or `workdir`), build it and run every sample (`state`: the
    per-sample state policy, "carry" or "reset")."""
    check_state(state)
    with tempfile.TemporaryDirectory() as tmp:
        project = write_project(model, Path(workdir or tmp) / "project", force=True)
        runner = build_runner(project, model.prefix)
        return run_runner(runner, inputs, output_shape, model.output_dtype, state)
