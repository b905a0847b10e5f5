"""``loadbench profile MODULE:FUNCTION ...``: a user's own pipeline, each FUNCTION a run
in its own child with every probe a strategy gets; records to ``OUT/results.jsonl``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.harness.data_service import parse_service
from benchmarks.harness.profile import (
    DEFAULT_MIN_TIME_S,
    DEFAULT_STEPS,
    DEFAULT_WARMUP,
    ProfileConfig,
    profile_jobs,
)
from benchmarks.harness.runner import START_METHODS
from benchmarks.harness.session import RESULTS, Done, Harness, none_started, records_of, run_jobs
from benchmarks.workload import accelerators
from loaders.errors import OptionsError
from reports import text
from reports.units import parse_bytes

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
        "--batch",
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
        default=DEFAULT_MIN_TIME_S,
        help="after --steps, go on until the measured batches span this many seconds "
        "(default: %(default)g; 0: exactly --steps)",
    )
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
    harness = parser.add_argument_group("harness")
    harness.add_argument("--repeats", type=int, default=3, help="fresh children per FUNCTION")
    harness.add_argument("--out", type=Path, default=Path("loadbench-results"))
    harness.add_argument("--timeout", type=float, default=600, help="seconds per run")
    harness.add_argument("--start-method", choices=START_METHODS)
    harness.add_argument("--max-memory", help="kill a run whose process tree passes this")
    harness.add_argument("--memray", action="store_true", help="add a memray-tracked run")
    harness.add_argument(
        "--service",
        help="route the pipeline through a tf.data service of N local workers (can it be "
        "distributed? a pipeline that cannot ends its run with TensorFlow's reason)",
    )
    harness.add_argument("--resume", action="store_true", help="skip runs already in OUT")
    harness.add_argument("--no-report", action="store_true", help="no OUT/report/index.html")


def run(args: argparse.Namespace) -> int:
    config = _config(args)
    out = Path(args.out)
    harness = Harness(
        results=out / RESULTS,
        timeout_s=args.timeout,
        max_memory_bytes=parse_bytes(args.max_memory, "--max-memory"),
        memray_dir=out / "memray" if args.memray else None,
        resume=args.resume,
        start_method=args.start_method,
    )
    done: list[Done] = []
    try:
        run_jobs(profile_jobs(config), harness, done)
    finally:
        if summary := text.run_summary(records_of(done)):
            print(summary)
    if not args.no_report and harness.results and harness.results.is_file():
        from reports.html import write_report
        from reports.load import load

        report = write_report(load([harness.results]), out / "report", [str(harness.results)])
        print(f"\nreport: {report}")
    return 1 if none_started(done) else 0


def _config(args: argparse.Namespace) -> ProfileConfig:
    try:
        kwargs = json.loads(args.kwargs)
    except json.JSONDecodeError as exc:
        raise OptionsError(f"--kwargs {args.kwargs!r}: not JSON ({exc})") from exc
    if not isinstance(kwargs, dict):
        raise OptionsError(f"--kwargs {args.kwargs!r}: must be a JSON object, e.g. '{{\"n\": 8}}'")
    services = [s for s in parse_service(args.service) if s not in (None, "0")]
    if len(services) > 1:
        raise OptionsError(f"--service {args.service}: one worker count or grpc:// address")
    return ProfileConfig(
        targets=tuple(args.targets),
        kwargs=kwargs,
        steps=args.steps,
        warmup=args.warmup,
        min_time_s=args.min_time,
        batch=args.batch,
        model=args.model,
        accelerator=accelerators.choose(None, args.step_time),
        fed_search=args.fed_search,
        service=services[0] if services else None,
        repeats=args.repeats,
        out=Path(args.out),
    )
