"""Locate the non-Python folders (templates/, firmware/, boards/) in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    """The checkout's top-level folder when running from source, else the copy inside the wheel."""
    for candidate in (PACKAGE.parent / name, PACKAGE / "_assets" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mcucompress asset folder '{name}' is missing from this installation; reinstall the package")
