"""docs/SUPPORTED_OPS.md is generated from the constraint checkers and must not go stale."""

from pathlib import Path

from mcucompress.ir.registry import kinds
from mcucompress.supported_ops import supported_ops_markdown, supported_ops_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "SUPPORTED_OPS.md"


def test_doc_is_up_to_date():
    assert DOC.read_text() == supported_ops_markdown(), "regenerate: python -c 'from mcucompress.supported_ops import *; ...'"


def test_ops_text_lists_every_kind_and_rules():
    text = supported_ops_text()
    for kind in kinds():
        assert f"  {kind}" in text
    assert "1/256" in text  # a rule taken from a checker's docstring
