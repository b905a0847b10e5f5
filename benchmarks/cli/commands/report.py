"""``loadbench report``: result files into an HTML report with figures and a CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from loadbench.cli.common import add_out
from loadbench.cli.gate import add_tolerances, tolerances
from loadbench.reports.jsonl import is_limit_file, read_limits
from loadbench.reports.units import parse_bytes

HELP = "write the HTML report (and CSV) of result files"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results",
        nargs="+",
        type=Path,
        help="loadbench JSON Lines files (run, sweep, prove-limit) and/or pytest-benchmark JSON",
    )
    add_out(parser, "the report, written to OUT/report/index.html")
    parser.add_argument("--baseline", type=Path, help="also compare against this results file")
    parser.add_argument(
        "--memory-budget",
        metavar="SIZE",
        help="answer 'fastest within SIZE': bounds the peak above the baseline that the tables "
        "report, e.g. 2GB (default: twice the lowest peak)",
    )
    parser.add_argument(
        "--ram",
        metavar="SIZE",
        help="your training machine's RAM, that growth with the data is held against, e.g. "
        "64GB (default: the measuring machine's, from the records)",
    )
    add_tolerances(parser)


def run(args: argparse.Namespace) -> int:
    from loadbench.reports.compare import compare
    from loadbench.reports.html import write_report
    from loadbench.reports.load import load

    limit_files = [p for p in args.results if is_limit_file(p)]
    run_files = [p for p in args.results if p not in limit_files]
    records = load(run_files) if run_files else []
    limits = [record for path in limit_files for record in read_limits(path)]
    comparison = None
    if args.baseline:
        comparison = compare(load([args.baseline]), records, tolerances(args))
    path = write_report(
        records,
        Path(args.out) / "report",
        sources=[str(p) for p in args.results],
        comparison=comparison,
        baseline_name=str(args.baseline) if args.baseline else None,
        memory_budget_bytes=parse_bytes(args.memory_budget, "--memory-budget"),
        limits=limits,
        ram_bytes=parse_bytes(args.ram, "--ram"),
        tuned=_tuned(run_files),
    )
    print(f"report: {path}")
    return 0


def _tuned(run_files: list[Path]) -> dict | None:
    """The ``recommendation.json`` a ``loadbench tune`` wrote beside its results, if any."""
    import json

    for results in run_files:
        found = Path(results).parent / "recommendation.json"
        if found.is_file():
            loaded = json.loads(found.read_text())
            return loaded if isinstance(loaded, dict) else None
    return None
