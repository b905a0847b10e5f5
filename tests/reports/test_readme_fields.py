"""The README's table of record fields is the record's own: a field added to the
dataclass and not documented, or documented and gone, fails here."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from loadbench.reports.records import Record

README = Path(__file__).parents[2] / "README.md"


def documented_fields() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## Records\n") :]
    section = section[: section.index("\n## ", 1)]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`(\w+)`", first_cell))
    return names


def test_every_record_field_is_in_the_readme_and_nothing_else_is():
    declared = {f.name for f in fields(Record)}
    documented = documented_fields()
    assert declared - documented == set(), "fields missing from the README's Records table"
    assert documented - declared == set(), "the README documents fields the record lacks"
