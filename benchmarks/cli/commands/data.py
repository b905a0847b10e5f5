"""``loadbench data synth`` and ``loadbench data check``."""

from __future__ import annotations

import argparse
from pathlib import Path

from loadbench.loaders.dataset.check import check_dataset
from loadbench.loaders.dataset.layouts import known_names, parse_folders
from loadbench.loaders.dataset.synth import (
    DEFAULT_SPLITS,
    SynthParams,
    format_splits,
    parse_splits,
    synthesize,
)
from loadbench.reports.units import format_bytes

HELP = "make a synthetic dataset, or validate one on disk"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    synth = sub.add_parser("synth", help="write a synthetic change-detection dataset")
    synth.add_argument(
        "-o", "--out", type=Path, metavar="DIR", required=True, help="folder to write it to"
    )
    synth.add_argument("--pairs", type=int, required=True, help="number of image pairs")
    synth.add_argument("--size", type=int, required=True, help="image side in pixels")
    synth.add_argument(
        "--splits",
        default=format_splits(DEFAULT_SPLITS),
        help="fractions per split (default: %(default)s)",
    )
    synth.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    synth.add_argument(
        "-j", "--jobs", type=int, default=None, help="images written at once (default: CPUs)"
    )
    check = sub.add_parser("check", help="validate a dataset and print its size per split")
    check.add_argument("root", type=Path, metavar="DIR")
    check.add_argument(
        "-j", "--jobs", type=int, default=None, help="images read at once (default: CPUs)"
    )
    check.add_argument(
        "--folders",
        metavar="BEFORE,AFTER,MASK",
        help="the before, after and mask folders of each split, for a naming no known "
        f"layout has (default: recognised among {known_names()})",
    )


def run(args: argparse.Namespace) -> int:
    if args.data_command == "synth":
        params = SynthParams(
            pairs=args.pairs, size=args.size, splits=parse_splits(args.splits), seed=args.seed
        )
        counts = synthesize(args.out, params, workers=args.jobs)
        listed = ", ".join(f"{name} {count}" for name, count in counts.items())
        print(f"wrote {params.pairs} pairs of {params.size}x{params.size} to {args.out} ({listed})")
        return 0
    folders = parse_folders(args.folders) if args.folders else None
    return _check(args.root, args.jobs, folders)


def _check(root: Path, workers: int | None, folders: tuple[str, str, str] | None) -> int:
    results = check_dataset(root, workers, folders)
    header = f"{'split':<10} {'pairs':>7} {'image size':>11} {'bytes/sample':>13} {'total':>10}"
    print(header)
    for result in results:
        data = result.data
        if data is None:
            print(f"{result.split:<10} {'invalid':>7}")
            continue
        height, width = data.image_size
        print(
            f"{result.split:<10} {data.pairs:>7} {f'{width}x{height}':>11} "
            f"{data.bytes_per_sample:>13,} {format_bytes(data.total_bytes):>10}"
        )
    recognised = [r for r in results if r.data is not None]
    if recognised:
        print()
    for result in recognised:
        assert result.data is not None
        print(f"{result.split}: {result.data.layout_summary}")
    failed = [r for r in results if not r.ok]
    for result in failed:
        print(f"\n{root / result.split}: problems found:")
        for problem in result.problems:
            print(f"  {problem}")
    if failed:
        print(f"\n{len(failed)} of {len(results)} split(s) failed the check")
        return 2
    return 0
