"""``loadbench profile``: a user's own pipeline measured with every probe a strategy gets.

Each ``MODULE:FUNCTION`` (``loadbench.harness.commands.pipelines``) is one run, repeated in fresh
children like a strategy's, and its records are ordinary records: ``strategy`` is the
FUNCTION, ``dataset`` names it and its keyword arguments, so ``report`` and ``compare``
read a user's variants side by side. The run iterates; with ``--model`` each batch goes
through the user's own compiled model's ``train_step``; with ``--step-time`` through an
emulated accelerator of that step time (AU and the accelerators fed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from loadbench.harness.child.measure import ChildReport
from loadbench.harness.child.probe import Source, probe
from loadbench.harness.commands.pipelines import split_target
from loadbench.harness.parent.builder import run_record, stem
from loadbench.harness.parent.session import Job
from loadbench.harness.spec import Mode, Probing
from loadbench.loaders.errors import OptionsError, PipelineError
from loadbench.reports.records import PIPELINE_ROOT, run_key
from loadbench.workload.accelerators import Choice, Resolved

DEFAULT_STEPS = 20
DEFAULT_WARMUP = 3
DEFAULT_MIN_TIME_S = 1.0
DEFAULT_REPEATS = 3


@dataclass(frozen=True, kw_only=True)
class ProfileSpec(Probing):
    """One run of a user's pipeline. target: MODULE:FUNCTION returning the dataset;
    name: what the records call it (None: ``target``), so that two versions of one
    pipeline, from two commits or two files, are one run to ``compare``;
    kwargs: FUNCTION's keyword arguments; batch: batch an unbatched dataset by this many
    (None: its elements are batches); model: MODULE:FUNCTION returning a compiled Keras
    model whose ``train_step`` takes each batch (train mode)."""

    target: str
    name: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    batch: int | None = None
    model: str | None = None

    @property
    def strategy(self) -> str:
        return self.name or self.target

    @property
    def mode(self) -> Mode:
        emulated = self.accelerator.step_time_s is not None
        return "train" if self.model is not None or emulated else "iterate"

    def __post_init__(self) -> None:
        super().__post_init__()
        split_target(self.target)
        if self.model is not None:
            split_target(self.model, "MODEL_FUNCTION")
            if self.accelerator.step_time_s is not None:
                raise OptionsError(
                    "--model runs your model's real step; --step-time emulates one: give one"
                )
        if self.batch is not None and self.batch < 1:
            raise OptionsError(f"--batch {self.batch}: must be at least 1")
        try:
            json.dumps(self.kwargs)
        except TypeError as exc:
            raise OptionsError(f"--kwargs {self.kwargs!r}: not JSON ({exc})") from exc


def measure_profile(spec: ProfileSpec) -> ChildReport:
    """The child's work: the model built (before the baseline), FUNCTION called and its
    dataset run under the probes (after it: what FUNCTION builds is the pipeline's)."""
    import tensorflow as tf

    from loadbench.harness.child import feeding
    from loadbench.harness.commands import pipelines
    from loadbench.workload import device

    make = pipelines.resolve(spec.target)
    gpu = device.has_gpu()
    ran: Resolved | None = None
    step: Any = None
    if spec.model is not None:
        model = pipelines.build_model(spec.model)
        step = pipelines.ModelStep(spec.target, spec.model, model)
        name = "gpu" if gpu else "cpu"
        ran = Resolved(name=name, source="real", how=f"{spec.model}'s train_step on the {name}")
    elif spec.accelerator.step_time_s is not None:
        ran = spec.accelerator.resolve((0, 0), spec.batch or 0, gpu)
        step = feeding.EmulatedStep(float(ran.step_s or 0))

    def build() -> Any:
        made = pipelines.call(spec.target, make, spec.kwargs)
        return pipelines.batched(spec.target, made, spec.batch)

    def diagnose(error: Exception) -> Exception:
        said = getattr(error, "message", str(error))
        return PipelineError(f"{spec.target}: reading its dataset failed: {said}")

    source = Source(build=build, unpack=pipelines.as_arguments, diagnose=diagnose)
    measured = probe(spec, source, ran, step)
    return ChildReport(
        measurement=measured.measurement.updated(element_spec=str(measured.dataset.element_spec)),
        tf_version=tf.__version__,
        gpu_name=device.gpu_name() if gpu else None,
        step_times_s=[round(t, 6) for t in measured.step_times_s],
    )


@dataclass(frozen=True, kw_only=True)
class ProfileConfig:
    """What one ``loadbench profile`` measures: each target, ``repeats`` times, in rounds."""

    targets: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    steps: int = DEFAULT_STEPS
    warmup: int = DEFAULT_WARMUP
    min_time_s: float = DEFAULT_MIN_TIME_S
    batch: int | None = None
    model: str | None = None
    accelerator: Choice = field(default_factory=Choice)
    fed_search: bool = True
    service: str | None = None
    repeats: int = DEFAULT_REPEATS
    out: Path

    def __post_init__(self) -> None:
        if not self.targets:
            raise OptionsError("nothing to profile: give one or more MODULE:FUNCTION")
        if self.repeats < 1:
            raise OptionsError(f"--repeats {self.repeats}: must be at least 1")
        names = [named(given)[0] or named(given)[1] for given in self.targets]
        if len(set(names)) != len(names):
            raise OptionsError(f"a FUNCTION or NAME is given twice: {' '.join(self.targets)}")


def profile_jobs(config: ProfileConfig) -> list[Job]:
    """One job a target a round: every target once, then every target again."""
    return [
        _job(config, target, repeat)
        for repeat in range(config.repeats)
        for target in config.targets
    ]


def named(text: str) -> tuple[str | None, str]:
    """``NAME=MODULE:FUNCTION`` as (NAME, MODULE:FUNCTION); a bare target has no name."""
    name, sep, target = text.partition("=")
    if sep and name and all(c.isalnum() or c in "_-." for c in name):
        return name, target
    return None, text


def _job(config: ProfileConfig, given: str, repeat: int) -> Job:
    called, target = named(given)
    name = stem("profile", called or target) + (f"-r{repeat}" if config.repeats > 1 else "")
    spec = ProfileSpec(
        target=target,
        name=called,
        kwargs=dict(config.kwargs),
        batch=config.batch,
        model=config.model,
        steps=config.steps,
        warmup_steps=config.warmup,
        min_measured_s=config.min_time_s,
        accelerator=config.accelerator,
        fed_search=config.fed_search,
        service=config.service,
        log_path=str(config.out / "logs" / f"{name}.log"),
    )
    dataset = dataset_fields(spec)
    options = options_fields(spec)
    folder = config.out / "memray"
    again = f" #{repeat + 1}" if config.repeats > 1 else ""
    return Job(
        spec=spec,
        label=f" {spec.mode:<8} {given}{again}",
        work=measure_profile,
        identity=run_key(spec.strategy, spec.mode, dataset, options),
        repeat=repeat,
        to_record=lambda outcome: run_record(spec, outcome, dataset, options, repeat=repeat),
        memray=replace(
            spec,
            memray_path=str(folder / f"{name}.bin"),
            log_path=str(folder / f"{name}.log"),
        ),
    )


def dataset_fields(spec: ProfileSpec) -> dict[str, Any]:
    """The record's ``dataset`` for a user's pipeline: which function, with what."""
    return {
        "root": PIPELINE_ROOT,
        "split": None,
        "pairs": None,
        "image_size": None,
        "pipeline": spec.target,
        "kwargs": dict(spec.kwargs),
    }


def options_fields(spec: ProfileSpec) -> dict[str, Any]:
    """The record's ``options``: what makes one run of a pipeline differ from another."""
    found: dict[str, Any] = {
        "kwargs": dict(spec.kwargs),
        "batch": spec.batch,
        "steps": spec.steps,
        "warmup_steps": spec.warmup_steps,
    }
    if spec.min_measured_s:
        found["min_measured_s"] = spec.min_measured_s
    if spec.model is not None:
        found["model"] = spec.model
    if spec.accelerator.step_time_s is not None:
        found["accelerator"] = spec.accelerator.asked
        found["step_time_s"] = spec.accelerator.step_time_s
    if spec.distributed:
        found.update(service=spec.service, processing_mode=spec.processing_mode)
    return found
