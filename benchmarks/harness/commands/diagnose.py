"""``loadbench diagnose``: which stage of a pipeline starves the accelerator.

The pipeline (a built-in strategy, or ``MODULE:FUNCTION`` as ``profile`` takes it) is
described once in a child (``loadbench.harness.child.stages``: its transformations from
the source on), then each prefix (the source alone, then with each transformation added
in turn) is measured in its own child, iterating as fast as it can until its memory has
settled: its elements and samples a second and its peak PSS. The whole pipeline then
runs once under the accelerator (emulated, or given as a step time): its busy share (AU).

Which stage limits it: the rate of a prefix is at most its slowest stage's, so the
pipeline's rate falls where a stage is slow and stays there. The bottleneck is the first
stage from which the rate never again rises more than ``BAND`` above its lowest: where it
fell to the level it ends at. ``BAND`` is 15%: the rates of one pipeline in fresh children
differ by 5-10% here, so stages closer than that cannot be told apart. Where the pipeline
meets the demand (one batch every step) and AU is still under the 90% line, what starves
the accelerator is the hand-over (the batch handed from the pipeline to the step), not a
stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import median
from typing import Any

from loadbench.harness.child.settle import SHORT_WINDOW_S, Settling
from loadbench.harness.child.stages import PY_DATASET, Stage, counted, describe
from loadbench.harness.commands.profile import ProfileSpec
from loadbench.harness.commands.profile import options_fields as profile_options
from loadbench.harness.parent.builder import options_fields, run_record
from loadbench.harness.parent.session import Job
from loadbench.harness.spec import RunSpec
from loadbench.loaders.errors import OptionsError
from loadbench.reports.metrics import BUSY_LINE
from loadbench.reports.records import Record
from loadbench.workload.accelerators import Choice

BAND = 0.15  # stages whose rates are closer than this cannot be told apart
STEPS, WARMUP, MIN_TIME_S = 10, 3, 1.0  # each stage's run, before it settles
MAX_TIME_S = 20.0  # and its cap on settling (over settle.SHORT_WINDOW_S)
HANDOVER_MIN_TIME_S = 2.0  # the whole pipeline under the accelerator: AU within a point or two
STAGES_FILE = "stages.json"


@dataclass(frozen=True)
class Described:
    """What the describing child found: the stages, and the samples one element of the
    whole pipeline holds (a batch's)."""

    stages: list[Stage]
    samples_per_batch: int
    element_spec: str


def describe_pipeline(spec: RunSpec | ProfileSpec) -> Described:
    """The child's work: the pipeline built as the measuring child builds it, its stages
    described, and one element taken (the samples a batch holds)."""
    ds = built(spec)
    stages = describe(ds)
    _, samples = counted(stages[-1].batched)(next(iter(ds)))
    return Described(stages=stages, samples_per_batch=samples, element_spec=str(ds.element_spec))


def built(spec: RunSpec | ProfileSpec) -> Any:
    """The whole pipeline ``spec`` measures, built here."""
    if isinstance(spec, ProfileSpec):
        from loadbench.harness.commands import pipelines

        made = pipelines.call(spec.target, pipelines.resolve(spec.target), spec.kwargs)
        return pipelines.batched(spec.target, made, spec.batch)
    from loadbench.loaders import pipeline, registry
    from loadbench.loaders.dataset.layout import describe as describe_split

    data = spec.described or describe_split(Path(spec.data_root), spec.split)
    strategy = registry.create(spec.strategy)
    strategy.prepare(data, Path(spec.cache_root))
    return pipeline.build(strategy, data, spec.options, Path(spec.cache_root))


@dataclass(frozen=True, kw_only=True)
class Plan:
    """One diagnosis: the spec of the whole pipeline iterating (each stage's job is this
    with its ``stage``), how its records are written, and the accelerator's choice."""

    spec: RunSpec | ProfileSpec
    accelerator: Choice
    repeats: int = 1
    max_time_s: float = 20.0
    out: Path
    dataset: dict[str, Any] = field(default_factory=dict)

    def options(self, spec: RunSpec | ProfileSpec) -> dict[str, Any]:
        if isinstance(spec, ProfileSpec):
            return profile_options(spec)
        return options_fields(spec)


def stage_jobs(plan: Plan, described: Described) -> list[Job]:
    """A job a stage a repeat, in rounds; then the whole pipeline under the accelerator."""
    jobs = []
    for repeat in range(plan.repeats):
        for stage in described.stages:
            spec = replace(
                plan.spec,
                stage=stage.index,
                settling=Settling(max_s=plan.max_time_s, window_s=SHORT_WINDOW_S),
                log_path=str(plan.out / "logs" / f"stage-{stage.index}-r{repeat}.log"),
            )
            options = {**plan.options(spec), "stage": stage.index, "stage_call": stage.call}
            jobs.append(_job(spec, f" stage {stage.index} {stage.call}", options, plan, repeat))
    spec = _under_accelerator(plan)
    for repeat in range(plan.repeats):
        logged = replace(spec, log_path=str(plan.out / "logs" / f"handover-r{repeat}.log"))
        jobs.append(
            _job(
                logged,
                " the whole pipeline, under the accelerator",
                plan.options(logged),
                plan,
                repeat,
            )
        )
    return jobs


def _under_accelerator(plan: Plan) -> RunSpec | ProfileSpec:
    if isinstance(plan.spec, ProfileSpec):
        if plan.accelerator.step_time_s is None:
            raise OptionsError("a user's pipeline runs under --step-time S (its model's step)")
        return replace(
            plan.spec,
            accelerator=plan.accelerator,
            fed_search=False,
            min_measured_s=HANDOVER_MIN_TIME_S,
        )
    return replace(
        plan.spec,
        mode="train",
        accelerator=plan.accelerator,
        fed_search=False,
        min_measured_s=HANDOVER_MIN_TIME_S,
        settling=None,
    )


def _job(spec: Any, label: str, options: dict[str, Any], plan: Plan, repeat: int) -> Job:
    def to_record(outcome: Any) -> Record:
        return run_record(spec, outcome, plan.dataset, options, repeat=repeat)

    return Job(
        spec=spec, label=label, to_record=to_record, repeat=repeat, work=_work(spec), identity=None
    )


def _work(spec: Any) -> Any:
    if isinstance(spec, ProfileSpec):
        from loadbench.harness.commands.profile import measure_profile

        return measure_profile
    return None  # the strategy's measurement


@dataclass(frozen=True, kw_only=True)
class Row:
    """One stage, measured: its median rates and peak over the repeats that ended ok."""

    stage: Stage
    samples_per_s: float | None
    elements_per_s: float | None
    peak_pss_bytes: int | None
    settled: bool | None
    share: float | None  # of the accelerator's demand it meets (None: no demand known)
    bottleneck: bool = False


@dataclass(frozen=True, kw_only=True)
class Diagnosis:
    """The stages in pipeline order, the accelerator's demand and AU, and the verdict."""

    rows: list[Row]
    demand_samples_per_s: float | None  # one batch every step
    step_s: float | None
    accelerator: str | None
    busy_share: float | None  # AU of the whole pipeline under the accelerator
    bottleneck: int | None  # the stage's index; None: the hand-over (or nothing measured)
    starved: bool  # the accelerator waits: AU under the line
    cause: str  # what the bottleneck is, in words


def diagnose(described: Described, records: list[Record]) -> Diagnosis:
    """The diagnosis from the stages' records and the whole pipeline's under the
    accelerator (records without a ``stage`` option)."""
    ok = [r for r in records if r.status == "ok"]
    whole = [r for r in ok if "stage" not in r.options]
    step_s = _median([r.training.accelerator_step_s for r in whole])
    busy = _median([r.training.accelerator_busy_share for r in whole])
    demand = described.samples_per_batch / step_s if step_s else None
    rows = []
    for stage in described.stages:
        mine = [r for r in ok if r.options.get("stage") == stage.index]
        rate = _median([r.throughput.samples_per_s for r in mine])
        per = described.samples_per_batch if stage.batched else 1
        peak = _median([r.memory.peak_pss_bytes for r in mine])
        rows.append(
            Row(
                stage=stage,
                samples_per_s=rate,
                elements_per_s=rate / per if rate is not None else None,
                peak_pss_bytes=int(peak) if peak is not None else None,
                settled=all(r.memory.settled for r in mine) if mine else None,
                share=rate / demand if rate is not None and demand else None,
            )
        )
    index = bottleneck([row.samples_per_s for row in rows])
    final = rows[-1].samples_per_s if rows else None
    short = demand is not None and final is not None and final < demand
    starved = (busy is not None and busy < BUSY_LINE) or short
    handover = starved and not short
    if index is not None and not handover:
        rows[index] = replace(rows[index], bottleneck=True)
    accelerator = next((r.training.accelerator for r in whole), None)
    return Diagnosis(
        rows=rows,
        demand_samples_per_s=demand,
        step_s=step_s,
        accelerator=accelerator,
        busy_share=busy,
        bottleneck=None if handover else index,
        starved=starved,
        cause=HANDOVER if handover else cause(rows[index].stage) if index is not None else "",
    )


HANDOVER = (
    "the hand-over: every stage meets the demand, yet the step waits for its batches "
    "(a prefetch at the end lets the next batch be ready when the step asks)"
)


def bottleneck(rates: list[float | None], band: float = BAND) -> int | None:
    """The first stage from which the rate never rises more than ``band`` above its
    lowest: where the pipeline fell to the rate it ends at."""
    known = [(i, r) for i, r in enumerate(rates) if r is not None]
    for position, (index, rate) in enumerate(known):
        if rate <= (1 + band) * min(r for _, r in known[position:]):
            return index
    return None


def cause(stage: Stage) -> str:
    """What a stage's work is, in the words that say how to fix it."""
    found = []
    if stage.python:
        runs = "a Python generator"
        if stage.name != "from_generator":
            runs = "Python (py_function)"
        elif stage.function == PY_DATASET:
            runs = "a Keras PyDataset's batches pass through a Python generator, which"
        found.append(
            f"Python in the loop: {runs} runs for every element, one at a time "
            "under the interpreter's lock"
        )
    if stage.decoding:
        found.append(f"decoding ({', '.join(stage.decoding)})")
    if stage.reading:
        found.append(f"reading ({', '.join(stage.reading)})")
    if stage.sequential:
        found.append(
            f"a sequential {stage.name}: one call at a time, where "
            "num_parallel_calls=tf.data.AUTOTUNE would run it in parallel"
        )
    if stage.name == "batch":
        found.append("batching: each sample copied into its batch")
    if not found:
        own = f" ({stage.function})" if stage.function else ""
        found.append(f"the {stage.name}'s own work{own}")
    return "; ".join(found)


def as_json(diagnosis: Diagnosis) -> list[dict[str, Any]]:
    """``stages.json``: the stages in pipeline order."""
    return [
        {
            "stage": row.stage.call,
            "index": row.stage.index,
            "elements_per_s": row.elements_per_s,
            "samples_per_s": row.samples_per_s,
            "peak_pss_bytes": row.peak_pss_bytes,
            "demand_share": row.share,
            "settled": row.settled,
            "bottleneck": row.bottleneck,
            "cause": cause(row.stage) if row.bottleneck else None,
        }
        for row in diagnosis.rows
    ]


def write(diagnosis: Diagnosis, out: Path) -> Path:
    path = out / STAGES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_json(diagnosis), indent=2) + "\n")
    return path


def _median(values: list[Any]) -> float | None:
    found = [float(v) for v in values if v is not None]
    return median(found) if found else None
