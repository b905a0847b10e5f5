"""``loadbench run``: every strategy in both modes, each run in its own child process.

Without ``--data`` it uses the built-in synthetic dataset (made on first use under the
cache directory). Each run's record is appended to ``OUT/results.jsonl`` as it ends.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from benchmarks import records
from benchmarks.records import Record
from benchmarks.spec import MODES, RunSpec
from loaders.converted import default_cache_root
from loaders.errors import OptionsError
from loaders.layout import DatasetSpec, describe
from loaders.options import AUTOTUNE, CACHE_MODES, PipelineOptions, parse_count
from loaders.synth import SynthParams, synthesize, synthesize_from
from reports.metrics import BY_FIELD, SUMMARY_FIELDS
from reports.units import first_line, format_bytes, parse_bytes

HELP = "measure every strategy on a dataset (the built-in synthetic one by default)"
DEFAULT_PAIRS = 1000
DEFAULT_BATCH = 32
DEFAULT_SIZE = 256
RESULTS = "results.jsonl"
# A CPU training step at 256x256, batch 32 takes seconds: fewer steps keep the default
# run within minutes on 2 cores.
DEFAULT_STEPS = {"iterate": 30, "train": 8}
DEFAULT_WARMUP = {"iterate": 5, "train": 2}
ALWAYS_SHOWN = ("samples_per_s", "peak_rss_bytes", "dataset_graph_bytes")
# --preset seed: the pipeline of the story in DESIGN.md, on a dataset twice the shuffle
# buffer, so that a cache that keeps the split shows as more than the buffer does.
SEED_STRATEGY = "generator"
SEED_BATCH = 200
SEED_SHUFFLE = 1000
SEED_PAIRS = 2000


def prepare_parser(parser: argparse.ArgumentParser, sweep: bool = False) -> None:
    data = parser.add_argument_group("dataset")
    if sweep:  # the built-in dataset at several sizes
        data.add_argument(
            "--pairs", default="250,500,1000,2000", help="comma-separated built-in sizes"
        )
    else:
        data.add_argument("--data", type=Path, help="dataset root (default: built-in synthetic)")
        data.add_argument("--split", default="train", help="split to read (default: train)")
        data.add_argument(
            "--pairs",
            type=int,
            help=f"built-in dataset pairs (default: {DEFAULT_PAIRS}; "
            f"{SEED_PAIRS} with --preset seed)",
        )
    data.add_argument("--size", type=int, default=DEFAULT_SIZE, help="built-in image side")
    data.add_argument("--cache-dir", type=Path, help="converted files and built-in dataset")
    what = parser.add_argument_group("what to run")
    what.add_argument(
        "--loaders",
        help="comma-separated names or package.module:Name (default: every registered strategy)",
    )
    what.add_argument("--mode", choices=(*MODES, "both"), default="both")
    what.add_argument(
        "--steps",
        type=int,
        help="measured batches per run (default: "
        f"{DEFAULT_STEPS['iterate']} iterating, {DEFAULT_STEPS['train']} training)",
    )
    what.add_argument(
        "--warmup",
        type=int,
        help="batches excluded first (default: "
        f"{DEFAULT_WARMUP['iterate']} iterating, {DEFAULT_WARMUP['train']} training)",
    )
    what.add_argument(
        "--width", type=int, help="model width in train mode (default: 16 on a GPU, 4 on a CPU)"
    )
    pipe = parser.add_argument_group("pipeline options")
    pipe.add_argument(
        "--batch-size", type=int, help=f"default: 32 ({SEED_BATCH} with --preset seed)"
    )
    pipe.add_argument("--shuffle", type=int, default=0, help="shuffle buffer, 0 = off")
    pipe.add_argument("--seed", type=int, default=0)
    pipe.add_argument("--cache", choices=CACHE_MODES, default="none")
    pipe.add_argument("--prefetch", default="auto", help="'auto' or a batch count")
    pipe.add_argument("--parallelism", default="auto", help="'auto' or a count")
    pipe.add_argument("--use-multiprocessing", action="store_true")
    if not sweep:
        what.add_argument(
            "--preset",
            choices=("seed",),
            help="seed: the pipeline loadbench comes from, from_generator then .cache()"
            f".shuffle({SEED_SHUFFLE}).batch({SEED_BATCH}).repeat().prefetch(AUTOTUNE), "
            "iterated over --epochs with an in-memory cache, a file cache and none",
        )
        what.add_argument(
            "--epochs", type=int, default=2, help="epochs per run with --preset (default: 2)"
        )
    if not sweep:
        served = parser.add_argument_group("tf.data service")
        served.add_argument(
            "--service",
            help="route each pipeline through a tf.data service: worker counts, e.g. 2 or "
            "0,1,2 (0 = without; a dispatcher and that many worker processes are started on "
            "localhost per run), or grpc://HOST:PORT of your dispatcher",
        )
        served.add_argument(
            "--processing-mode",
            choices=("parallel_epochs", "distributed_epoch"),
            default="parallel_epochs",
        )
    harness = parser.add_argument_group("harness")
    harness.add_argument("--out", type=Path, default=Path("loadbench-results"))
    harness.add_argument("--timeout", type=float, default=600, help="seconds per run")
    harness.add_argument("--max-memory", help="kill a run whose process tree passes this, e.g. 4GB")
    harness.add_argument("--memray", action="store_true", help="add a memray-tracked run")
    harness.add_argument("--resume", action="store_true", help="skip runs already in OUT")
    harness.add_argument(
        "--no-report", action="store_true", help="do not write OUT/report/index.html at the end"
    )


def run(args: argparse.Namespace) -> int:
    cache_root = args.cache_dir or default_cache_root()
    synthetic = args.data is None
    if args.pairs is None:
        args.pairs = SEED_PAIRS if args.preset == "seed" else DEFAULT_PAIRS
    root = builtin_dataset(cache_root, args.pairs, args.size) if synthetic else args.data
    data = describe(root, args.split)
    if args.preset == "seed":
        return execute(args, [(data, synthetic)], variants=seed_preset(args, data))
    return execute(args, [(data, synthetic)])


def seed_preset(args: argparse.Namespace, data: DatasetSpec) -> list[PipelineOptions]:
    """The original pipeline (DESIGN.md) with each cache: its options, and its run length
    set on ``args`` (whole epochs, no warm-up, so the first epoch's cache growth is in the
    timeline). It iterates: the question is the pipeline's memory, not the model's."""
    if args.epochs < 2:
        raise OptionsError(f"--epochs {args.epochs}: the seed preset needs at least 2 epochs")
    if args.loaders not in (None, SEED_STRATEGY) or args.mode not in ("both", "iterate"):
        raise OptionsError(
            f"--preset seed runs {SEED_STRATEGY} iterating; leave out --loaders and --mode"
        )
    args.loaders, args.mode = SEED_STRATEGY, "iterate"
    batches = -(-data.pairs // (args.batch_size or SEED_BATCH))  # the last may be partial
    args.steps, args.warmup = args.epochs * batches, 0
    base = PipelineOptions(
        batch_size=args.batch_size or SEED_BATCH,
        shuffle_buffer=SEED_SHUFFLE,
        seed=args.seed,
        prefetch=AUTOTUNE,
        parallelism=parse_count(args.parallelism, "parallelism"),
    )
    return [replace(base, cache=cache) for cache in ("memory", "file", "none")]


def pipeline_options(args: argparse.Namespace) -> PipelineOptions:
    return PipelineOptions(
        batch_size=args.batch_size or DEFAULT_BATCH,
        shuffle_buffer=args.shuffle,
        seed=args.seed,
        cache=args.cache,
        prefetch=parse_count(args.prefetch, "prefetch"),
        parallelism=parse_count(args.parallelism, "parallelism"),
        use_multiprocessing=args.use_multiprocessing,
    )


def run_spec(
    data: DatasetSpec,
    synthetic: bool,
    mode: str,
    strategy: str,
    options: PipelineOptions,
    cache_root: Path,
    *,
    steps: int | None = None,
    warmup: int | None = None,
    width: int | None = None,
    log_path: str | None = None,
    service: str | None = None,
    processing_mode: str = "parallel_epochs",
) -> RunSpec:
    """One run's spec, with the per-mode default steps and warm-up where not given."""
    return RunSpec(
        strategy=strategy,
        mode=mode,
        data_root=str(data.root),
        split=data.split,
        synthetic=synthetic,
        options=options,
        cache_root=str(cache_root),
        steps=steps or DEFAULT_STEPS[mode],
        warmup_steps=DEFAULT_WARMUP[mode] if warmup is None else warmup,
        width=width,
        log_path=log_path,
        service=service,
        processing_mode=processing_mode,
    )


