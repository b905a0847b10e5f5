"""The regression gate's arguments, shared by ``compare`` and ``report --baseline``, and
the ``Tolerances`` they become."""

from __future__ import annotations

import argparse

from loadbench.reports.compare import Tolerances
from loadbench.reports.units import parse_bytes, parse_percent


def add_tolerances(parser: argparse.ArgumentParser) -> None:
    """The compare tolerances; shared by ``report --baseline`` and ``compare``."""
    gate = parser.add_argument_group("regression tolerances")
    gate.add_argument(
        "--memory-tolerance",
        default="10%",
        metavar="PCT",
        help="growth allowed in the peak above the baseline (default 10%%)",
    )
    gate.add_argument(
        "--graph-tolerance", default="1%", metavar="PCT", help="graph bytes (default 1%%)"
    )
    gate.add_argument(
        "--throughput-tolerance", default="25%", metavar="PCT", help="samples/s (default 25%%)"
    )
    gate.add_argument(
        "--memory-floor",
        default="16MB",
        metavar="SIZE",
        help="changes of the peak above the baseline smaller than SIZE never fail: a small "
        "peak moves by a few MB between runs of the same code (default 16MB; 0 for none)",
    )
    gate.add_argument(
        "--alpha",
        type=float,
        metavar="P",
        default=0.01,
        help="significance level of the throughput test: with 5+ repeats a side, a drop past "
        "the tolerance fails only if a one-sided Mann-Whitney U test gives p < alpha "
        "(default 0.01)",
    )
    gate.add_argument(
        "--ignore-memory",
        action="store_true",
        help="never judge peak memory (runs whose peak is not the loader's, such as training "
        "on a CPU whose step's working memory moves by tens of MB between runs)",
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


def tolerances(args: argparse.Namespace) -> Tolerances:
    return Tolerances(
        memory=parse_percent(args.memory_tolerance, "--memory-tolerance"),
        graph=parse_percent(args.graph_tolerance, "--graph-tolerance"),
        throughput=parse_percent(args.throughput_tolerance, "--throughput-tolerance"),
        memory_floor_bytes=parse_bytes(args.memory_floor, "--memory-floor") or 0,
        force_throughput=args.force_throughput,
        ignore_throughput=args.ignore_throughput,
        ignore_memory=args.ignore_memory,
        alpha=args.alpha,
    )
