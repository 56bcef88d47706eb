"""The command line as a user runs it: `python -m mcucompress.cli ARGS` in a subprocess (one helper for all tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd: str | Path | None = REPO, timeout: float = 900, env: dict | None = None,
            check: bool = False) -> subprocess.CompletedProcess:
    """Run mcucompress with `args` (paths are stringified); check=True asserts exit 0 and shows stderr."""
    out = subprocess.run([sys.executable, "-m", "mcucompress.cli", *map(str, args)], capture_output=True, text=True,
                         check=False, cwd=cwd, timeout=timeout, env=env)
    if check:
        assert out.returncode == 0, out.stderr
    return out
