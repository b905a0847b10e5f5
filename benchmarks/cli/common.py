"""What several commands share: the arguments of a measurement (``run`` and ``sweep``)
and of a comparison (``report --baseline`` and ``compare``), and the typed configuration
each set becomes. An ``argparse.Namespace`` goes no further than this package."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from loadbench.harness.data_service import PROCESSING_MODES, parse_service
from loadbench.harness.plan import (
    DEFAULT_BATCH,
    DEFAULT_MIN_TIME,
    DEFAULT_REPEATS,
    DEFAULT_SIZE,
    DEFAULT_STEPS,
    DEFAULT_WARMUP,
    DatasetChoice,
    RunConfig,
)
from loadbench.harness.presets import TIERS, Tier
from loadbench.harness.runner import START_METHODS
from loadbench.harness.session import (
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
from loadbench.loaders.options import (
    CACHE_MODES,
    NORMALIZE_MODES,
    Normalize,
    PipelineOptions,
    parse_count,
)
from loadbench.reports import text
from loadbench.reports.compare import Tolerances
from loadbench.reports.units import parse_bytes, parse_percent
from loadbench.workload import accelerators

DEFAULT_OUT = "loadbench-results"


def add_measurement_arguments(parser: argparse.ArgumentParser, sweep: bool = False) -> None:
    """The arguments of what to run, with which pipeline options, under which harness."""
    data = parser.add_argument_group("dataset")
    data.add_argument("--size", type=int, default=DEFAULT_SIZE, help="built-in image side")
    data.add_argument("--cache-dir", type=Path, help="converted files and built-in dataset")
    what = parser.add_argument_group("what to run")
    what.add_argument(
        "-l",
        "--loaders",
        help="comma-separated names or package.module:Name (default: every registered strategy)",
    )
    what.add_argument(
        "-m",
        "--mode",
        choices=(*MODES, "both"),
        default="both",
        help="iterate (the pipeline alone), train (through the training step) or both (default)",
    )
    what.add_argument(
        "--steps",
        type=int,
        help="measured batches per run (default: "
        f"{DEFAULT_STEPS['iterate']} iterating, {DEFAULT_STEPS['train']} training, "
        f"{DEFAULT_STEPS['cpu']} on the real CPU step)",
    )
    what.add_argument(
        "--warmup",
        type=int,
        help="batches excluded first (default: "
        f"{DEFAULT_WARMUP['iterate']} iterating, {DEFAULT_WARMUP['train']} training, "
        f"{DEFAULT_WARMUP['cpu']} on the real CPU step)",
    )
    what.add_argument(
        "--width",
        type=int,
        help="model width of the real training step (default: 16 on a GPU, 4 on a CPU; an "
        "emulated accelerator times the width its profile says)",
    )
    known = ", ".join(accelerators.builtin())
    what.add_argument(
        "--accelerator",
        help="what training runs stand for: an emulated accelerator from the table "
        f"({known}), an accelerator profile FILE from `loadbench calibrate`, or the real "
        f"step: 'cpu', 'gpu' (default: gpu where TensorFlow sees one, else "
        f"{accelerators.DEFAULT_EMULATED})",
    )
    what.add_argument(
        "--step-time",
        type=float,
        help="emulate an accelerator whose training step takes this many seconds per batch",
    )
    what.add_argument(
        "--fed-search",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="training runs also find how many accelerators the pipeline keeps 90%% busy "
        "(default: yes)",
    )
    if not sweep:
        what.add_argument(
            "--min-time",
            type=float,
            help="after --steps, go on until the measured batches span this many seconds "
            f"(default: {DEFAULT_MIN_TIME['iterate']:g} iterating or training, none on the "
            "real CPU step or with --preset; 0: exactly --steps)",
        )
    pipe = parser.add_argument_group("pipeline options")
    pipe.add_argument(
        "-b",
        "--batch-size",
        type=int,
        help=f"default: {DEFAULT_BATCH['iterate']}; {DEFAULT_BATCH['cpu']} training on the real "
        "CPU step; 200 with --preset seed",
    )
    pipe.add_argument("--shuffle", type=int, default=0, help="shuffle buffer, 0 = off")
    pipe.add_argument("--seed", type=int, default=0)
    pipe.add_argument("--cache", choices=CACHE_MODES, default="none")
    pipe.add_argument("--prefetch", default="auto", help="'auto' or a batch count")
    pipe.add_argument("--parallelism", default="auto", help="'auto' or a count")
    pipe.add_argument(
        "--normalize",
        choices=(*NORMALIZE_MODES, "both"),
        default="device",
        help="where uint8 pixels become the model's floats: 'device' (default: uint8 batches, "
        "scaled inside the training step), 'host' (a per-batch float map in the pipeline, "
        "what it costs), or 'both' (each run once with each)",
    )
    pipe.add_argument(
        "--use-multiprocessing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="sequence's PyDataset workers are processes (default), or threads with --no-...",
    )
    add_harness_arguments(
        parser,
        repeats=1 if sweep else DEFAULT_REPEATS,
        ceilings=not sweep,
    )


def add_harness_arguments(
    parser: argparse.ArgumentParser, *, repeats: int, ceilings: bool = False
) -> argparse._ArgumentGroup:
    """How each run is repeated, watched and recorded (``harness``); the group, for a
    command's own additions."""
    harness = parser.add_argument_group("harness")
    harness.add_argument(
        "-r",
        "--repeats",
        type=int,
        help="runs of each measurement, each in a fresh child; the table shows their "
        f"median (default: {repeats})",
    )
    parser.set_defaults(default_repeats=repeats)
    if ceilings:
        harness.add_argument(
            "--ceilings",
            action=argparse.BooleanOptionalAction,
            help="also measure the machine's decode and copy ceilings (default: yes; not with "
            "--fast or --preset)",
        )
    add_out(harness, "records, logs and the report")
    harness.add_argument("--timeout", type=float, default=600, help="seconds per run")
    harness.add_argument(
        "--start-method",
        choices=START_METHODS,
        help="how each run's fresh process starts: forked from a server that has imported "
        "TensorFlow but never run it (forkserver, the default), or a new interpreter "
        "(spawn, 3.5 s more a run); default: $LOADBENCH_START_METHOD or forkserver",
    )
    harness.add_argument(
        "--kill-above",
        metavar="SIZE",
        help="kill a run when its whole process tree's memory (summed RSS, TensorFlow's own "
        "included) passes SIZE, e.g. 4GB; the run is recorded as over_budget",
    )
    harness.add_argument("--memray", action="store_true", help="add a memray-tracked run")
    harness.add_argument("--resume", action="store_true", help="skip runs already in OUT")
    harness.add_argument(
        "--no-report", action="store_true", help="do not write OUT/report/index.html at the end"
    )
    shown = parser.add_argument_group("output")
    shown.add_argument(
        "-q", "--quiet", action="store_true", help="no line per run: the verdict and table only"
    )
    shown.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="under the table, why each row's repeats differ, and the ceilings' references",
    )
    shown.add_argument(
        "--wide",
        action="store_true",
        help="every column with its spread (wider than 120 characters)",
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


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    served = parser.add_argument_group("tf.data service")
    served.add_argument(
        "--service",
        help="route each pipeline through a tf.data service: worker counts, e.g. 2 or "
        "0,1,2 (0 = without; a dispatcher and that many worker processes are started on "
        "localhost per run), or grpc://HOST:PORT of your dispatcher",
    )
    served.add_argument("--processing-mode", choices=PROCESSING_MODES, default=PROCESSING_MODES[0])


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


def add_tiers(parser: argparse.ArgumentParser) -> None:
    """``--fast`` and ``--rigorous``: how deep a run looks (``presets.TIERS``); a flag
    given beside one wins over it."""
    tiers = parser.add_argument_group("depth").add_mutually_exclusive_group()
    fast, rigorous = TIERS["fast"], TIERS["rigorous"]
    tiers.add_argument(
        "--fast",
        dest="tier",
        action="store_const",
        const="fast",
        help=f"a first look: {fast.repeats} repeat, runs of {fast.min_time_s:g} s, no ceilings",
    )
    tiers.add_argument(
        "--rigorous",
        dest="tier",
        action="store_const",
        const="rigorous",
        help=f"{rigorous.repeats} repeats of runs of at least {rigorous.min_time_s:g} s",
    )


def _tier(args: argparse.Namespace) -> Tier | None:
    name = getattr(args, "tier", None)
    return TIERS[name] if name else None


def repeats_of(args: argparse.Namespace) -> int:
    """``--repeats`` where given, else the tier's, else the command's default."""
    if args.repeats is not None:
        return int(args.repeats)
    tier = _tier(args)
    return tier.repeats if tier else int(args.default_repeats)


def min_time_of(args: argparse.Namespace) -> float | None:
    if args.min_time is not None:
        return float(args.min_time)
    tier = _tier(args)
    return tier.min_time_s if tier else None


def ceilings_of(args: argparse.Namespace) -> bool:
    if args.ceilings is not None:
        return bool(args.ceilings)
    tier = _tier(args)
    return tier.ceilings if tier else True


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


def add_tolerances(parser: argparse.ArgumentParser) -> None:
    """The compare tolerances; shared by ``report --baseline`` and ``compare``."""
    gate = parser.add_argument_group("regression tolerances")
    gate.add_argument(
        "--memory-tolerance", default="10%", help="the peak above the baseline (default 10%%)"
    )
    gate.add_argument("--graph-tolerance", default="1%", help="graph bytes (default 1%%)")
    gate.add_argument("--throughput-tolerance", default="25%", help="samples/s (default 25%%)")
    gate.add_argument(
        "--memory-floor",
        default="0",
        metavar="SIZE",
        help="changes of the peak above the baseline smaller than SIZE never fail, e.g. 16MB "
        "(default 0)",
    )
    gate.add_argument(
        "--alpha",
        type=float,
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
