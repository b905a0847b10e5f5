"""``loadbench tune TARGET --memory-budget SIZE``: the settings that keep the accelerator
busiest within the budget, measured (``loadbench.harness.commands.tune``)."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from loadbench.cli import common, targets
from loadbench.harness.child.tuning import KNOBS
from loadbench.harness.commands import diagnose as diagnosing
from loadbench.harness.commands import search
from loadbench.harness.commands import tune as tuning
from loadbench.harness.commands import tune_output as output
from loadbench.harness.commands.profile import ProfileSpec
from loadbench.harness.commands.profile import dataset_fields as profile_dataset_fields
from loadbench.harness.commands.tune_checks import (
    Checked,
    SpaceCheck,
    check_space,
    warnings_for,
)
from loadbench.harness.parent.builder import dataset_fields
from loadbench.harness.parent.runner import run_isolated, start_server
from loadbench.harness.parent.session import Done, Harness, run_jobs
from loadbench.harness.spec import RunSpec
from loadbench.loaders.errors import OptionsError, PipelineError
from loadbench.loaders.options import PipelineOptions
from loadbench.reports.records import Record
from loadbench.reports.units import format_bytes, parse_bytes
from loadbench.workload import accelerators

HELP = "search the settings that keep the accelerator busiest within a memory budget"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("what to search")
    targets.add_target(parser, what)
    what.add_argument(
        "--memory-budget",
        required=True,
        metavar="SIZE",
        help="the most peak memory the pipeline may take above the process's baseline, e.g. 1GB",
    )
    what.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="a setting and its values (repeat the flag): a strategy's prefetch, parallelism, "
        "cache, shuffle_buffer, batch_size; a function's keyword arguments or a tf.data "
        f"option ({', '.join(KNOBS)}); autotune is tf.data.AUTOTUNE",
    )
    what.add_argument(
        "--budget-trials",
        type=int,
        default=tuning.DEFAULT_TRIALS,
        metavar="N",
        help="the most trials the search measures (default: %(default)s)",
    )
    what.add_argument(
        "--grid",
        action="store_true",
        help="measure every point of the space once instead (what the search is checked against)",
    )
    targets.add_harness(parser, "tune", "records, logs and recommendation.json", "a trial")


def run(args: argparse.Namespace) -> int:
    plan = _plan(args)
    harness = targets.harness_of(args, plan.out)
    start_server(args.start_method)
    if isinstance(plan.spec, ProfileSpec):
        plan = _check_function(plan, harness)
    began = time.perf_counter()
    if args.grid:
        return _grid(plan, harness, began)
    labels: dict[Any, Any] = {}
    for label, point in plan.baselines():  # two baselines may be one point
        labels[point] = f"{labels[point]}, {label}" if point in labels else label
    space = {s.name: s.values for s in plan.space}
    found = search.coordinate_ascent(space, plan.baselines(), args.budget_trials)
    done: list[Done] = []
    run_jobs(tuning.trial_jobs(plan, found, done, labels), harness, done)
    outcome: search.Outcome = labels["outcome"]
    minutes = (time.perf_counter() - began) / 60
    if outcome.best is None and outcome.baselines and outcome.baselines[0].over:
        peak = max((r.peak or 0 for r in outcome.baselines[0].runs), default=0)
        raise OptionsError(
            f"--memory-budget {args.memory_budget}: the pipeline as given passed it (it "
            f"stopped at a peak of {format_bytes(peak)}, kept in {harness.results}); give a "
            "budget above its settled peak, or a --space that can make it smaller"
        )
    warnings = _warnings(plan, outcome.best, harness) if outcome.best else []
    written = output.write(plan, outcome, minutes, warnings)
    print(output.report(plan, outcome, minutes, warnings))
    report = _report(plan, harness, written)
    print(f"\nrecommendation: {written}\nrecords: {harness.results}\nreport: {report}")
    return 0 if outcome.best is not None else 1


def _report(plan: tuning.Plan, harness: Harness, written: Path | None) -> Path | None:
    """OUT/report/index.html: the trials' records and the tune section."""
    from loadbench.reports.html import write_report
    from loadbench.reports.load import load

    if harness.results is None or not harness.results.is_file():
        return None
    tuned = output.read(written) if written else None
    records = load([harness.results])
    return write_report(records, plan.out / "report", [str(harness.results)], tuned=tuned)


