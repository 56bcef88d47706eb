"""Run compiled models: on the host (gcc), in QEMU, or on a board over a serial port."""

import signal


def exit_text(returncode: int) -> str:
    """How a child process ended, in words: 'killed by SIGKILL' (a negative return code) or 'exit code N'."""
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"
