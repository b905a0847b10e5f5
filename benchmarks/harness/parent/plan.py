"""What to measure, as one typed configuration, and the jobs it becomes.

A command builds a ``RunConfig`` once from its arguments (``loadbench.cli``); a preset
is a function from one configuration to another (``loadbench.harness.parent.presets``); ``plan``
turns a configuration into the session's jobs, in rounds: every run once, then every run
again, so that a slow spell of a shared machine touches every strategy alike, each round
starting with the machine's ceilings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from statistics import median_low

from loadbench.harness.child.settle import WINDOW_S, Settling
from loadbench.harness.parent.builder import dataset_fields, options_fields, run_record, stem
from loadbench.harness.parent.session import Done, Job
from loadbench.harness.spec import MODES, Mode, RunSpec
from loadbench.loaders import registry
from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.errors import OptionsError
from loadbench.loaders.options import PipelineOptions
from loadbench.reports.records import Record, run_key
from loadbench.reports.summary import disagreement
from loadbench.workload.accelerators import Choice

DEFAULT_PAIRS = 1000
DEFAULT_SIZE = 256
DEFAULT_REPEATS = 3
# Per kind of run: iterating; training under an emulated accelerator or a GPU's real
# step, in batches of 32 as a GPU takes them, 10 of them and at least a second, enough
# for a steady busy share of a step of milliseconds (the H100's 49 ms step takes 20 to
# span the second); and training on the real CPU step ("cpu"), which costs about 50 ms
# a sample at 256x256: 5 batches of 8 (docs/CALIBRATION.md). Runs go on until their
# measured batches span a second, so a fast pipeline is not timed over a scheduler
# hiccup; a slow one's 10 batches span more (generator's: 2 s).
DEFAULT_BATCH = {"iterate": 32, "train": 32, "cpu": 8}
DEFAULT_STEPS = {"iterate": 10, "train": 10, "cpu": 5}
DEFAULT_WARMUP = {"iterate": 3, "train": 2, "cpu": 1}
DEFAULT_MIN_TIME = {"iterate": 1.0, "train": 1.0, "cpu": 0.0}
# The default run's cap on waiting for a run's memory to settle: the length of the runs
# whose plateau the settle rule was replayed against (settle.py); on the 2-core VM, under
# the 8 s rule, one of 24 such runs had not settled by 30 s.
DEFAULT_MAX_TIME = 30.0


@dataclass(frozen=True, kw_only=True)
class DatasetChoice:
    """A split to measure on, and whether it is the built-in synthetic one."""

    split: Split
    synthetic: bool


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything one invocation measures; frozen and checked once.

    variants: the pipeline options to run each strategy with (one, or a preset's);
        ``batch_given`` False lets each mode take its own default batch size.
    steps, warmup, min_time_s: None takes the mode's default; ``time_floor`` False makes
        the default floor 0 (a sweep's or a preset's runs take exactly their steps).
    services: tf.data service settings to run each strategy under (None: local).
    tag_sizes: put the pair count in file names (a sweep runs one strategy at several).
    accelerator: what training runs stand for: the real step, or an emulated accelerator.
    fed_search: training runs also find how many such accelerators the pipeline feeds.
    max_time_s: wait for each run's memory to settle, at most this many seconds of
        measured batches (``loadbench.harness.child.settle``); None: do not wait. The
        machine's ceilings do not wait: they are rates, not peaks anyone plans with.
    settle_window_s: the seconds over which a settled peak must have held (``--rigorous``
        waits longer: memory grows in steps seconds apart).
    least_repeats: repeats past this many run only where the earlier ones disagree
        (``loadbench.reports.summary.disagreement``); None: all ``repeats`` run.
    """

    datasets: tuple[DatasetChoice, ...]
    strategies: tuple[str, ...]
    modes: tuple[Mode, ...] = MODES
    variants: tuple[PipelineOptions, ...] = (PipelineOptions(),)
    batch_given: bool = False
    steps: int | None = None
    warmup: int | None = None
    min_time_s: float | None = None
    time_floor: bool = True
    width: int | None = None
    services: tuple[str | None, ...] = (None,)
    processing_mode: str = "parallel_epochs"
    repeats: int = DEFAULT_REPEATS
    ceilings: bool = True
    preset: str | None = None
    tag_sizes: bool = False
    accelerator: Choice = field(default_factory=Choice)
    fed_search: bool = True
    max_time_s: float | None = None
    least_repeats: int | None = None
    settle_window_s: float = WINDOW_S
    # A preset's runs as given, (strategy, options) in order, instead of every strategy
    # with every variant (``strategies`` and ``variants`` then list what they use).
    runs: tuple[tuple[str, PipelineOptions], ...] = ()
    skip_unpaired: bool = False  # a preset's: files without a partner are left out
    cache_root: Path
    out: Path

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise OptionsError(f"--repeats {self.repeats}: must be at least 1")
        if self.max_time_s is not None and (
            self.max_time_s <= 0 or self.max_time_s < (self.min_time_s or 0)
        ):
            raise OptionsError(
                f"--max-time {self.max_time_s:g}: must be more than 0 and at least --min-time "
                f"({self.min_time_s or 0:g} s): it caps the measured batches' span, e.g. "
                "--max-time 30"
            )
        if not self.datasets or not self.strategies or not self.variants:
            raise OptionsError("nothing to run: no dataset, strategy or pipeline options")
        for mode in self.modes:
            if mode not in MODES:
                raise OptionsError(f"mode {mode!r}: must be one of {', '.join(MODES)}")
        for name in self.strategies:
            registry.check(name)  # a typo fails now, not after minutes of other runs
        if "train" in self.modes:  # a profile without this image size fails now too
            for choice in self.datasets:
                for options in self.variants:
                    batch = _for_mode(options, "train", self).batch_size
                    self.accelerator.check(choice.split.image_size, batch)

    @property
    def runs_ceilings(self) -> bool:
        """The ceilings are measured beside plain options, not a preset's variants nor
        runs through a service."""
        return self.ceilings and not self.preset and self.services == (None,)


