"""``loadbench run``: every strategy in both modes, each run in its own child process.

Without ``--data`` it uses the built-in synthetic dataset (made on first use under the
cache directory). Each run's record is appended to ``OUT/results.jsonl`` as it ends.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

from benchmarks.harness import records
from benchmarks.harness.records import Record
from benchmarks.harness.spec import MODES, RunSpec
from loaders.dataset.converted import default_cache_root
from loaders.errors import OptionsError
from loaders.dataset.layout import Split, describe
from loaders.options import AUTOTUNE, CACHE_MODES, PipelineOptions, parse_count
from loaders.registry import CEILINGS
from loaders.dataset.synth import SynthParams, synthesize, synthesize_from
from reports.metrics import BY_FIELD, SUMMARY_FIELDS
from reports.units import first_line, format_bytes, parse_bytes

HELP = "measure every strategy on a dataset (the built-in synthetic one by default)"
DEFAULT_PAIRS = 1000
DEFAULT_SIZE = 256
RESULTS = "results.jsonl"
# Each run is a fresh child: importing TensorFlow alone takes about 3 s of it on 2 cores,
# and a training run adds about 5 s to build, trace and first run the step. A CPU step at
# 256x256 costs about 50 ms per sample, so training takes batches of 8: the default run
# (3 repeats of every strategy in both modes, and the two ceilings) stays within minutes.
DEFAULT_BATCH = {"iterate": 32, "train": 8}
DEFAULT_STEPS = {"iterate": 20, "train": 5}
DEFAULT_WARMUP = {"iterate": 3, "train": 1}
DEFAULT_REPEATS = 3
# Iterating, a fast pipeline takes 20 batches in a few hundredths of a second: runs go on
# until their measured batches span a second (--min-time), so its rate is not timed over
# a scheduler hiccup or two. Training steps take long enough as they are.
DEFAULT_MIN_TIME = {"iterate": 1.0, "train": 0.0}
CEILING_NAMES = frozenset(CEILINGS)
RANGED = ("samples_per_s", "peak_pss_bytes", "peak_rss_bytes")  # printed with their spread
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
    if not sweep:
        what.add_argument(
            "--min-time",
            type=float,
            help="after --steps, go on until the measured batches span this many seconds "
            f"(default: {DEFAULT_MIN_TIME['iterate']:g} iterating, none training or with "
            "--preset; 0: exactly --steps)",
        )
    pipe = parser.add_argument_group("pipeline options")
    pipe.add_argument(
        "--batch-size",
        type=int,
        help=f"default: {DEFAULT_BATCH['iterate']} iterating, {DEFAULT_BATCH['train']} "
        f"training ({SEED_BATCH} with --preset seed)",
    )
    pipe.add_argument("--shuffle", type=int, default=0, help="shuffle buffer, 0 = off")
    pipe.add_argument("--seed", type=int, default=0)
    pipe.add_argument("--cache", choices=CACHE_MODES, default="none")
    pipe.add_argument("--prefetch", default="auto", help="'auto' or a batch count")
    pipe.add_argument("--parallelism", default="auto", help="'auto' or a count")
    pipe.add_argument(
        "--use-multiprocessing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="sequence's PyDataset workers are processes (default), or threads with --no-...",
    )
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
    harness.add_argument(
        "--repeats",
        type=int,
        default=1 if sweep else DEFAULT_REPEATS,
        help="runs of each measurement, each in a fresh child; the summary shows their "
        f"median and spread (default: {1 if sweep else DEFAULT_REPEATS})",
    )
    if not sweep:
        harness.add_argument(
            "--ceilings",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="also measure the machine's decode and copy ceilings (default: yes; not with "
            "--preset)",
        )
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


def seed_preset(args: argparse.Namespace, data: Split) -> list[PipelineOptions]:
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
    """The options of ``args``; a batch size left out is the iterating default (a
    training run's is set per mode, ``for_mode``)."""
    return PipelineOptions(
        batch_size=args.batch_size or DEFAULT_BATCH["iterate"],
        shuffle_buffer=args.shuffle,
        seed=args.seed,
        cache=args.cache,
        prefetch=parse_count(args.prefetch, "prefetch"),
        parallelism=parse_count(args.parallelism, "parallelism"),
        use_multiprocessing=args.use_multiprocessing,
    )


def run_spec(
    data: Split,
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
    min_measured_s: float = 0.0,
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
        min_measured_s=min_measured_s,
    )


def min_time(args: argparse.Namespace, mode: str) -> float:
    """The run's time floor: ``--min-time``, else the mode's default for ``loadbench
    run`` (none for a preset's whole epochs, nor for a sweep, whose fits are about data
    read, not the machine's speed)."""
    given = getattr(args, "min_time", None)
    if given is not None:
        return given
    if getattr(args, "preset", None) or not hasattr(args, "ceilings"):
        return 0.0
    return DEFAULT_MIN_TIME[mode]


def execute(
    args: argparse.Namespace,
    datasets: list[tuple[Split, bool]],
    tag_logs: bool = False,
    variants: list[PipelineOptions] | None = None,
) -> int:
    """Measure every strategy in every mode on each dataset, ``--repeats`` times, a child
    per run; append each record as it ends, print the summary, write the report.

    The repeats go in rounds (every run once, then every run again), so that a slow spell
    of a shared machine touches every strategy alike; each round starts with the
    machine's ceilings (``--ceilings``), which later iterating records are read against.
    ``tag_logs`` puts the pair count in log and capture names (a sweep measures one
    strategy at several sizes); ``variants`` replaces the options from ``args`` with
    several (a preset's)."""
    from benchmarks.harness.runner import run_isolated, stop_resource_tracker
    from loaders import registry

    cache_root = args.cache_dir or default_cache_root()
    variants = variants or [pipeline_options(args)]
    max_memory = parse_bytes(args.max_memory, "--max-memory")
    if max_memory == 0:
        raise OptionsError(f"--max-memory {args.max_memory!r}: must be above 0")
    if args.repeats < 1:
        raise OptionsError(f"--repeats {args.repeats}: must be at least 1")
    names = args.loaders.split(",") if args.loaders else registry.names()
    for name in names:
        registry.check(name)  # a typo fails now, not after minutes of other runs
    modes = MODES if args.mode == "both" else (args.mode,)
    out = args.out / RESULTS
    earlier = records.read(out) if args.resume else []
    done = {(key, r.repeat) for r in earlier for key in r.identities()}
    from benchmarks.harness.data_service import parse_service

    services = parse_service(getattr(args, "service", None)) or [None]
    ceilings = (
        list(registry.CEILINGS)
        if getattr(args, "ceilings", False) and not (len(variants) > 1 or services != [None])
        else []
    )
    one_round = [
        (data, synthetic, "iterate", name, variants[0], None)
        for data, synthetic in datasets
        for name in ceilings
    ] + [
        (data, synthetic, mode, name, for_mode(options, mode, args), served)
        for data, synthetic in datasets
        for mode in modes
        for name in names
        for options in variants
        for served in services
    ]
    plan = [(repeat, *run) for repeat in range(args.repeats) for run in one_round]
    for data, synthetic in datasets:
        height, width = data.image_size
        print(
            f"dataset {'synthetic' if synthetic else data.root} split {data.split}: "
            f"{data.pairs} pairs {width}x{height}, {format_bytes(data.total_bytes)} as uint8"
        )
    print(f"records to {out}")
    rates = CeilingRates(earlier)
    written: list[Record] = []
    started = 0
    try:
        for number, (repeat, data, synthetic, mode, name, options, served) in enumerate(
            plan, start=1
        ):
            dataset = records.dataset_fields(data, synthetic)
            name_stem = stem(mode, name) + (f"-{data.pairs}" if tag_logs else "")
            if len(variants) > 1:
                name_stem += f"-cache-{options.cache}"
            if served not in (None, "0"):
                name_stem += (
                    "-service-remote" if served.startswith("grpc") else f"-service-{served}"
                )
            if args.repeats > 1:
                name_stem += f"-r{repeat}"
            spec = run_spec(
                data,
                synthetic,
                mode,
                name,
                options,
                cache_root,
                steps=args.steps,
                min_measured_s=min_time(args, mode),
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
            again = f" #{repeat + 1}" if args.repeats > 1 else ""
            label = f"  [{number}/{len(plan)}]{size} {mode:<8} {name:<16}{variant}{again}"
            run_options = records.options_fields(spec)
            if getattr(args, "preset", None):
                run_options["preset"] = args.preset
            if (records.run_key(name, mode, dataset, run_options), repeat) in done:
                print(f"{label} already recorded, skipped (--resume)")
                continue
            print(f"{label} ...", end="", flush=True)
            outcome = run_isolated(spec, args.timeout, max_memory)
            started += outcome.started
            extra = _memray_run(spec, args, max_memory, name_stem) if args.memray else {}
            extra["repeat"] = repeat
            if mode == "iterate" and (ceiling := outcome.result.get("ceiling")):
                extra["ceiling_fraction"] = rates.fraction(
                    dataset, ceiling, outcome.result.get("samples_per_s")
                )
            record = records.from_outcome(spec, outcome, dataset, run_options, extra)
            records.append(out, record)
            rates.add(record)
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


def for_mode(options: PipelineOptions, mode: str, args: argparse.Namespace) -> PipelineOptions:
    """``options`` with the mode's default batch size where ``--batch-size`` was left out."""
    if args.batch_size is not None or options.batch_size != DEFAULT_BATCH["iterate"]:
        return options  # given, or set by a preset
    return replace(options, batch_size=DEFAULT_BATCH[mode])


class CeilingRates:
    """Throughputs of the ceiling runs so far, per dataset: what iterating records are
    read against (their median, so one slow ceiling run does not move every fraction)."""

    def __init__(self, earlier: list[Record]) -> None:
        self._rates: dict[tuple[str, str], list[float]] = {}
        for record in earlier:
            self.add(record)

    @staticmethod
    def _key(dataset: dict, ceiling: str) -> tuple[str, str]:
        return records.run_key(ceiling, "iterate", dataset, {}), ceiling

    def add(self, record: Record) -> None:
        if record.strategy in CEILING_NAMES and record.status == "ok" and record.samples_per_s:
            key = self._key(record.dataset, record.strategy)
            self._rates.setdefault(key, []).append(record.samples_per_s)

    def fraction(self, dataset: dict, ceiling: str, samples_per_s: float | None) -> float | None:
        """``samples_per_s`` over the median of the ceiling's runs; None without either."""
        rates = self._rates.get(self._key(dataset, ceiling))
        if not rates or not samples_per_s:
            return None
        return samples_per_s / statistics.median(rates)


def _why(record: Record) -> str:
    """': reason' for a run that did not end ok, in a line (a service's worker buries it)."""
    if not record.error:
        return ""
    if record.options.get("service"):
        from reports.data_service import reason

        return f": {reason(record)}"
    return f": {first_line(record.error)}"


def _memray_run(spec: RunSpec, args: argparse.Namespace, max_memory: int | None, stem: str) -> dict:
    from dataclasses import replace

    from benchmarks.harness.runner import memray_flamegraph, run_isolated

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
    """The measurements of this invocation, a line each: the median of their repeats with
    its spread, and why a measurement is unstable; columns nobody measured are left out."""
    if not written:
        return
    from reports.summary import UNSTABLE_HINT, summary, with_spread

    table = summary(written)
    fields = [f for f in SUMMARY_FIELDS if table[f].notna().any() or f == "samples_per_s"]
    cells = [[with_spread(row, f, f in RANGED) for f in fields] for _, row in table.iterrows()]
    labels = [BY_FIELD[f].label for f in fields]
    widths = [max(len(label), *(len(c[i]) for c in cells)) for i, label in enumerate(labels)]
    caches = table["options"].str.extract(r"cache=(\w+)")[0]
    show_cache = caches.nunique() > 1  # a preset's variants
    header = "".join(f"  {label:>{w}}" for label, w in zip(labels, widths, strict=True))
    cache_head = f"{'cache':<7}" if show_cache else ""
    print(f"\n{'mode':<8} {'strategy':<16} {cache_head}{'status':<11}{'runs':>5}{header}")
    flagged = []
    for (index, row), line in zip(table.iterrows(), cells, strict=True):
        body = "".join(f"  {c:>{w}}" for c, w in zip(line, widths, strict=True))
        cache = f"{caches[index]:<7}" if show_cache else ""
        runs = f"{row['ok_runs']}/{row['runs']}"
        mark = " *" if row["unstable"] else ""
        name = f"{row['mode']:<8} {row['strategy']:<16} {cache}"
        print(f"{name}{row['status']:<11}{runs:>5}{body}{mark}")
        if row["unstable"]:
            which = f"{row['mode']} {row['strategy']}" + (
                f" cache={caches[index]}" if show_cache else ""
            )
            flagged.append(f"  {which}: {'; '.join(row['unstable'])}")
    print(
        "Medians of the ok repeats (smallest-largest, CV: coefficient of variation); peak PSS "
        "counts pages shared between the run's processes once, peak RSS sums them per process."
    )
    if flagged:
        print(f"* unstable ({UNSTABLE_HINT}):")
        print("\n".join(flagged))


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
