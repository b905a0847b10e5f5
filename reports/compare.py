"""The regression decision: a baseline's runs against the current ones, metric by metric.

Pure: records in, a Comparison out. Peak memory and graph bytes are the strict gates;
throughput is judged only between runs from the same machine (or when forced), because a
shared machine moves it by more than any sensible tolerance.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from benchmarks.records import Record
from loaders.errors import OptionsError
from reports.metrics import METRICS, Metric
from reports.units import first_line


@dataclass(frozen=True, kw_only=True)
class Tolerances:
    """Allowed relative change in the worse direction before a metric fails, per kind.

    memory_floor_bytes: a memory change smaller than this never fails, whatever its
        percentage (a few MB of allocator noise on a small run is not a regression).
    """

    memory: float = 0.10
    graph: float = 0.01
    throughput: float = 0.25
    memory_floor_bytes: int = 0
    force_throughput: bool = False
    ignore_throughput: bool = False

    def __post_init__(self) -> None:
        for name in ("memory", "graph", "throughput"):
            value = getattr(self, name)
            if not 0 <= value < 10:
                raise OptionsError(f"--{name}-tolerance {value:.0%}: must be from 0% to 1000%")
        if self.memory_floor_bytes < 0:
            raise OptionsError(f"--memory-floor {self.memory_floor_bytes}: must be 0 or more")


@dataclass(frozen=True, kw_only=True)
class Row:
    run: str
    metric: str
    baseline: float | None
    current: float | None
    change: float | None  # relative, (current - baseline) / baseline
    verdict: str
    failed: bool = False
    improved: bool = False
    unit_metric: Metric | None = None


@dataclass(frozen=True, kw_only=True)
class Comparison:
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped_throughput: int = 0  # runs whose throughput was not judged (other machine)

    @property
    def failed(self) -> bool:
        return bool(self.failures)


def fingerprint(env: dict) -> tuple:
    """What makes two runs' timings comparable: the same host, CPU model and count."""
    return (env.get("hostname"), env.get("cpu_model"), env.get("cpu_count"))


def run_label(record: Record) -> str:
    data = record.dataset
    size = "x".join(str(v) for v in reversed(data.get("image_size") or []))
    return f"{record.mode} {record.strategy} ({data.get('pairs')} pairs {size})"


def _by_key(records: list[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        grouped[record.key()].append(record)
    return grouped


def _value(records: list[Record], metric: Metric) -> float | None:
    values = [getattr(r, metric.field) for r in records if r.status == "ok"]
    values = [v for v in values if v is not None]
    return float(statistics.median(values)) if values else None


def compare(baseline: list[Record], current: list[Record], tolerances: Tolerances) -> Comparison:
    """Match runs by strategy, dataset, options and mode; judge each gated metric."""
    now: dict[str, list[Record]] = defaultdict(list)
    for record in current:  # a failed train run does not know the width it would have used
        for identity in record.identities():
            now[identity].append(record)
    rows: list[Row] = []
    failures: list[str] = []
    skipped = 0
    for before in _by_key(baseline).values():
        label = run_label(before[0])
        after = next((now[i] for i in before[0].identities() if now.get(i)), None)
        if not after:
            failures.append(f"{label}: in the baseline, missing from the current results")
            rows.append(_verdict_row(label, "run", "missing", failed=True))
            continue
        was_ok = any(r.status == "ok" for r in before)
        is_ok = any(r.status == "ok" for r in after)
        if was_ok and not is_ok:
            last = after[-1]
            failures.append(
                f"{label}: ok in the baseline, now {last.status}: {first_line(last.error)}"
            )
            rows.append(_verdict_row(label, "status", f"now {last.status}", failed=True))
            continue
        if not was_ok:
            rows.append(_verdict_row(label, "status", f"baseline run was {before[-1].status}"))
            continue
        same_machine = {fingerprint(r.env) for r in before} == {fingerprint(r.env) for r in after}
        for metric in METRICS:
            if metric.tolerance is None:
                continue
            old, new = _value(before, metric), _value(after, metric)
            if old is None and new is None:
                continue
            if metric.tolerance == "throughput" and tolerances.ignore_throughput:
                rows.append(_row(label, metric, old, new, "not judged (--ignore-throughput)"))
                continue
            if metric.tolerance == "throughput" and not (
                same_machine or tolerances.force_throughput
            ):
                skipped += 1
                rows.append(_row(label, metric, old, new, "not judged: another machine"))
                continue
            rows.append(_judge(label, metric, old, new, tolerances, failures))
    return Comparison(rows=rows, failures=failures, skipped_throughput=skipped)


def _verdict_row(label: str, what: str, verdict: str, failed: bool = False) -> Row:
    """A row about the run itself (missing, failing), with no figures to show."""
    return Row(
        run=label,
        metric=what,
        baseline=None,
        current=None,
        change=None,
        verdict=verdict,
        failed=failed,
    )


def _row(label: str, metric: Metric, old, new, verdict: str, **flags) -> Row:
    change = (new - old) / old if old not in (None, 0) and new is not None else None
    return Row(
        run=label,
        metric=metric.label,
        baseline=old,
        current=new,
        change=change,
        verdict=verdict,
        unit_metric=metric,
        **flags,
    )


def _judge(label, metric: Metric, old, new, tolerances: Tolerances, failures: list) -> Row:
    if old is None:
        return _row(label, metric, old, new, "new: not in the baseline")
    if new is None:
        return _row(label, metric, old, new, "not measured now")
    allowed = getattr(tolerances, metric.tolerance)
    worse = new - old if metric.better == "lower" else old - new
    relative = worse / old if old else (float("inf") if worse > 0 else 0.0)
    if metric.tolerance == "memory" and abs(new - old) < tolerances.memory_floor_bytes:
        return _row(label, metric, old, new, "ok (under the memory floor)")
    if relative > allowed:
        text = f"{metric.label} {metric.format(old)} -> {metric.format(new)}"
        failures.append(f"{label}: {text}, {relative:+.1%} worse, over the {allowed:.0%} tolerance")
        return _row(label, metric, old, new, f"regressed (> {allowed:.0%})", failed=True)
    return _row(label, metric, old, new, "ok", improved=relative < -allowed)
