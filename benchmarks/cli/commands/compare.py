"""``loadbench compare``: the regression gate. Exit 1 on a regression, 0 without, 2 on
unusable input (naming the file and line)."""

from __future__ import annotations

import argparse
from pathlib import Path

from loadbench.cli.gate import add_tolerances, tolerances
from loadbench.reports import tables, text
from loadbench.reports.compare import Comparison

HELP = "compare results against a baseline; exit 1 on a regression (for CI)"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", type=Path, help="results file of the baseline")
    parser.add_argument("current", type=Path, help="results file to judge")
    add_tolerances(parser)


def run(args: argparse.Namespace) -> int:
    from loadbench.reports.compare import compare
    from loadbench.reports.load import load

    result = compare(load([args.baseline]), load([args.current]), tolerances(args))
    _print(result)
    if result.failed:
        print(f"\n{len(result.failures)} regression(s) against {args.baseline}:")
        for failure in result.failures:
            print(f"  {failure}")
        return 1
    print(f"\nno regression against {args.baseline}")
    return 0


def _print(result: Comparison) -> None:
    print(text.compare(tables.compare_rows(result)))
    if result.skipped_throughput:
        print(
            f"(throughput of {result.skipped_throughput} run(s) not judged: the files come from "
            "different machines; --force-throughput to judge it anyway)"
        )
