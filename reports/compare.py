"""The regression decision: a baseline's runs against the current ones, metric by metric.

Pure: records in, a Comparison out. Graph bytes are the strict gate, on the median of
the repeats. Peak memory is judged against the baseline's spread: the current median
fails past the baseline's largest repeat by more than the tolerance (and the floor),
since a pipeline's settled peak still differs between runs of the same code (glibc's
arenas, AUTOTUNE's buffers) and the largest is what a user plans with. Throughput is
judged only between runs from the same machine (or when forced), because a shared machine
moves it by more than any sensible tolerance. With MIN_REPEATS_TESTED ok repeats a side,
a memory rise or a throughput drop past its tolerance must also be significant
(one-sided Mann-Whitney U, p < alpha) to count; with fewer, the tolerance alone decides
and the verdict says the change was not tested.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from loadbench.loaders.errors import OptionsError
from loadbench.reports.metrics import METRICS, Metric
from loadbench.reports.records import FIT_ROOT, PIPELINE_ROOT, Record
from loadbench.reports.stats import median
from loadbench.reports.units import first_line

MIN_REPEATS_TESTED = 5  # ok repeats each side needs before throughput is tested


@dataclass(frozen=True, kw_only=True)
class Tolerances:
    """Allowed relative change in the worse direction before a metric fails, per kind.

    memory_floor_bytes: a memory change smaller than this never fails, whatever its
        percentage (a few MB of allocator noise on a small run is not a regression).
    alpha: significance level of the throughput test; a drop past the tolerance counts only
        when the Mann-Whitney p-value is below it (with MIN_REPEATS_TESTED repeats a side).
    """

    memory: float = 0.10
    graph: float = 0.01
    throughput: float = 0.25
    memory_floor_bytes: int = 0
    force_throughput: bool = False
    ignore_throughput: bool = False
    ignore_memory: bool = False
    alpha: float = 0.01

    def __post_init__(self) -> None:
        for name in ("memory", "graph", "throughput"):
            value = getattr(self, name)
            if not 0 <= value < 10:
                raise OptionsError(f"--{name}-tolerance {value:.0%}: must be from 0% to 1000%")
        if self.memory_floor_bytes < 0:
            raise OptionsError(f"--memory-floor {self.memory_floor_bytes}: must be 0 or more")
        if not 0 < self.alpha < 1:
            raise OptionsError(f"--alpha {self.alpha:g}: must be between 0 and 1, exclusive")


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
    p_value: float | None = None  # the throughput test's, when both sides had enough repeats


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
    if data.get("root") in (PIPELINE_ROOT, FIT_ROOT):
        return f"{record.mode} {record.strategy}"
    return f"{record.mode} {record.strategy} ({data.get('pairs')} pairs {size})"


def _by_key(records: list[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        grouped[record.key()].append(record)
    return grouped


def _values(records: list[Record], metric: Metric) -> list[float]:
    """The metric's value in each ok repeat that measured it."""
    values = [r.figure(metric.field) for r in records if r.status == "ok"]
    return [float(v) for v in values if v is not None]


def p_worse(before: list[float], after: list[float], better: str) -> float:
    """One-sided Mann-Whitney U p-value for "``after`` is worse than ``before``" (lower
    when higher is better). Exact without ties; with ties scipy picks (normal approximation).
    """
    from scipy.stats import mannwhitneyu  # imported here: only tested runs pay for scipy

    tied = len(set(before) | set(after)) < len(before) + len(after)
    result = mannwhitneyu(
        after,
        before,
        alternative="less" if better == "higher" else "greater",
        method="auto" if tied else "exact",
    )
    p = float(result.pvalue)
    return 1.0 if p != p else p  # NaN (no variation to rank) is no evidence of a shift


def compare(baseline: list[Record], current: list[Record], tolerances: Tolerances) -> Comparison:
    """Match runs by strategy, dataset, options and mode; judge each gated metric."""
    now = _by_key(current)
    rows: list[Row] = []
    failures: list[str] = []
    skipped = 0
    for before in _by_key(baseline).values():
        label = run_label(before[0])
        after = now.get(before[0].key())
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
            old_values, new_values = _values(before, metric), _values(after, metric)
            old, new = median(old_values), median(new_values)
            if old is None and new is None:
                continue
            if reason := _not_judged(metric, tolerances, same_machine):
                skipped += reason == ANOTHER_MACHINE
                rows.append(_row(label, metric, old, new, reason))
                continue
            test = _significance(old_values, new_values, metric)
            middle = old
            if metric.tolerance == "memory" and old_values:
                old = max(old_values)  # the baseline's spread: its largest repeat
            rows.append(_judge(label, metric, old, new, tolerances, failures, test, middle))
    return Comparison(rows=rows, failures=failures, skipped_throughput=skipped)