def execute(
    args: argparse.Namespace,
    datasets: list[tuple[DatasetSpec, bool]],
    tag_logs: bool = False,
    variants: list[PipelineOptions] | None = None,
) -> int:
    """Measure every strategy in every mode on each dataset, a child per run; append each
    record as it ends, print the summary, write the report. ``tag_logs`` puts the pair
    count in log and capture names (a sweep measures one strategy at several sizes);
    ``variants`` replaces the options from ``args`` with several (a preset's)."""
    from benchmarks.runner import run_isolated, stop_resource_tracker
    from loaders import registry

    cache_root = args.cache_dir or default_cache_root()
    variants = variants or [pipeline_options(args)]
    max_memory = parse_bytes(args.max_memory, "--max-memory")
    if max_memory == 0:
        raise OptionsError(f"--max-memory {args.max_memory!r}: must be above 0")
    names = args.loaders.split(",") if args.loaders else registry.names()
    for name in names:
        registry.check(name)  # a typo fails now, not after minutes of other runs
    modes = MODES if args.mode == "both" else (args.mode,)
    out = args.out / RESULTS
    done = {key for r in records.read(out) for key in r.identities()} if args.resume else set()
    from benchmarks.service import parse_service

    services = parse_service(getattr(args, "service", None)) or [None]
    plan = [
        (data, synthetic, mode, name, options, served)
        for data, synthetic in datasets
        for mode in modes
        for name in names
        for options in variants
        for served in services
    ]
    for data, synthetic in datasets:
        height, width = data.image_size
        print(
            f"dataset {'synthetic' if synthetic else data.root} split {data.split}: "
            f"{data.pairs} pairs {width}x{height}, {format_bytes(data.total_bytes)} as uint8"
        )
    print(f"records to {out}")
    written: list[Record] = []
    started = 0
    try:
        for number, (data, synthetic, mode, name, options, served) in enumerate(plan, start=1):
            dataset = records.dataset_fields(data, synthetic)
            name_stem = stem(mode, name) + (f"-{data.pairs}" if tag_logs else "")
            if len(variants) > 1:
                name_stem += f"-cache-{options.cache}"
            if served not in (None, "0"):
                name_stem += (
                    "-service-remote" if served.startswith("grpc") else f"-service-{served}"
                )
            spec = run_spec(
                data,
                synthetic,
                mode,
                name,
                options,
                cache_root,
                steps=args.steps,
                warmup=args.warmup,
                width=args.width,
                log_path=str(args.out / "logs" / f"{name_stem}.log"),
                service=served,
                processing_mode=getattr(args, "processing_mode", "parallel_epochs"),
            )
            size = f" {data.pairs:>6} pairs" if tag_logs else ""
            variant = f" cache={options.cache:<6}" if len(variants) > 1 else ""
            if len(services) > 1 or served not in (None, "0"):
                variant += " local" if served in (None, "0") else f" service={served}"
            label = f"  [{number}/{len(plan)}]{size} {mode:<8} {name:<16}{variant}"
            run_options = records.options_fields(spec)
            if getattr(args, "preset", None):
                run_options["preset"] = args.preset
            if records.run_key(name, mode, dataset, run_options) in done:
                print(f"{label} already recorded, skipped (--resume)")
                continue
            print(f"{label} ...", end="", flush=True)
            outcome = run_isolated(spec, args.timeout, max_memory)
            started += outcome.started
            extra = _memray_run(spec, args, max_memory, name_stem) if args.memray else {}
            record = records.from_outcome(spec, outcome, dataset, run_options, extra)
            records.append(out, record)
            written.append(record)
            print(f" {record.status} in {record.wall_s:.1f} s" + _why(record))
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: the {len(written)} run(s) finished so far are in {out}; "
            "run the same command with --resume to go on",
            file=sys.stderr,
        )
        _print_summary(written)
        raise
    finally:
        stop_resource_tracker()
    _print_summary(written)
    if not args.no_report and out.is_file():
        from reports.html import write_report
        from reports.load import load

        report = write_report(load([out]), args.out / "report", sources=[str(out)])
        print(f"\nreport: {report}")
    return 1 if written and not started else 0


