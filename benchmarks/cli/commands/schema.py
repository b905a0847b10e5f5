"""``loadbench schema``: the records' schema page, generated from the record type."""

from __future__ import annotations

import argparse

HELP = "print the records' schema page (Markdown): loadbench schema > docs/schema.md"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    del parser  # no arguments: the page is the record type's


def run(args: argparse.Namespace) -> int:
    from loadbench.reports.schema import render

    print(render(), end="")
    return 0