ANOTHER_MACHINE = "not judged: another machine"


def _not_judged(metric: Metric, tolerances: Tolerances, same_machine: bool) -> str | None:
    """Why a metric is shown without a verdict; None when it is judged."""
    if metric.tolerance == "memory" and tolerances.ignore_memory:
        return "not judged (--ignore-memory)"
    if metric.tolerance == "throughput" and tolerances.ignore_throughput:
        return "not judged (--ignore-throughput)"
    if metric.tolerance == "throughput" and not (same_machine or tolerances.force_throughput):
        return ANOTHER_MACHINE
    return None


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


def _change(old, new) -> float | None:
    """Relative change of the median, (new - old) / old; None when it has no meaning."""
    return (new - old) / old if old not in (None, 0) and new is not None else None


def _row(label: str, metric: Metric, old, new, verdict: str, **flags) -> Row:
    return Row(
        run=label,
        metric=metric.label,
        baseline=old,
        current=new,
        change=_change(old, new),
        verdict=verdict,
        unit_metric=metric,
        **flags,
    )


@dataclass(frozen=True)
class _Test:
    """The throughput test's outcome: its p-value (None when not run) and how to say it."""

    p: float | None = None
    text: str = ""


_NO_TEST = _Test()


def _significance(before: list[float], after: list[float], metric: Metric) -> _Test:
    """Test a throughput's or a peak's shift when both sides have enough repeats; the
    graphs' strict gate never."""
    if metric.tolerance not in ("throughput", "memory"):
        return _NO_TEST
    if min(len(before), len(after)) < MIN_REPEATS_TESTED:
        if metric.tolerance == "memory":  # the tolerance over the largest alone decides
            return _NO_TEST
        counts = f"{len(before)} and {len(after)} repeats, {MIN_REPEATS_TESTED} needed"
        return _Test(text=f"not tested: {counts}")
    p = p_worse(before, after, metric.better)
    return _Test(p, f"p={p:.2g}")


def _judge(
    label,
    metric: Metric,
    old,
    new,
    tolerances: Tolerances,
    failures: list,
    test: _Test = _NO_TEST,
    middle: float | None = None,
) -> Row:
    """With a p-value, a median past the tolerance counts only when p < alpha; without,
    the tolerance alone decides. A memory change is measured from ``middle`` (the
    baseline's median) for the floor: the floor is noise around the typical run, the
    tolerance is over the largest."""
    if old is None:
        return _row(label, metric, old, new, "new: not in the baseline")
    if new is None:
        return _row(label, metric, old, new, "not measured now")
    allowed = getattr(tolerances, metric.tolerance or "")
    worse = new - old if metric.better == "lower" else old - new
    relative = worse / old if old else (float("inf") if worse > 0 else 0.0)
    typical = old if middle is None else middle
    if metric.tolerance == "memory" and abs(new - typical) < tolerances.memory_floor_bytes:
        return _row(label, metric, old, new, "ok (under the memory floor)")
    note = f", {test.text}" if test.text else ""
    if relative > allowed and test.p is not None and test.p >= tolerances.alpha:
        change = _change(old, new)
        shift = f"median {change:+.0%}" if change is not None else "median worse"
        verdict = f"ok ({shift} but not significant{note} >= {tolerances.alpha:g})"
        return _row(label, metric, old, new, verdict, p_value=test.p)
    if relative > allowed:
        text = f"{metric.label} {metric.format(old)} -> {metric.format(new)}"
        if metric.tolerance == "memory":
            largest = metric.format(old)
            text = f"{metric.label} {metric.format(new)}, the baseline's largest {largest}"
        failures.append(
            f"{label}: {text}, {relative:+.1%} worse, over the {allowed:.0%} tolerance{note}"
        )
        verdict = f"regressed (> {allowed:.0%}{note})"
        return _row(label, metric, old, new, verdict, failed=True, p_value=test.p)
    verdict = f"ok ({test.text})" if test.text else "ok"
    return _row(label, metric, old, new, verdict, improved=relative < -allowed, p_value=test.p)
