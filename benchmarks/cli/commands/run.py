"""``loadbench run``: every strategy in both modes, each run in its own child process.

Without ``--data`` it uses the built-in synthetic dataset (made on first use under the
cache directory). Each run's record is appended to ``OUT/results.jsonl`` as it ends.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from loadbench.cli import common
from loadbench.harness.parent import page_cache, presets
from loadbench.harness.parent.plan import DEFAULT_PAIRS, DatasetChoice, plan
from loadbench.harness.parent.runner import start_server, stop_fork_server
from loadbench.loaders.dataset.layout import describe
from loadbench.loaders.dataset.layouts import BUILTIN, parse_folders
from loadbench.loaders.dataset.synth import builtin_dataset
from loadbench.loaders.errors import OptionsError
from loadbench.reports.units import format_bytes

HELP = "measure every strategy on a dataset (the built-in synthetic one by default)"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("what to run")
    what.add_argument(
        "-d",
        "--data",
        type=Path,
        metavar="DIR",
        help="your dataset's root (default: the built-in synthetic one)",
    )
    what.add_argument("--split", default="train", help="split to read (default: train)")
    what.add_argument(
        "--folders",
        metavar="BEFORE,AFTER,MASK",
        help="with --data: the split's folders, where no known layout names them",
    )
    what.add_argument(
        "--pairs",
        type=int,
        metavar="N",
        help=f"built-in dataset pairs (default: {DEFAULT_PAIRS}; "
        f"{presets.SEED_PAIRS} with --preset seed)",
    )
    common.add_measurement_arguments(parser, what=what)
    extra = parser.add_argument_group("preset and tf.data service")
    extra.add_argument(
        "--preset",
        choices=("seed",),
        help="seed: the article's pipeline loadbench comes from, then its variants (docs/seed.md)",
    )
    extra.add_argument(
        "--epochs", type=int, default=2, metavar="N", help="epochs a run with --preset (2)"
    )
    common.add_service_arguments(extra)


def run(args: argparse.Namespace) -> int:
    folders = _folders(args)  # before the fork server: a bad value costs nothing
    # The fork server imports TensorFlow while the dataset is made or checked; stopped
    # here too, should the dataset or the options be refused before any run.
    start_server(args.start_method)
    try:
        return _run(args, folders)
    finally:
        stop_fork_server()


def _folders(args: argparse.Namespace) -> tuple[str, str, str] | None:
    if args.folders is None:
        return None
    if args.data is None:
        raise OptionsError(
            f"--folders {args.folders}: only with --data (the built-in dataset is written as "
            f"{', '.join(BUILTIN.folders)})"
        )
    return parse_folders(args.folders)


def _run(args: argparse.Namespace, folders: tuple[str, str, str] | None) -> int:
    cache_root = common.cache_root(args)
    seed = args.preset == "seed"
    if args.data is None:
        pairs = args.pairs or (presets.SEED_PAIRS if seed else DEFAULT_PAIRS)
        root, synthetic = builtin_dataset(cache_root, pairs, args.size), True
    else:
        root, synthetic = args.data, False
    # The seed preset runs the article's positional pairing on a split that misses a
    # file, to show what it does; loadbench's own strategies then leave the file out.
    data = describe(root, args.split, skip_unpaired=seed, folders=folders)
    if seed and args.loaders is None:
        args.loaders = presets.SEED_STRATEGY
    if seed and args.mode == "both":
        args.mode = "iterate"
    config = common.run_config(args, [DatasetChoice(split=data, synthetic=synthetic)])
    if seed:
        config = presets.seed(config, args.epochs, args.batch_size)
    height, width = data.image_size
    layout = "" if synthetic else f" ({data.layout_summary})"
    print(
        f"dataset {'synthetic' if synthetic else data.root} split {data.split}{layout}: "
        f"{data.pairs} pairs {width}x{height}, {format_bytes(data.total_bytes)} as uint8"
    )
    if data.unpaired:
        print(
            f"left out, no partner of the same name in the other folders: "
            f"{', '.join(data.unpaired)} (the article's zip(sorted) pairs them by position)"
        )
    print(page_cache.warm(page_cache.split_files(data, cache_root)).said())
    return common.run_and_report(plan(config), args)
