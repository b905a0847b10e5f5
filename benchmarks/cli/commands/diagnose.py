"""``loadbench diagnose TARGET``: each stage of a pipeline measured alone, and the one
that starves the accelerator named (``loadbench.harness.commands.diagnose``)."""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import replace

from loadbench.cli import common, targets
from loadbench.harness.child.settle import SHORT_WINDOW_S, Settling
from loadbench.harness.commands import diagnose as diagnosing
from loadbench.harness.commands.profile import ProfileSpec
from loadbench.harness.commands.profile import dataset_fields as profile_dataset_fields
from loadbench.harness.parent.builder import dataset_fields
from loadbench.harness.parent.runner import run_isolated, start_server
from loadbench.harness.parent.session import Harness, records_of, run_jobs
from loadbench.harness.spec import RunSpec
from loadbench.loaders.errors import OptionsError, PipelineError
from loadbench.loaders.options import CACHE_MODES, PipelineOptions, parse_count
from loadbench.reports.metrics import BUSY_LINE
from loadbench.reports.units import format_bytes
from loadbench.workload import accelerators

WIDTH = 110  # the verdict's lines, under a 120-column terminal's
HELP = "measure each stage of a pipeline alone and name the one that starves the accelerator"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("what to run")
    targets.add_target(parser, what)
    what.add_argument("--prefetch", default="auto", metavar="N", help="a strategy's: 'auto' or N")
    what.add_argument("--parallelism", default="auto", metavar="N", help="'auto' or a count")
    what.add_argument("--cache", choices=CACHE_MODES, default="none", help="a strategy's cache")
    what.add_argument(
        "--max-time",
        type=float,
        default=diagnosing.MAX_TIME_S,
        metavar="S",
        help="a stage's run waits for its memory to settle, at most S s (default: %(default)g)",
    )
    what.add_argument("-r", "--repeats", type=int, default=1, metavar="N", help="runs a stage (1)")
    targets.add_harness(parser, "diagnose", "records, logs and stages.json", "a run")


def run(args: argparse.Namespace) -> int:
    plan = _plan(args)
    harness = targets.harness_of(args, plan.out)
    start_server(args.start_method)
    described = _described(plan, harness)
    done = run_jobs(diagnosing.stage_jobs(plan, described), harness)
    diagnosis = diagnosing.diagnose(described, records_of(done))
    written = diagnosing.write(diagnosis, plan.out)
    print(table(args.target, diagnosis))
    print(f"\nstages: {written}\nrecords: {harness.results}")
    return 0 if any(r.status == "ok" for r in records_of(done)) else 1


def _described(plan: diagnosing.Plan, harness: Harness) -> diagnosing.Described:
    logged = _logged(plan)
    outcome = run_isolated(
        logged,
        harness.timeout_s,
        work=diagnosing.describe_pipeline,
        start_method=harness.start_method,
    )
    if not isinstance(outcome.result, diagnosing.Described):
        raise PipelineError(f"{_name(plan.spec)}: describing its pipeline failed: {outcome.error}")
    return outcome.result


def _logged(plan: diagnosing.Plan) -> RunSpec | ProfileSpec:
    return replace(plan.spec, log_path=str(plan.out / "logs" / "describe.log"))


def _name(spec: RunSpec | ProfileSpec) -> str:
    return spec.target if isinstance(spec, ProfileSpec) else spec.strategy


