"""What the measuring commands share: the arguments of a measurement (``run``, ``sweep``,
``profile``) and the typed configuration they become (a comparison's are in ``gate``).
An ``argparse.Namespace`` goes no further than this package."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from loadbench.cli.tiers import (
    add_tiers,
    ceilings_of,
    least_repeats_of,
    max_time_of,
    min_time_of,
    repeats_of,
    settle_window_of,
)
from loadbench.harness.child.data_service import PROCESSING_MODES, parse_service
from loadbench.harness.child.settle import WINDOW_S
from loadbench.harness.parent import presets
from loadbench.harness.parent.plan import (
    DEFAULT_BATCH,
    DEFAULT_MAX_TIME,
    DEFAULT_MIN_TIME,
    DEFAULT_REPEATS,
    DEFAULT_SIZE,
    DEFAULT_STEPS,
    DEFAULT_WARMUP,
    DatasetChoice,
    RunConfig,
)
from loadbench.harness.parent.presets import TIERS
from loadbench.harness.parent.runner import START_METHODS
from loadbench.harness.parent.session import (
    RESULTS,
    Done,
    Harness,
    Job,
    none_started,
    records_of,
    run_jobs,
)
from loadbench.harness.spec import MODES
from loadbench.loaders import registry
from loadbench.loaders.dataset.converted import default_cache_root
from loadbench.loaders.errors import OptionsError
from loadbench.loaders.options import (
    CACHE_MODES,
    NORMALIZE_MODES,
    Normalize,
    PipelineOptions,
    parse_count,
)
from loadbench.reports import text
from loadbench.reports.units import parse_bytes
from loadbench.workload import accelerators

DEFAULT_OUT = "loadbench-results"


def add_measurement_arguments(
    parser: argparse.ArgumentParser,
    sweep: bool = False,
    what: argparse._ArgumentGroup | None = None,
) -> None:
    """The arguments of what to run (into ``what``, where the command opened that group
    with its own dataset flags), with which pipeline options, under which harness."""
    what = what or parser.add_argument_group("what to run")
    what.add_argument("--size", type=int, default=DEFAULT_SIZE, help="built-in image side")
    what.add_argument(
        "--cache-dir", type=Path, metavar="DIR", help="converted files and built-in dataset"
    )
    if not sweep:
        add_tiers(what)
    what.add_argument(
        "-l",
        "--loaders",
        metavar="NAMES",
        help="comma-separated names or package.module:Name (default: every strategy)",
    )
    what.add_argument(
        "-m",
        "--mode",
        choices=(*MODES, "both"),
        default="both",
        metavar="MODE",
        help="iterate (the pipeline alone), train (through the step) or both (default)",
    )
    what.add_argument(
        "--steps",
        type=int,
        metavar="N",
        help=f"measured batches a run (default: {DEFAULT_STEPS['iterate']}; "
        f"{DEFAULT_STEPS['cpu']} on the real CPU step)",
    )
    what.add_argument(
        "--warmup",
        type=int,
        metavar="N",
        help=f"batches excluded first (default: {DEFAULT_WARMUP['iterate']} iterating, "
        f"{DEFAULT_WARMUP['train']} training, {DEFAULT_WARMUP['cpu']} on the real CPU step)",
    )
    if not sweep:
        what.add_argument(
            "--min-time",
            type=float,
            metavar="S",
            help="after --steps, go on until the measured batches span S seconds "
            f"(default: {DEFAULT_MIN_TIME['iterate']:g}; 0: exactly --steps)",
        )
        what.add_argument(
            "--max-time",
            type=float,
            metavar="S",
            help="then go on until the process tree's peak memory has settled (grown under "
            f"1%% over {WINDOW_S:g} s), at most S seconds of measured batches a run; the record "
            f"says whether it settled (default: {DEFAULT_MAX_TIME:g}; with --fast, no wait)",
        )
    known = ", ".join(accelerators.builtin())
    what.add_argument(
        "--accelerator",
        metavar="NAME",
        help=f"what training stands for: {known}, a profile FILE from calibrate, or the "
        f"real cpu or gpu (default: gpu if any, else {accelerators.DEFAULT_EMULATED})",
    )
    what.add_argument(
        "--step-time",
        type=float,
        metavar="S",
        help="emulate an accelerator whose training step takes S seconds a batch",
    )
    what.add_argument(
        "--width",
        type=int,
        metavar="N",
        help="model width of the real training step (default: 16 on a GPU, 4 on a CPU)",
    )
    what.add_argument(
        "--fed-search",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="training also finds how many accelerators the pipeline keeps 90%% busy (yes)",
    )
    pipe = parser.add_argument_group("pipeline options")
    pipe.add_argument(
        "-b",
        "--batch-size",
        type=int,
        metavar="N",
        help=f"samples a batch (default: {DEFAULT_BATCH['iterate']}; {DEFAULT_BATCH['cpu']} "
        f"training on the real CPU step; {presets.SEED_BATCH} with --preset seed)",
    )
    pipe.add_argument(
        "--shuffle", type=int, default=0, metavar="N", help="shuffle buffer (default: 0, off)"
    )
    pipe.add_argument("--seed", type=int, default=0, metavar="N", help="shuffle seed")
    pipe.add_argument(
        "--cache", choices=CACHE_MODES, default="none", help="none (default), memory or file"
    )
    pipe.add_argument("--prefetch", default="auto", metavar="N", help="'auto' or batches")
    pipe.add_argument("--parallelism", default="auto", metavar="N", help="'auto' or a count")
    pipe.add_argument(
        "--normalize",
        choices=(*NORMALIZE_MODES, "both"),
        default="device",
        metavar="WHERE",
        help="uint8 to float: device (default, in the step), host (a map in the pipeline), both",
    )
    pipe.add_argument(
        "--use-multiprocessing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="sequence's PyDataset workers are processes (default) or threads",
    )
    add_harness_arguments(
        parser,
        repeats=1 if sweep else DEFAULT_REPEATS,
        ceilings=not sweep,
        least=None if sweep else TIERS["default"].least_repeats,
    )


def add_harness_arguments(
    parser: argparse.ArgumentParser,
    *,
    repeats: int,
    ceilings: bool = False,
    least: int | None = None,
) -> argparse._ArgumentGroup:
    """How each run is repeated, watched, recorded and printed (``harness``); the group,
    for a command's own additions. ``least``: the repeats that always run by default (the
    rest only where they disagree); None: all of them."""
    harness = parser.add_argument_group("harness and output")
    harness.add_argument(
        "-r",
        "--repeats",
        type=int,
        metavar="N",
        help=f"runs of each measurement, each in a fresh child (default: {repeats})"
        if least is None
        else f"fresh-child runs of each (default: {repeats}; past {least}, only where they "
        "disagree)",
    )
    parser.set_defaults(default_repeats=repeats)
    if ceilings:
        harness.add_argument(
            "--ceilings",
            action=argparse.BooleanOptionalAction,
            help="the machine's decode and copy ceilings (default: yes, not with --fast)",
        )
    add_out(harness, "records, logs and the report")
    harness.add_argument(
        "--timeout", type=float, default=600, metavar="S", help="seconds a run (default: 600)"
    )
    harness.add_argument(
        "--start-method",
        choices=START_METHODS,
        metavar="HOW",
        help="forkserver (default; $LOADBENCH_START_METHOD) or spawn (3.5 s more a run)",
    )
    harness.add_argument(
        "--kill-above",
        metavar="SIZE",
        help="kill a run whose process tree's RSS passes SIZE, e.g. 4GB (over_budget)",
    )
    harness.add_argument("--memray", action="store_true", help="add a memray-tracked run")
    harness.add_argument("--resume", action="store_true", help="skip runs already in OUT")
    harness.add_argument(
        "--no-report", action="store_true", help="do not write OUT/report/index.html"
    )
    harness.add_argument(
        "-q", "--quiet", action="store_true", help="no line a run: the verdict and table only"
    )
    harness.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also why each row's repeats differ, and the ceilings' references",
    )
    harness.add_argument(
        "--wide", action="store_true", help="every column with its spread (past 120 columns)"
    )
    return harness


def add_out(parser: argparse.ArgumentParser | argparse._ArgumentGroup, what: str) -> None:
    """``-o/--out DIR``: the one folder a command writes to, the same default everywhere."""
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        metavar="DIR",
        default=Path(DEFAULT_OUT),
        help=f"folder for {what} (default: {DEFAULT_OUT})",
    )


def add_service_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--service",
        metavar="N|URL",
        help="through a tf.data service: local workers, e.g. 2 or 0,1,2, or grpc://HOST:PORT",
    )
    group.add_argument(
        "--processing-mode",
        choices=PROCESSING_MODES,
        default=PROCESSING_MODES[0],
        metavar="MODE",
        help=f"{' or '.join(PROCESSING_MODES)} (default: {PROCESSING_MODES[0]})",
    )


def cache_root(args: argparse.Namespace) -> Path:
    return Path(args.cache_dir) if args.cache_dir else default_cache_root()


def run_config(
    args: argparse.Namespace, datasets: list[DatasetChoice], *, sweep: bool = False
) -> RunConfig:
    """The measurement ``args`` asks for, on ``datasets``."""
    options = PipelineOptions(
        batch_size=args.batch_size or DEFAULT_BATCH["iterate"],
        shuffle_buffer=args.shuffle,
        seed=args.seed,
        cache=args.cache,
        prefetch=parse_count(args.prefetch, "prefetch"),
        parallelism=parse_count(args.parallelism, "parallelism"),
        use_multiprocessing=args.use_multiprocessing,
    )
    accelerator = accelerators.choose(args.accelerator, args.step_time)
    if accelerator.name == "gpu" and args.mode != "iterate":
        from loadbench.workload.device import has_gpu  # imports TensorFlow: only when asked

        accelerator.on(gpu=has_gpu())  # no GPU: fails now, not in each run
    sides: tuple[Normalize, ...] = (
        ("device", "host") if args.normalize == "both" else (args.normalize,)
    )
    services: list[str | None] = [*parse_service(getattr(args, "service", None))]
    return RunConfig(
        datasets=tuple(datasets),
        strategies=tuple(args.loaders.split(",") if args.loaders else registry.names()),
        modes=MODES if args.mode == "both" else tuple(m for m in MODES if m == args.mode),
        variants=tuple(replace(options, normalize=side) for side in sides),
        batch_given=args.batch_size is not None,
        steps=args.steps,
        warmup=args.warmup,
        min_time_s=None if sweep else min_time_of(args),
        max_time_s=None if sweep else max_time_of(args),
        least_repeats=None if sweep else least_repeats_of(args),
        settle_window_s=settle_window_of(args),
        time_floor=not sweep,
        width=args.width,
        services=tuple(services) or (None,),
        processing_mode=getattr(args, "processing_mode", PROCESSING_MODES[0]),
        repeats=repeats_of(args),
        ceilings=False if sweep else ceilings_of(args),
        tag_sizes=sweep,
        accelerator=accelerator,
        fed_search=args.fed_search,
        cache_root=cache_root(args),
        out=Path(args.out),
    )


def make_harness(args: argparse.Namespace) -> Harness:
    """Where records go and how each child is watched."""
    out = Path(args.out)
    return Harness(
        results=out / RESULTS,
        timeout_s=args.timeout,
        max_memory_bytes=parse_bytes(args.kill_above, "--kill-above"),
        memray_dir=out / "memray" if args.memray else None,
        resume=args.resume,
        start_method=args.start_method,
        quiet=args.quiet,
    )


def run_and_report(jobs: list[Job], args: argparse.Namespace) -> int:
    """Run ``jobs`` under the harness ``args`` asks for; print the summary of what ended
    (Ctrl-C included) and write ``OUT/report`` unless ``--no-report``. Exit status 1
    when not one child could be started."""
    harness = make_harness(args)
    done: list[Done] = []
    try:
        run_jobs(jobs, harness, done)
    finally:
        written = records_of(done)
        if summary := text.run_summary(written, wide=args.wide, verbose=args.verbose):
            print(summary)
    results = harness.results
    if not args.no_report and results and results.is_file():
        from loadbench.reports.html import write_report
        from loadbench.reports.load import load

        report = write_report(load([results]), Path(args.out) / "report", [str(results)])
        print(f"\nreport: {report}")
    return 1 if none_started(done) else 0


def add_own_out(parser: argparse._ArgumentGroup, command: str, what: str) -> None:
    """``-o/--out DIR`` for a command whose records are one search's (``diagnose``,
    ``tune``): by default a folder of its own under the common one, named after the
    command and its target, so that two of them never share a results file."""
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        metavar="DIR",
        help=f"folder for {what} (default: {DEFAULT_OUT}/{command}-TARGET)",
    )


def own_out(args: argparse.Namespace, command: str) -> Path:
    """The folder ``add_own_out`` gives: refused where a results file is already in it
    (its records would mix with this run's)."""
    from loadbench.harness.parent.builder import stem

    out = Path(args.out) if args.out else Path(DEFAULT_OUT) / stem(command, args.target)
    if (out / RESULTS).exists():
        raise OptionsError(
            f"{out / RESULTS} already holds records (of an earlier {command}?); give another "
            "--out, or move that folder away"
        )
    return out
