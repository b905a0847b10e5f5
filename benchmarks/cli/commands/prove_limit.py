"""``loadbench prove-limit``: a built-in dataset just over the 2 GiB protobuf limit, taken
through every path on which TensorFlow serializes a dataset's graph, each strategy and
path in its own child, with the real outcome recorded (the bytes, the exception's text,
the signal). It estimates the memory it needs first and refuses when the machine lacks it.
"""

from __future__ import annotations

import argparse
import math
import shutil
from pathlib import Path

import psutil

from loadbench.cli import common
from loadbench.harness.commands import limits
from loadbench.harness.parent.plan import DEFAULT_SIZE
from loadbench.harness.parent.session import Harness, run_jobs
from loadbench.loaders import registry
from loadbench.loaders.dataset.layout import describe
from loadbench.loaders.dataset.synth import SynthParams, builtin_dataset
from loadbench.loaders.errors import LoadbenchError, OptionsError
from loadbench.reports import tables, text
from loadbench.reports.records import PROTOBUF_LIMIT_BYTES, LimitRecord
from loadbench.reports.units import format_bytes, parse_bytes

HELP = "take a dataset just over 2 GiB through every graph-serializing path; record outcomes"
DEFAULT_LOADERS = "tensor_slices,generator,tfrecord,memmap"
RESULTS = "prove-limit.jsonl"
MARGIN = 1.005  # "just over": 0.5% past the limit, so every path sees a graph over it
# A process with TensorFlow imported and a pipeline built, rounded up (docs/CALIBRATION.md).
RUNTIME_BYTES = 1_000_000_000
# tensor_slices holds its decoded arrays, and a path that serializes them makes up to three
# more copies at once (the graph's tensor protos, the GraphDef, its serialized string).
SPLIT_COPIES = {"tensor_slices": 4}
CONVERTED = {"tfrecord", "memmap"}  # write a converted copy of the split to disk first


class NotEnoughMemory(LoadbenchError):
    """The machine lacks the RAM or disk the proof needs; nothing was started."""


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="image side")
    parser.add_argument(
        "--pairs",
        type=int,
        help="pairs in the dataset (default: the fewest whose tensor_slices graph is just "
        "over --limit)",
    )
    parser.add_argument(
        "--limit",
        default=str(PROTOBUF_LIMIT_BYTES),
        help="graph size that counts as over the limit (default: protobuf's 2 GiB); a "
        "smaller one, e.g. 1MB, stands in for it on a small dataset",
    )
    parser.add_argument("--loaders", default=DEFAULT_LOADERS, help="comma-separated strategies")
    parser.add_argument(
        "--paths", default=",".join(limits.PATHS), help=f"any of {', '.join(limits.PATHS)}"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cache-dir", type=Path, help="converted files and built-in dataset")
    common.add_out(parser, "the limit records and the report")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per path")
    parser.add_argument(
        "--no-report", action="store_true", help="do not write OUT/report/index.html at the end"
    )


def pairs_over(limit_bytes: int, bytes_per_sample: int) -> int:
    """The fewest pairs whose split (tensor_slices' graph) is just over ``limit_bytes``."""
    return math.ceil(limit_bytes * MARGIN / bytes_per_sample)


def memory_needed(strategy: str, data_bytes: int) -> int:
    """Estimated peak RSS of one child taking ``strategy`` through a path."""
    return RUNTIME_BYTES + SPLIT_COPIES.get(strategy, 0) * data_bytes


def check_resources(
    strategies: list[str], data_bytes: int, available_ram: int, free_disk: int, cache: Path
) -> None:
    """Refuse before anything starts when RAM or disk is short, saying what to do."""
    for name in strategies:
        need = memory_needed(name, data_bytes)
        if need > available_ram:
            raise NotEnoughMemory(
                f"prove-limit needs about {format_bytes(need)} of RAM for {name} on "
                f"{format_bytes(data_bytes)} of data (its arrays plus the copies TensorFlow "
                f"makes while serializing them), and this machine has "
                f"{format_bytes(available_ram)} available. Run it on a machine with more "
                f"memory, free some, or leave {name} out with --loaders"
            )
    disk = data_bytes * (1 + sum(name in CONVERTED for name in strategies))
    if disk > free_disk:
        raise NotEnoughMemory(
            f"prove-limit needs about {format_bytes(disk)} of disk under {cache} (the "
            f"dataset, about {format_bytes(data_bytes)} as uint8 and less as PNG, and one "
            f"converted copy per converting strategy), and {format_bytes(free_disk)} is "
            "free. Free some, or point --cache-dir elsewhere"
        )


def run(args: argparse.Namespace) -> int:
    limit = parse_bytes(args.limit, "--limit")
    if not limit:
        raise OptionsError(f"--limit {args.limit!r}: must be above 0")
    strategies = [n for n in args.loaders.split(",") if n]
    for name in strategies:
        registry.check(name)
    paths = [p for p in args.paths.split(",") if p]
    for path in paths:
        if path not in limits.PATHS:
            raise OptionsError(f"--paths {path!r}: must be among {', '.join(limits.PATHS)}")
    bytes_per_sample = SynthParams(pairs=1, size=args.size, splits={"train": 1.0}).bytes_per_sample
    pairs = args.pairs or pairs_over(limit, bytes_per_sample)
    data_bytes = pairs * bytes_per_sample
    cache_root = common.cache_root(args)
    cache_root.mkdir(parents=True, exist_ok=True)
    available = psutil.virtual_memory().available
    check_resources(
        strategies, data_bytes, available, shutil.disk_usage(cache_root).free, cache_root
    )
    print(
        f"dataset: {pairs} pairs {args.size}x{args.size}, {format_bytes(data_bytes)} as uint8 "
        f"(limit {format_bytes(limit)}); made once under {cache_root}"
    )
    data = describe(builtin_dataset(cache_root, pairs, args.size), "train")
    out = Path(args.out)
    jobs = limits.plan_limits(
        data, strategies, paths, limit, cache_root=cache_root, out=out, batch_size=args.batch_size
    )
    harness = Harness(results=out / RESULTS, timeout_s=args.timeout, max_memory_bytes=available)
    found = [d.record for d in run_jobs(jobs, harness) if isinstance(d.record, LimitRecord)]
    if found:
        print("\n" + text.limits(tables.limit_rows(found)))
    if not args.no_report:
        from loadbench.reports.html import write_report

        report = write_report([], out / "report", [str(out / RESULTS)], limits=found)
        print(f"\nreport: {report}")
    return 0
