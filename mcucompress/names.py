"""Names that reach generated C: one sanitizer for model names and symbol prefixes."""

from __future__ import annotations

from pathlib import Path


def c_identifier(text: str) -> str:
    """`text` as a lower-case C identifier: other characters become '_', a leading non-letter gets 'm_'."""
    name = "".join(c if c.isascii() and c.isalnum() else "_" for c in text.lower()).strip("_") or "model"
    return name if name[0].isalpha() else f"m_{name}"


def model_name(path: str | Path) -> str:
    """A model's name from its file name (the default prefix of its generated C symbols)."""
    return c_identifier(Path(path).stem)