def _grid(plan: tuning.Plan, harness: Harness, began: float) -> int:
    points = search.grid({s.name: s.values for s in plan.space}, plan.baselines()[0][1])
    jobs = [tuning.job(plan, point, number, "") for number, point in enumerate(points, 1)]
    return _grid_report(plan, run_jobs(jobs, harness), points, began)


def _grid_report(plan: tuning.Plan, done: list[Done], points: list, began: float) -> int:
    found = []
    for point, finished in zip(points, done, strict=False):
        record = finished.record
        if not isinstance(record, Record):
            continue
        m = search.Measured(point, [tuning.run_of(record, plan.budget_bytes)])
        found.append(m)
    best = search.best_of(found, search.Noise())
    minutes = (time.perf_counter() - began) / 60
    lines = [f"\nthe whole grid: {len(points)} points, {len(done)} trials, {minutes:.1f} min"]
    lines += output.trial_lines(found)
    if best is not None:
        lines.append(
            f"\nbest within {format_bytes(plan.budget_bytes)}: {tuning.describe_point(best.point)}"
            f": busy {best.busy:.1%}, peak {format_bytes(best.peak)}"
        )
    print("\n".join(lines))
    return 0 if best is not None else 1


def _check_function(plan: tuning.Plan, harness: Harness) -> tuning.Plan:
    """The plan, its function's keyword arguments checked in a child (each name taken,
    each value accepted) and their defaults known."""
    spec = plan.spec
    assert isinstance(spec, ProfileSpec)
    settings = tuple((s.name, tuple(s.values)) for s in plan.space if s.kind == "kwarg")
    check = SpaceCheck(
        target=spec.target,
        kwargs=dict(spec.kwargs),
        settings=settings,
        knobs=tuple(s.name for s in plan.space if s.kind == "option"),
        log_path=str(plan.out / "logs" / "check.log"),
    )
    outcome = run_isolated(check, harness.timeout_s, work=check_space)
    if not isinstance(outcome.result, Checked):
        raise PipelineError(f"{spec.target}: checking its settings failed: {outcome.error}")
    if outcome.result.problems:
        raise OptionsError("; ".join(outcome.result.problems))
    return replace(plan, defaults=outcome.result.defaults)


def _warnings(plan: tuning.Plan, best: search.Measured, harness: Harness) -> list[str]:
    spec = replace(plan.spec_for(best.point), log_path=str(plan.out / "logs" / "recommended.log"))
    outcome = run_isolated(spec, harness.timeout_s, work=diagnosing.describe_pipeline)
    stages = outcome.result.stages if isinstance(outcome.result, diagnosing.Described) else []
    return warnings_for(stages, dict(spec.tf_options), dict(plan.spec.tf_options))


def _plan(args: argparse.Namespace) -> tuning.Plan:
    budget = parse_bytes(args.memory_budget, "--memory-budget")
    if budget is None or budget <= 0:
        raise OptionsError(f"--memory-budget {args.memory_budget}: must be above 0, e.g. 1GB")
    if args.budget_trials < 4:
        raise OptionsError(
            f"--budget-trials {args.budget_trials}: at least 4 (the baselines and a repeat)"
        )
    builtin = ":" not in args.target
    space = tuning.default_space(builtin, tuning.parse_space(args.space, builtin))
    base = {
        "steps": tuning.TRIAL_STEPS,
        "warmup_steps": tuning.TRIAL_WARMUP,
        "min_measured_s": tuning.TRIAL_MIN_S,
        "fed_search": False,
    }
    out = common.own_out(args, "tune")
    spec: RunSpec | ProfileSpec
    if not builtin:  # held to the user's model's step
        if args.step_time is None:
            raise OptionsError(
                "your pipeline is tuned for your model's step: give --step-time S (seconds a batch)"
            )
        choice = accelerators.choose(None, args.step_time)
        spec = targets.user_spec(args, choice, **base)
        dataset, epoch = profile_dataset_fields(spec), 0
    else:
        options = PipelineOptions(batch_size=args.batch_size or 32)
        spec = targets.strategy_spec(args, "tune", "train", options, **base)
        assert spec.described is not None
        dataset, epoch = dataset_fields(spec.described, True), spec.described.pairs
    return tuning.Plan(
        spec=spec,
        space=space,
        budget_bytes=budget,
        max_trials=args.budget_trials,
        out=out,
        dataset=dataset,
        epoch_samples=epoch,
    )