def plan(config: RunConfig) -> list[Job]:
    """The configuration's jobs, repeat by repeat, ceilings first in each round."""
    one_round = [
        (choice, "iterate", name, config.variants[0], None)
        for choice in config.datasets
        for name in (registry.CEILINGS if config.runs_ceilings else ())
    ] + [
        (choice, mode, name, _for_mode(options, mode, config), served)
        for choice in config.datasets
        for mode in config.modes
        for name, options in (
            config.runs or [(n, o) for n in config.strategies for o in config.variants]
        )
        for served in config.services
    ]
    return [_job(config, repeat, *run) for repeat in range(config.repeats) for run in one_round]


def _for_mode(options: PipelineOptions, mode: str, config: RunConfig) -> PipelineOptions:
    """``options`` with the mode's default batch size where none was given."""
    if config.batch_given:
        return options
    return replace(options, batch_size=DEFAULT_BATCH[defaults_key(mode, config.accelerator)])


def defaults_key(mode: str, accelerator: Choice) -> str:
    """Which defaults a run takes: its mode's, or the real CPU step's ("cpu")."""
    return "cpu" if mode == "train" and accelerator.name == "cpu" else mode


def _job(
    config: RunConfig,
    repeat: int,
    choice: DatasetChoice,
    mode: Mode,
    name: str,
    options: PipelineOptions,
    served: str | None,
) -> Job:
    data = choice.split
    differ = varied(config.variants)
    name_stem = stem(mode, name) + (f"-{data.pairs}" if config.tag_sizes else "")
    name_stem += "".join(f"-{option}-{getattr(options, option)}" for option in differ)
    if served not in (None, "0"):
        name_stem += "-service-remote" if served.startswith("grpc") else f"-service-{served}"
    if config.repeats > 1:
        name_stem += f"-r{repeat}"
    kind = defaults_key(mode, config.accelerator)
    floor = config.min_time_s
    if floor is None:
        floor = DEFAULT_MIN_TIME[kind] if config.time_floor and not config.preset else 0.0
    ceiling = name in registry.CEILINGS  # a rate, not a peak anyone plans with: no settling
    spec = RunSpec(
        strategy=name,
        mode=mode,
        data_root=str(data.root),
        split=data.split,
        synthetic=choice.synthetic,
        options=options,
        cache_root=str(config.cache_root),
        steps=config.steps or DEFAULT_STEPS[kind],
        warmup_steps=DEFAULT_WARMUP[kind] if config.warmup is None else config.warmup,
        min_measured_s=floor,
        width=config.width,
        log_path=str(config.out / "logs" / f"{name_stem}.log"),
        service=served,
        processing_mode=config.processing_mode,
        preset=config.preset,
        accelerator=config.accelerator,
        fed_search=config.fed_search,
        settling=None if ceiling else _settling(config, data, options),
        skip_unpaired=config.skip_unpaired,
        described=data,
    )
    size = f" {data.pairs:>6} pairs" if config.tag_sizes else ""
    variant = "".join(f" {option}={getattr(options, option)!s:<6}" for option in differ)
    if len(config.services) > 1 or served not in (None, "0"):
        variant += " local" if served in (None, "0") else f" service={served}"
    again = f" #{repeat + 1}" if config.repeats > 1 else ""
    dataset = dataset_fields(data, choice.synthetic)
    options_record = options_fields(spec)
    role = "ceiling" if ceiling else "strategy"
    folder = config.out / "memray"
    identity = run_key(name, mode, dataset, options_record)
    least = config.least_repeats
    return Job(
        spec=spec,
        label=f"{size} {mode:<8} {name:<16}{variant}{again}",
        identity=identity,
        repeat=repeat,
        wanted=None if least is None or repeat < least else _disagree(identity),
        adapted=_confirming(identity) if repeat and spec.fed_search and mode == "train" else None,
        to_record=lambda outcome: run_record(
            spec, outcome, dataset, options_record, role=role, repeat=repeat
        ),
        memray=replace(
            spec,
            memray_path=str(folder / f"{name_stem}.bin"),
            log_path=str(folder / f"{name_stem}.log"),
        ),
    )