def _plan(args: argparse.Namespace) -> diagnosing.Plan:
    out = common.own_out(args, "diagnose")
    if not args.max_time > 0:
        raise OptionsError(f"--max-time {args.max_time:g}: must be more than 0, e.g. --max-time 20")
    if args.repeats < 1:
        raise OptionsError(f"--repeats {args.repeats}: must be at least 1")
    base = {
        "steps": diagnosing.STEPS,
        "warmup_steps": diagnosing.WARMUP,
        "min_measured_s": diagnosing.MIN_TIME_S,
        "settling": Settling(max_s=args.max_time, window_s=SHORT_WINDOW_S),
        "fed_search": False,
    }
    spec: RunSpec | ProfileSpec
    if targets.is_users(args.target):  # iterating: the accelerator runs the whole one only
        spec = targets.user_spec(args, accelerators.Choice(), **base)
        step = args.step_time
        choice = accelerators.choose(None, step) if step is not None else accelerators.Choice()
        dataset = profile_dataset_fields(spec)
    else:
        options = PipelineOptions(
            batch_size=args.batch_size or 32,
            prefetch=parse_count(args.prefetch, "prefetch"),
            parallelism=parse_count(args.parallelism, "parallelism"),
            cache=args.cache,
        )
        spec = targets.strategy_spec(args, "diagnose", "iterate", options, **base)
        assert spec.described is not None  # strategy_spec describes the split
        choice, dataset = spec.accelerator, dataset_fields(spec.described, spec.synthetic)
    return diagnosing.Plan(
        spec=spec,
        accelerator=choice,
        repeats=args.repeats,
        max_time_s=args.max_time,
        out=out,
        dataset=dataset,
    )


def table(target: str, diagnosis: diagnosing.Diagnosis) -> str:
    """The stages, one line each, and the verdict."""
    demand = diagnosis.demand_samples_per_s
    lines = []
    if demand and diagnosis.step_s:
        given = diagnosis.accelerator in (None, accelerators.GIVEN)
        who = "a step of that time" if given else f"the {diagnosis.accelerator}"
        lines.append(
            f"{target}: {who} asks for {demand:,.0f} samples/s "
            f"(a batch every {diagnosis.step_s * 1000:.1f} ms)"
        )
    lines.append(
        f"\n  {'#':>2}  {'stage':<44} {'elements/s':>11} {'samples/s':>10} {'peak PSS':>9} "
        f"{'of demand':>9}"
    )
    for row in diagnosis.rows:
        mark = "  <- bottleneck" if row.bottleneck else ""
        settled = "" if row.settled in (True, None) else "~"
        lines.append(
            f"  {row.stage.index:>2}  {row.stage.call[:44]:<44} {_rate(row.elements_per_s):>11} "
            f"{_rate(row.samples_per_s):>10} {_bytes(row.peak_pss_bytes) + settled:>9} "
            f"{_share(row.share):>9}{mark}"
        )
    if diagnosis.busy_share is not None:
        line = "meets" if diagnosis.busy_share >= BUSY_LINE else "under"
        lines.append(
            f"  {'':>2}  {'the whole pipeline, under the accelerator':<44} busy "
            f"{diagnosis.busy_share:.0%} ({line} the {BUSY_LINE:.0%} line)"
        )
    lines.append("")
    lines.extend(textwrap.wrap(_verdict(diagnosis), WIDTH, subsequent_indent="  "))
    return "\n".join(lines)


def _verdict(diagnosis: diagnosing.Diagnosis) -> str:
    if diagnosis.bottleneck is None and not diagnosis.cause:
        return "no stage was measured: see the records' errors"
    if diagnosis.bottleneck is None:
        return f"the accelerator starves on {diagnosis.cause}"
    row = diagnosis.rows[diagnosis.bottleneck]
    share = f", {row.share:.0%} of the demand" if row.share is not None else ""
    if diagnosis.starved:
        where = f"stage {row.stage.index}, {row.stage.call}{share}"
        return f"starves the accelerator: {where}: {diagnosis.cause}"
    if diagnosis.busy_share is None:
        return f"the slowest stage: {row.stage.index}, {row.stage.call}: {diagnosis.cause}"
    return (
        f"nothing starves the accelerator; the slowest stage is {row.stage.index}, "
        f"{row.stage.call}{share}: {diagnosis.cause}"
    )


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _bytes(value: int | None) -> str:
    return "-" if value is None else format_bytes(value)


def _share(value: float | None) -> str:
    if value is None:
        return "-"
    return ">999%" if value > 9.99 else f"{value:.0%}"
