"""What the end-to-end tests share: the toolchain skip mark and the CLI run in a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

needs_arm_toolchain_and_qemu = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi "
    "qemu-system-arm)",
)


def run_json(tmp_path, *args) -> dict:
    """`mcucompress run ARGS --json` in a subprocess; asserts success and returns the report."""
    out = subprocess.run([sys.executable, "-m", "mcucompress.cli", "run", *map(str, args), "--json",
                          tmp_path / "r.json"], capture_output=True, text=True, check=False, timeout=900)
    assert out.returncode == 0, out.stderr
    return json.loads((tmp_path / "r.json").read_text())
