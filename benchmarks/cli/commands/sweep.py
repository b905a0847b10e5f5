"""``loadbench sweep``: every strategy at several sizes of the built-in dataset, then a
straight-line fit of each one's memory and graph bytes against dataset bytes, and the
dataset size at which each line crosses the 2 GiB protobuf limit and the RAM."""

from __future__ import annotations

import argparse

import psutil

from benchmarks.harness import records
from benchmarks.cli.commands import run as run_command
from loaders.dataset.converted import default_cache_root
from loaders.errors import OptionsError
from loaders.dataset.layout import describe
from reports.units import format_bytes, parse_bytes

HELP = "measure every strategy at several dataset sizes; fit memory and graph against size"
DEFAULT_SIZES = "250,500,1000,2000"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    run_command.prepare_parser(parser, sweep=True)
    parser.set_defaults(mode="iterate")  # memory against size is the pipeline's question
    parser.add_argument(
        "--ram", help="RAM of your training machine, e.g. 64GB (default: this machine's)"
    )


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise OptionsError(f"--pairs {text!r}: expected counts such as 250,500,1000") from None
    if len(sizes) < 2 or sizes[0] < 1:
        raise OptionsError(f"--pairs {text!r}: give at least two sizes, each 1 or more")
    return sizes


def run(args: argparse.Namespace) -> int:
    sizes = parse_sizes(args.pairs)
    ram = parse_bytes(args.ram, "--ram") or psutil.virtual_memory().total
    cache_root = args.cache_dir or default_cache_root()
    largest = run_command.builtin_dataset(cache_root, sizes[-1], args.size)
    # the smaller ones are the first pairs of the largest: no redraw
    roots = [run_command.builtin_dataset(cache_root, n, args.size, largest) for n in sizes]
    datasets = [(describe(root, "train"), True) for root in roots]
    no_report, args.no_report = args.no_report, True  # written below, with the RAM line
    status = run_command.execute(args, datasets, tag_logs=True)
    results = args.out / run_command.RESULTS
    found = [
        r
        for r in records.read(results)
        if r.dataset.get("pairs") in sizes and r.dataset.get("image_size") == [args.size] * 2
    ]
    _print_fits(found, ram)
    print_model(found)
    if found and not no_report:
        from reports.html import write_report

        report = write_report(found, args.out / "report", sources=[str(results)], ram_bytes=ram)
        print(f"\nreport: {report}")
    return status


def print_model(found: list[records.Record]) -> None:
    """Predicted against measured peak for every run the memory model applies to."""
    from reports.memory_model import TOLERANCE, largest_terms, table

    rows = table(found)
    if rows.empty:
        return
    print(f"\nmemory model (iterate mode; within {TOLERANCE:.0%} is the bar)")
    print(
        f"{'strategy':<16} {'pairs':>6} {'measured':>9} {'predicted':>9} {'error':>7}  "
        "largest terms"
    )
    for row in rows.itertuples():
        terms = largest_terms(row.terms)
        flag = "" if row.within else "  (outside)"
        print(
            f"{row.strategy:<16} {row.pairs:>6} {format_bytes(row.measured):>9} "
            f"{format_bytes(row.predicted):>9} {row.error:>+7.0%}  {terms}{flag}"
        )


def _print_fits(found: list[records.Record], ram: int) -> None:
    from reports.fit import break_points

    table = break_points(found, ram)
    if table.empty:
        print("\nno fit: fewer than two sizes ended ok for every strategy")
        return
    sample = found[0].dataset["bytes_per_sample"]
    print(f"\nfits against dataset bytes ({sample:,} bytes per sample)")
    print(
        f"{'mode':<8} {'strategy':<16} {'metric':<20} {'per data byte':>13} {'B per pair':>10} "
        f"{'intercept':>10} {'R^2':>6}  reaches the limit at"
    )
    for row in table.itertuples():
        fit = row.fit
        r2 = "n/a" if fit.r2 is None else f"{fit.r2:.3f}"
        print(
            f"{row.mode:<8} {row.strategy:<16} {row.metric:<20} {fit.slope:>13.3f} "
            f"{fit.slope * sample:>10,.0f} {format_bytes(fit.intercept):>10} "
            f"{r2:>6}  {row.where}"
        )