def _why(record: Record) -> str:
    """': reason' for a run that did not end ok, in a line (a service's worker buries it)."""
    if not record.error:
        return ""
    if record.options.get("service"):
        from reports.distribution import reason

        return f": {reason(record)}"
    return f": {first_line(record.error)}"


def _memray_run(spec: RunSpec, args: argparse.Namespace, max_memory: int | None, stem: str) -> dict:
    from dataclasses import replace

    from benchmarks.runner import memray_flamegraph, run_isolated

    folder = args.out / "memray"
    folder.mkdir(parents=True, exist_ok=True)
    capture = folder / f"{stem}.bin"
    tracked = replace(spec, memray_path=str(capture), log_path=str(folder / f"{stem}.log"))
    outcome = run_isolated(tracked, args.timeout, max_memory)
    if outcome.status != "ok":
        return {}
    return {
        "memray_peak_bytes": outcome.result.get("memray_peak_bytes"),
        "memray_flamegraph": memray_flamegraph(capture, folder / f"{stem}.html"),
    }


def stem(mode: str, strategy: str) -> str:
    """A file name for a run: 'train-generator', 'iterate-my_pkg.readers_Reader'."""
    return f"{mode}-{strategy.replace(':', '_').replace('/', '_')}"


def _print_summary(written: list[Record]) -> None:
    """The runs of this invocation, one line each; columns nobody measured are left out."""
    if not written:
        return
    columns = [
        BY_FIELD[f]
        for f in SUMMARY_FIELDS
        if any(getattr(r, f) is not None for r in written) or f in ALWAYS_SHOWN
    ]
    widths = [
        max(len(c.label), *(len(c.format(getattr(r, c.field))) for r in written)) for c in columns
    ]
    header = "".join(f" {c.label:>{w}}" for c, w in zip(columns, widths, strict=True))
    caches = len({r.options.get("cache") for r in written}) > 1  # a preset's variants
    print(f"\n{'mode':<8} {'strategy':<16} {'cache  ' if caches else ''}{'status':<11}{header}")
    for r in written:
        cells = "".join(
            f" {c.format(getattr(r, c.field)):>{w}}" for c, w in zip(columns, widths, strict=True)
        )
        cache = f"{r.options.get('cache'):<7}" if caches else ""
        print(f"{r.mode:<8} {r.strategy:<16} {cache}{r.status:<11}{cells}")


def builtin_dataset(cache_root: Path, pairs: int, size: int, source: Path | None = None) -> Path:
    """The synthetic dataset of ``pairs`` pairs of ``size``, made once under the cache;
    from ``source``'s first pairs (hard links) when given a larger one of the same size."""
    params = SynthParams(pairs=pairs, size=size, splits={"train": 1.0}, seed=0)
    root = cache_root / "datasets" / f"synthetic-{pairs}x{size}-seed0"
    if source is None:
        synthesize(root, params)
    else:
        synthesize_from(source, root, params)  # pair i is the same whatever the total
    return root
