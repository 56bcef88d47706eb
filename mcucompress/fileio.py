"""Atomic file output: every file the tool writes goes through a uniquely named temporary sibling and a
rename, so a failure (full disk, Ctrl-C, a bug) leaves either the old file or nothing, never half a file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def reserve(path: str | os.PathLike) -> Path:
    """A new, uniquely named temporary sibling of `path` (never a user's file); OSError when the folder is
    missing or not writable, so a bad destination fails before any work is done."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None], tmp: Path | None = None) -> None:
    """Call write(temporary path), then rename it onto `path`; `tmp` is one reserved earlier."""
    path = Path(path)
    tmp = tmp or reserve(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes, tmp: Path | None = None) -> None:
    write_atomic(path, lambda p: p.write_bytes(data), tmp)


def write_text(path: str | os.PathLike, text: str, tmp: Path | None = None) -> None:
    write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"), tmp)


def write_json(path: str | os.PathLike, doc: dict, tmp: Path | None = None) -> None:
    write_text(path, json.dumps(doc, indent=2) + "\n", tmp)
