"""Fixtures of the report tests."""

from __future__ import annotations

import pytest
from record_factory import five_strategies

from loadbench.reports.records import Record


@pytest.fixture
def suite() -> list[Record]:
    """Five strategies iterating, like a small ``loadbench run --mode iterate``."""
    return five_strategies()
