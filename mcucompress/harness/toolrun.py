"""Run a compiler (a process tree: gcc starts cc1, as and collect2) so that an interruption stops the whole tree.

subprocess.run kills only the gcc driver when Ctrl-C or SIGTERM unwinds through it; its children go on
writing temporary files into the build folder while that folder is being removed ("Directory not empty").
Here the tree gets its own process group, and any exception kills the group and waits until it is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time


def run_tool(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """subprocess.run(cmd, capture_output=True, text=True) whose process tree dies with an interruption."""
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          start_new_session=True) as proc:
        try:
            out, err = proc.communicate()
        except BaseException:
            _kill_group(proc)
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    proc.wait()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # the grandchildren (cc1, as) exit once the kernel has delivered SIGKILL
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
