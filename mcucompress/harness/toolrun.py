"""Run a compiler (a process tree: gcc starts cc1, as and collect2) so that an interruption stops the whole tree.

subprocess.run kills only the gcc driver when Ctrl-C or SIGTERM unwinds through it; its children go on
writing temporary files into the build folder while that folder is being removed ("Directory not empty").
Here the tree gets its own process group, and any exception kills the group and waits until it is gone.
Ctrl-C and SIGTERM are held back while the process starts: raised inside Popen() after the fork, they would
leave a child that nobody knows the pid of, still writing into the folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator


def run_tool(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """subprocess.run(cmd, capture_output=True, text=True) whose process tree dies with an interruption."""
    proc = None
    try:
        with _interruptions_held():
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                    start_new_session=True)
    except BaseException:  # an interruption held back during the start is raised here, with the pid known
        if proc is not None:
            _kill_group(proc)
        raise
    with proc:
        try:
            out, err = proc.communicate()
        except BaseException:
            _kill_group(proc)
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@contextlib.contextmanager
def _interruptions_held() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive inside the block are noted, then handled as usual when it ends.

    Python runs signal handlers in the main thread only, whichever thread the kernel delivered the signal to
    (numpy's BLAS threads, say), so swapping the handler is what holds a signal back, not a signal mask."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler is not None:  # None: set outside Python, and it could not be put back
            previous[signum] = signal.signal(signum, lambda s, frame: arrived.append(s))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in arrived:
            signal.raise_signal(signum)


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
