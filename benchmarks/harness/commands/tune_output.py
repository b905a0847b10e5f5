"""What ``loadbench tune`` gives back: ``recommendation.json``, the terminal's account of
the search (every trial, the baselines beside the recommendation, what each change
bought, the Pareto front) and the code that applies it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loadbench.harness.child.tuning import code_lines
from loadbench.harness.commands import search
from loadbench.harness.commands import tune as tuning
from loadbench.harness.commands.profile import ProfileSpec
from loadbench.harness.spec import RunSpec
from loadbench.reports.units import format_bytes

RECOMMENDATION = "recommendation.json"


def recommendation(
    plan: tuning.Plan, outcome: search.Outcome, minutes: float, warnings: list[str]
) -> dict[str, Any]:
    """``recommendation.json``: the settings, their AU and peak with ranges, the search."""
    best = outcome.best
    assert best is not None
    kwargs, options = split_point(plan, best.point)
    good = best.good
    return {
        "target": plan.spec.target if isinstance(plan.spec, ProfileSpec) else plan.spec.strategy,
        "kwargs": kwargs,
        "options": options,
        "accelerator_busy_share": best.busy,
        "accelerator_busy_share_range": [
            min(r.busy or 0 for r in good),
            max(r.busy or 0 for r in good),
        ],
        "peak_pss_bytes": best.peak,
        "peak_pss_bytes_range": [min(r.peak or 0 for r in good), max(r.peak or 0 for r in good)],
        "memory_budget_bytes": plan.budget_bytes,
        "trials": outcome.trials,
        "minutes": round(minutes, 2),
        "baselines": [_summary(m) for m in outcome.baselines],
        "pareto": [_summary(m) for m in search.pareto(outcome.measured)],
        "changes": [
            {
                "setting": c.setting,
                "from": _plain(c.before),
                "to": _plain(c.after),
                "busy": list(c.busy),
                "peak_pss_bytes": list(c.peak),
            }
            for c in outcome.changes
        ],
        "warnings": warnings,
        "stopped": outcome.stopped or None,
    }


def split_point(plan: tuning.Plan, point: search.Point) -> tuple[dict[str, Any], dict[str, Any]]:
    """A point as keyword arguments (a strategy's pipeline options, a function's
    arguments) and ``tf.data.Options`` knobs; settings left as given are left out."""
    kwargs: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for setting in plan.space:
        value = dict(point)[setting.name]
        default = plan.defaults.get(setting.name, tuning.GIVEN_DEFAULT)
        if value is tuning.GIVEN_DEFAULT or (value == default and type(value) is type(default)):
            continue  # as the function takes it
        (options if setting.kind == "option" else kwargs)[setting.name] = value
    return kwargs, options


def _summary(m: search.Measured) -> dict[str, Any]:
    kwargs = {n: _plain(v) for n, v in m.point}
    return {
        "settings": kwargs,
        "label": m.label or None,
        "accelerator_busy_share": m.busy if m.good else None,
        "peak_pss_bytes": m.peak if m.good else None,
        "over_budget": m.over,
        "runs": len(m.runs),
    }


def _plain(value: Any) -> Any:
    return None if value is tuning.GIVEN_DEFAULT else value


def write(
    plan: tuning.Plan, outcome: search.Outcome, minutes: float, warnings: list[str]
) -> Path | None:
    if outcome.best is None:
        return None
    path = plan.out / RECOMMENDATION
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recommendation(plan, outcome, minutes, warnings), indent=2) + "\n")
    return path


def report(plan: tuning.Plan, outcome: search.Outcome, minutes: float, warnings: list[str]) -> str:
    """What the search found, for the terminal."""
    lines = [
        f"\n{outcome.trials} trials in {minutes:.1f} min (coordinate ascent, each change beyond "
        f"the noise: AU {outcome.noise.busy:.1%}, peak {outcome.noise.peak:.0%})"
    ]
    lines += trial_lines(outcome.measured)
    lines.append("")
    for m in outcome.baselines:
        lines.append(f"  baseline, {m.label}: {_figures(m)}")
    best = outcome.best
    if best is None:
        lines.append(f"\nnothing within {format_bytes(plan.budget_bytes)} was measured")
        return "\n".join(lines)
    lines.append(f"  recommended: {tuning.describe_point(best.point)}: {_figures(best)}")
    for change in outcome.changes:
        lines.append(
            f"    {change.setting} {tuning.shown(change.before)} -> "
            f"{tuning.shown(change.after)}: busy {change.busy[0]:.1%} -> "
            f"{change.busy[1]:.1%}, peak "
            f"{format_bytes(change.peak[0])} -> {format_bytes(change.peak[1])}"
        )
    front = search.pareto(outcome.measured)
    lines.append(
        "  Pareto front (busy against peak): "
        + "; ".join(f"{format_bytes(m.peak)} {m.busy:.1%}" for m in front)
    )
    lines.append("\nto apply it:")
    lines += ["  " + line for line in apply_lines(plan, best.point)]
    for warning in warnings:
        lines.append(f"warning: {warning}")
    if outcome.stopped:
        lines.append(f"stopped early: {outcome.stopped}")
    return "\n".join(lines)


def apply_lines(plan: tuning.Plan, point: search.Point) -> list[str]:
    """The code or command that applies the point."""
    kwargs, options = split_point(plan, point)
    if isinstance(plan.spec, RunSpec):
        flags = " ".join(
            f"--{n.replace('_', '-')} {tuning.shown(v)}"
            for n, v in kwargs.items()
            if n in ("prefetch", "parallelism", "cache", "batch_size")
        )
        return [
            f"loadbench run -l {plan.spec.strategy} {flags}".rstrip(),
            f"PipelineOptions({', '.join(f'{n}={v!r}' for n, v in kwargs.items())})",
        ]
    name = plan.spec.target.rpartition(":")[2]
    arguments = {**plan.spec.kwargs, **kwargs}
    shown = ", ".join(
        f"{n}=tf.data.AUTOTUNE" if v == -1 and not isinstance(v, bool) else f"{n}={v!r}"
        for n, v in arguments.items()
    )
    lines = [f"ds = {name}({shown})"]
    if options:
        lines += code_lines(options)
    return lines


def _figures(m: search.Measured) -> str:
    if not m.good:
        return "over the budget" if m.over else "failed"
    busy = [r.busy or 0 for r in m.good]
    peaks = [r.peak or 0 for r in m.good]
    spread = (
        f" ({min(busy):.1%}-{max(busy):.1%}, {format_bytes(min(peaks))}-{format_bytes(max(peaks))})"
    )
    return f"busy {m.busy:.1%}, peak {format_bytes(m.peak)}" + (spread if len(m.good) > 1 else "")


def trial_lines(measured: list[search.Measured]) -> list[str]:
    lines = [f"  {'settings':<52} {'busy':>6} {'peak PSS':>9} {'samples/s':>9} runs"]
    for m in measured:
        if m.good:
            rates = [r.rate for r in m.good if r.rate]
            rate = sum(rates) / len(rates) if rates else 0
            shown = f"{m.busy:>6.1%} {format_bytes(m.peak):>9} {rate:>9,.0f}"
        else:
            shown = f"{'over budget' if m.over else 'failed':>26}"
        lines.append(f"  {tuning.describe_point(m.point)[:52]:<52} {shown} {len(m.runs):>4}")
    return lines


def point_from(plan: tuning.Plan, found: dict[str, Any]) -> search.Point:
    """The point a ``recommendation.json`` holds, in ``plan``'s space: what ``write``
    wrote reads back as the point it came from."""
    values = {**found.get("kwargs", {}), **found.get("options", {})}
    left = {s.name: plan.defaults.get(s.name, tuning.GIVEN_DEFAULT) for s in plan.space}
    return tuple((s.name, values.get(s.name, left[s.name])) for s in plan.space)


def read(path: Path) -> dict[str, Any]:
    """A ``recommendation.json`` as written."""
    found = json.loads(Path(path).read_text())
    if not isinstance(found, dict) or "kwargs" not in found:
        raise ValueError(f"{path}: not a loadbench tune recommendation")
    return found
