"""Versions of the tools a command actually used (compilers, QEMU), for the reports: a result is only
comparable with another made by the same compiler and emulator."""

from __future__ import annotations

import functools
import shutil
import subprocess

from mcucompress import __version__


@functools.cache
def tool_version(tool: str) -> str | None:
    """The first line of `tool --version`, or None when the tool is absent or says nothing."""
    path = shutil.which(tool)
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0].strip() if lines else None


def tools_used(board: str, port: str | None = None) -> dict[str, str | None]:
    """{"mcucompress": version, tool: version} for a run on `board`: reference uses no compiler, host the
    host C compiler, a board arm-none-eabi-gcc and, without a serial port, qemu-system-arm."""
    tools: list[str] = []
    if board == "host":
        from mcucompress.harness.host import find_host_cc

        tools = [find_host_cc()]
    elif board != "reference":
        tools = ["arm-none-eabi-gcc"] + (["qemu-system-arm"] if port is None else [])
    return {"mcucompress": __version__, **{t: tool_version(t) for t in tools}}
