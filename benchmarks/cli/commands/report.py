"""``loadbench report``: result files into an HTML report with figures and a CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from reports.units import parse_bytes

HELP = "write the HTML report (and CSV) of result files"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results",
        nargs="+",
        type=Path,
        help="loadbench JSON Lines files (run, sweep, prove-limit) and/or pytest-benchmark JSON",
    )
    parser.add_argument("--out", type=Path, default=Path("loadbench-report"), help="folder")
    parser.add_argument("--baseline", type=Path, help="also compare against this results file")
    parser.add_argument(
        "--memory-budget",
        help="answer 'fastest within this much memory', e.g. 2GB (default: twice the lowest peak)",
    )
    parser.add_argument(
        "--ram",
        help="RAM that memory growth is held against, e.g. 64GB (default: the measuring "
        "machine's, from the records)",
    )
    add_tolerances(parser)


def add_tolerances(parser: argparse.ArgumentParser) -> None:
    """The compare tolerances; shared by ``report --baseline`` and ``compare``."""
    gate = parser.add_argument_group("regression tolerances")
    gate.add_argument("--memory-tolerance", default="10%", help="peak memory (default 10%%)")
    gate.add_argument("--graph-tolerance", default="1%", help="graph bytes (default 1%%)")
    gate.add_argument("--throughput-tolerance", default="25%", help="samples/s (default 25%%)")
    gate.add_argument(
        "--memory-floor",
        default="0",
        help="memory changes smaller than this never fail, e.g. 16MB (default 0)",
    )
    gate.add_argument(
        "--alpha",
        type=float,
        default=0.01,
        help="significance level of the throughput test: with 5+ repeats a side, a drop past "
        "the tolerance fails only if a one-sided Mann-Whitney U test gives p < alpha "
        "(default 0.01)",
    )
    throughput = gate.add_mutually_exclusive_group()
    throughput.add_argument(
        "--force-throughput",
        action="store_true",
        help="judge throughput even when the two files come from different machines",
    )
    throughput.add_argument(
        "--ignore-throughput",
        action="store_true",
        help="never judge throughput (a shared CI runner: bytes gate, timings only inform)",
    )


def tolerances(args: argparse.Namespace):
    from reports.compare import Tolerances
    from reports.units import parse_percent

    return Tolerances(
        memory=parse_percent(args.memory_tolerance, "--memory-tolerance"),
        graph=parse_percent(args.graph_tolerance, "--graph-tolerance"),
        throughput=parse_percent(args.throughput_tolerance, "--throughput-tolerance"),
        memory_floor_bytes=parse_bytes(args.memory_floor, "--memory-floor") or 0,
        force_throughput=args.force_throughput,
        ignore_throughput=args.ignore_throughput,
        alpha=args.alpha,
    )


def run(args: argparse.Namespace) -> int:
    from benchmarks.harness.limits import is_limit_file
    from benchmarks.harness.limits import read as read_limits
    from reports.compare import compare
    from reports.html import write_report
    from reports.load import load

    limit_files = [p for p in args.results if is_limit_file(p)]
    run_files = [p for p in args.results if p not in limit_files]
    records = load(run_files) if run_files else []
    limits = [record for path in limit_files for record in read_limits(path)]
    comparison = None
    if args.baseline:
        comparison = compare(load([args.baseline]), records, tolerances(args))
    path = write_report(
        records,
        args.out,
        sources=[str(p) for p in args.results],
        comparison=comparison,
        baseline_name=str(args.baseline) if args.baseline else None,
        memory_budget_bytes=parse_bytes(args.memory_budget, "--memory-budget"),
        limits=limits,
        ram_bytes=parse_bytes(args.ram, "--ram"),
    )
    print(f"report: {path}")
    return 0
