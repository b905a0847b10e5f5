"""``loadbench run``: every strategy over one split, timed in this process.

Without ``--data`` it uses the built-in synthetic dataset (made on first use under the
cache directory). The isolated per-child harness replaces the in-process timing later.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from loaders.converted import default_cache_root
from loaders.layout import describe
from loaders.options import CACHE_MODES, PipelineOptions, parse_count
from loaders.synth import SynthParams, synthesize
from reports.units import format_bytes, format_rate, format_seconds

HELP = "measure every strategy on a dataset (the built-in synthetic one by default)"
DEFAULT_PAIRS = 1000
DEFAULT_SIZE = 256


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="dataset root (default: built-in synthetic)")
    parser.add_argument("--split", default="train", help="split to read (default: train)")
    parser.add_argument(
        "--synthetic-pairs", type=int, default=DEFAULT_PAIRS, help="built-in dataset pairs"
    )
    parser.add_argument(
        "--synthetic-size", type=int, default=DEFAULT_SIZE, help="built-in dataset image side"
    )
    parser.add_argument(
        "--strategy",
        action="append",
        dest="strategies",
        help="strategy name or package.module:Name; repeat for several (default: all)",
    )
    parser.add_argument(
        "--loader", action="append", default=[], help="also run a strategy package.module:Name"
    )
    parser.add_argument("--mode", choices=("iterate", "train"), default="iterate")
    parser.add_argument("--width", type=int, default=16, help="model width in train mode")
    parser.add_argument("--epochs", type=int, default=3, help="epochs; the first is warm-up")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--shuffle", type=int, default=0, help="shuffle buffer, 0 = off")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", choices=CACHE_MODES, default="none")
    parser.add_argument("--prefetch", default="auto", help="'auto' or a batch count")
    parser.add_argument("--parallelism", default="auto", help="'auto' or a count")
    parser.add_argument("--use-multiprocessing", action="store_true")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="converted files and the built-in dataset"
    )


def run(args: argparse.Namespace) -> int:
    from benchmarks.iterate import measure
    from loaders import registry

    cache_root = args.cache_dir or default_cache_root()
    root = args.data or _builtin_dataset(cache_root, args.synthetic_pairs, args.synthetic_size)
    spec = describe(root, args.split)
    options = PipelineOptions(
        batch_size=args.batch_size,
        shuffle_buffer=args.shuffle,
        seed=args.seed,
        cache=args.cache,
        prefetch=parse_count(args.prefetch, "prefetch"),
        parallelism=parse_count(args.parallelism, "parallelism"),
        use_multiprocessing=args.use_multiprocessing,
    )
    names = (args.strategies or registry.names()) + args.loader
    consume = _train_step(spec, args.width) if args.mode == "train" else None
    height, width = spec.image_size
    print(
        f"dataset {root} split {spec.split}: {spec.pairs} pairs {width}x{height}, "
        f"{format_bytes(spec.total_bytes)} as uint8; mode {args.mode}, batch {options.batch_size}"
    )
    print(f"{'strategy':<16} {'prepare':>9} {'first batch':>12} {'steady rate':>20}")
    for name in names:
        strategy = registry.create(name)
        timing = measure(strategy, spec, options, cache_root, epochs=args.epochs, consume=consume)
        print(
            f"{timing.strategy:<16} {format_seconds(timing.prepare_s):>9} "
            f"{format_seconds(timing.first_batch_s):>12} {format_rate(timing.samples_per_s):>20}"
        )
    return 0


def _builtin_dataset(cache_root: Path, pairs: int, size: int) -> Path:
    params = SynthParams(pairs=pairs, size=size, splits={"train": 1.0}, seed=0)
    root = cache_root / "datasets" / f"synthetic-{pairs}x{size}-seed0"
    synthesize(root, params)
    return root


def _train_step(spec, width: int):
    from benchmarks.train_step import TrainStep

    step = TrainStep(spec.image_size, width=width)
    return lambda time1, time2, label: step(time1, time2, label)
