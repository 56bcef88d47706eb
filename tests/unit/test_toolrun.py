"""run_tool: an interruption at any moment, even while the tool is being started, ends the tool's whole
process tree, so nothing writes into a folder that is being removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from mcucompress.harness.toolrun import run_tool


class _Stop(BaseException):
    pass


def _raise_stop(signum, frame):
    raise _Stop()


@pytest.fixture
def sigterm_raises():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run in the main thread only")
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    yield
    signal.signal(signal.SIGTERM, previous)


def _writer(marker) -> list[str]:
    """A tool that writes a file a little after it starts (as cc1 writes its temporary files)."""
    return [sys.executable, "-c", f"import time; time.sleep(0.5); open({str(marker)!r}, 'w').close()"]


def test_sigterm_while_the_tool_starts_kills_it(tmp_path, monkeypatch, sigterm_raises):
    original = subprocess.Popen._execute_child

    def start_then_signal(self, *args, **kwargs):
        original(self, *args, **kwargs)  # the child runs; Popen() has not returned yet
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(subprocess.Popen, "_execute_child", start_then_signal)
    marker = tmp_path / "written"
    with pytest.raises(_Stop):
        run_tool(_writer(marker))
    time.sleep(1.0)
    assert not marker.exists(), "the tool outlived the interruption"


def test_sigterm_while_the_tool_runs_kills_it(tmp_path, sigterm_raises):
    marker = tmp_path / "written"
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    with pytest.raises(_Stop):
        run_tool(_writer(marker))
    time.sleep(1.0)
    assert not marker.exists(), "the tool outlived the interruption"


def test_output_and_exit_code_are_returned():
    result = run_tool([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"])
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
