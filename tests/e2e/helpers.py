"""What the end-to-end tests share: the toolchain skip mark and the CLI run in a subprocess."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.cli import run_cli

needs_arm_toolchain_and_qemu = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi "
    "qemu-system-arm)",
)


def run_json(tmp_path, *args) -> dict:
    """`mcucompress run ARGS --json` in a subprocess; asserts success and returns the report."""
    run_cli("run", *args, "--json", tmp_path / "r.json", cwd=None, check=True)
    return json.loads((tmp_path / "r.json").read_text())