def _disagree(identity: str) -> Callable[[list[Done]], str | None]:
    """For a repeat that runs only where the earlier ones disagree: None where they
    agree (the job is not needed), else why it runs."""

    def check(done: list[Done]) -> str | None:
        earlier = _earlier_ok(identity, done)
        if len(earlier) < 2:
            return f"{len(earlier)} earlier repeat(s) ended ok"
        reasons = disagreement(earlier)
        return "; ".join(reasons) if reasons else None

    return check


def varied(variants: tuple[PipelineOptions, ...]) -> list[str]:
    """The option fields whose values differ between ``variants`` (what names a job)."""
    first = asdict(variants[0])
    return [name for name in first if any(asdict(v)[name] != first[name] for v in variants)]


def _settling(config: RunConfig, data: Split, options: PipelineOptions) -> Settling | None:
    """What a run waits for before its memory counts as settled: where the pipeline caches
    what it reads, a whole epoch of the split too (its cache fills during the first)."""
    if config.max_time_s is None:
        return None
    caches = options.cache != "none"
    return Settling(
        max_s=config.max_time_s,
        epoch_samples=data.pairs if caches else 0,
        window_s=config.settle_window_s,
    )


def _confirming(identity: str) -> Callable[[RunSpec, list[Done]], RunSpec]:
    """For a repeat past the first: its accelerators-fed search starts at the count the
    earlier repeats found (their median), so it measures that count and the next and
    goes on from there only where either is contradicted. A count near the 90% line is
    ill-conditioned (AU falls slowly through it: tensor_slices 0.939 at 6 accelerators
    and 0.902 at 14 in one child), and a search from a fresh guess lands anywhere on
    that flat; a confirmation still measures both counts in this child."""

    def adapt(spec: RunSpec, done: list[Done]) -> RunSpec:
        fed = [r.training.accelerators_fed for r in _earlier_ok(identity, done)]
        found = [count for count in fed if count]  # 0 and None: nothing to confirm
        return replace(spec, fed_start=median_low(found)) if found else spec

    return adapt


def _earlier_ok(identity: str, done: list[Done]) -> list[Record]:
    """The records of this measurement's earlier repeats that ended ok."""
    mine = [d.record for d in done if d.job.identity == identity]
    return [r for r in mine if isinstance(r, Record) and r.status == "ok"]
