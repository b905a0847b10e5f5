"""``loadbench sweep``: every strategy at several sizes of the built-in dataset, then a
straight-line fit of each one's memory and graph bytes against dataset bytes, and the
dataset size at which each line crosses the 2 GiB protobuf limit and the RAM."""

from __future__ import annotations

import argparse

import psutil

from loadbench.cli import common
from loadbench.harness.parent.plan import DatasetChoice, plan
from loadbench.harness.parent.session import none_started, run_jobs
from loadbench.loaders.dataset.layout import describe
from loadbench.loaders.dataset.synth import builtin_dataset
from loadbench.loaders.errors import OptionsError
from loadbench.reports import jsonl, tables, text
from loadbench.reports.fit import break_points
from loadbench.reports.memory_model import TOLERANCE
from loadbench.reports.records import Record
from loadbench.reports.units import parse_bytes

HELP = "measure every strategy at several dataset sizes; fit memory and graph against size"
DEFAULT_SIZES = "250,500,1000,2000"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("what to run")
    what.add_argument(
        "--pair-counts",
        default=DEFAULT_SIZES,
        metavar="N,N,...",
        help=f"the built-in dataset's sizes, in pairs (default: {DEFAULT_SIZES})",
    )
    what.add_argument(
        "--ram",
        metavar="SIZE",
        help="your training machine's RAM, growth is held against, e.g. 64GB (this one's)",
    )
    common.add_measurement_arguments(parser, sweep=True, what=what)
    parser.set_defaults(mode="iterate")  # memory against size is the pipeline's question


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise OptionsError(
            f"--pair-counts {text!r}: expected counts such as 250,500,1000"
        ) from None
    if len(sizes) < 2 or sizes[0] < 1:
        raise OptionsError(f"--pair-counts {text!r}: give at least two sizes, each 1 or more")
    return sizes


def run(args: argparse.Namespace) -> int:
    sizes = parse_sizes(args.pair_counts)
    ram = parse_bytes(args.ram, "--ram") or psutil.virtual_memory().total
    cache_root = common.cache_root(args)
    largest = builtin_dataset(cache_root, sizes[-1], args.size)
    # the smaller ones are the first pairs of the largest: no redraw
    roots = [builtin_dataset(cache_root, n, args.size, largest) for n in sizes]
    datasets = [DatasetChoice(split=describe(root, "train"), synthetic=True) for root in roots]
    config = common.run_config(args, datasets, sweep=True)
    harness = common.make_harness(args)
    done = run_jobs(plan(config), harness)
    assert harness.results is not None
    found = [
        r
        for r in jsonl.read(harness.results)
        if r.dataset.get("pairs") in sizes and r.dataset.get("image_size") == [args.size] * 2
    ]
    _print_fits(found, ram)
    rows = tables.model_rows(found)
    if rows:
        print("\n" + text.memory_model(rows, f"{TOLERANCE:.0%}"))
    if found and not args.no_report:
        from loadbench.reports.html import write_report

        report = write_report(
            found, config.out / "report", sources=[str(harness.results)], ram_bytes=ram
        )
        print(f"\nreport: {report}")
    return 1 if none_started(done) else 0


def _print_fits(found: list[Record], ram: int) -> None:
    breaks = break_points(found, ram)
    if breaks.empty:
        print("\nno fit: fewer than two sizes ended ok for every strategy")
        return
    sample = found[0].dataset["bytes_per_sample"]
    print("\n" + text.fits(tables.fit_rows(breaks, sample, near_bytes=0), sample))
