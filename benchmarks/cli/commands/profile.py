"""``loadbench profile MODULE:FUNCTION ...``: a user's own pipeline, each FUNCTION a run
in its own child with every probe a strategy gets; records to ``OUT/results.jsonl``."""

from __future__ import annotations

import argparse
from pathlib import Path

from loadbench.cli import common, targets, tiers
from loadbench.harness.child.data_service import parse_service
from loadbench.harness.commands.profile import (
    DEFAULT_MIN_TIME_S,
    DEFAULT_REPEATS,
    DEFAULT_STEPS,
    DEFAULT_WARMUP,
    ProfileConfig,
    profile_jobs,
)
from loadbench.loaders.errors import OptionsError
from loadbench.workload import accelerators

HELP = "measure your own pipeline: MODULE:FUNCTION returning a tf.data.Dataset or a PyDataset"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        nargs="+",
        metavar="MODULE:FUNCTION",
        help="a function returning a tf.data.Dataset or keras.utils.PyDataset (module "
        "importable from the working folder, or path/to/file.py:FUNCTION); several "
        "compare side by side; NAME=MODULE:FUNCTION records it as NAME (two versions of "
        "one pipeline under one name are one run to `loadbench compare`)",
    )
    parser.add_argument("--kwargs", default="{}", help="FUNCTION's keyword arguments, as JSON")
    parser.add_argument(
        "-b",
        "--batch-size",
        type=int,
        help="the dataset yields single samples: batch them by N (default: its elements "
        "are batches, samples counted along the first dimension)",
    )
    parser.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help="measured batches (default: %(default)s)"
    )
    parser.add_argument(
        "--warmup", type=int, default=DEFAULT_WARMUP, help="batches excluded first (default: 3)"
    )
    parser.add_argument(
        "--min-time",
        type=float,
        help="after --steps, go on until the measured batches span this many seconds "
        f"(default: {DEFAULT_MIN_TIME_S:g}; 0: exactly --steps)",
    )
    tiers.add_tiers(parser.add_argument_group("depth"))
    train = parser.add_argument_group("training")
    train.add_argument(
        "--model",
        metavar="MODULE:FUNCTION",
        help="a function returning a compiled keras.Model: each batch goes through its "
        "train_step (its loss and optimizer), timed",
    )
    train.add_argument(
        "--step-time",
        type=float,
        help="emulate an accelerator whose step of YOUR model takes this many seconds per "
        "batch: AU against the 90%% line and the accelerators fed",
    )
    train.add_argument(
        "--fed-search",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --step-time, find how many such accelerators the pipeline keeps busy",
    )
    harness = common.add_harness_arguments(parser, repeats=DEFAULT_REPEATS)
    harness.add_argument(
        "--service",
        help="route the pipeline through a tf.data service of N local workers (can it be "
        "distributed? a pipeline that cannot ends its run with TensorFlow's reason)",
    )


def run(args: argparse.Namespace) -> int:
    return common.run_and_report(profile_jobs(_config(args)), args)


def _min_time(args: argparse.Namespace) -> float:
    found = tiers.min_time_of(args)
    return DEFAULT_MIN_TIME_S if found is None else found


def _config(args: argparse.Namespace) -> ProfileConfig:
    kwargs = targets.kwargs_of(args)
    services = [s for s in parse_service(args.service) if s not in (None, "0")]
    if len(services) > 1:
        raise OptionsError(f"--service {args.service}: one worker count or grpc:// address")
    return ProfileConfig(
        targets=tuple(args.targets),
        kwargs=kwargs,
        steps=args.steps,
        warmup=args.warmup,
        min_time_s=_min_time(args),
        batch=args.batch_size,
        model=args.model,
        accelerator=accelerators.choose(None, args.step_time),
        fed_search=args.fed_search,
        service=services[0] if services else None,
        repeats=tiers.repeats_of(args),
        out=Path(args.out),
    )
