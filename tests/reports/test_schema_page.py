"""docs/schema.md is what ``loadbench schema`` prints from the record type: a field added
to the record and not described, or a page not regenerated, fails here."""

from __future__ import annotations

from pathlib import Path

from loadbench.cli import main
from loadbench.reports import schema

PAGE = Path(__file__).parents[2] / "docs" / "schema.md"


def test_the_schema_page_is_current(capsys):
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert printed == PAGE.read_text(encoding="utf-8"), "run: loadbench schema > docs/schema.md"


def test_every_record_field_is_described_and_nothing_else_is():
    declared = set(schema.declared())
    described = set(schema.described())
    assert declared - described == set(), "fields with no description in reports/schema.py"
    assert described - declared == set(), "reports/schema.py describes fields the record lacks"
    for name in declared:
        assert f"| `{name}` |" in PAGE.read_text(encoding="utf-8")
