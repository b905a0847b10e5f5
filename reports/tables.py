"""The rows of the tables that both the terminal and the HTML report show: one function
per table returns its rows, every cell already formatted; ``loadbench.reports.text`` and the HTML
template only lay them out. Pure functions of records and comparisons."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from loadbench.reports import memory_model
from loadbench.reports.compare import Comparison
from loadbench.reports.load import options_label
from loadbench.reports.metrics import BY_FIELD
from loadbench.reports.records import LimitRecord, Record
from loadbench.reports.stats import spread
from loadbench.reports.summary import median_and_range
from loadbench.reports.units import format_bytes


@dataclass(frozen=True)
class CompareRow:
    run: str
    metric: str
    baseline: str
    current: str
    change: str
    verdict: str
    failed: bool
    improved: bool


def compare_rows(comparison: Comparison, regressions_first: bool = False) -> list[CompareRow]:
    """Every judged metric of every run: its two medians, the change and the verdict."""
    found = comparison.rows
    if regressions_first:
        found = sorted(found, key=lambda r: not r.failed)
    rows = []
    for row in found:
        metric = row.unit_metric
        rows.append(
            CompareRow(
                run=row.run,
                metric=row.metric,
                baseline=metric.format(row.baseline) if metric else "",
                current=metric.format(row.current) if metric else "",
                change=f"{row.change:+.1%}" if row.change is not None else "",
                verdict=row.verdict,
                failed=row.failed,
                improved=row.improved,
            )
        )
    return rows


@dataclass(frozen=True)
class ModelRow:
    """One measurement (strategy, mode, dataset, options) against the memory model."""

    strategy: str
    mode: str
    pairs: int
    dataset: str
    options: str
    repeats: int  # ok repeats the model applies to
    measured: str  # the median of the repeats' peaks
    measured_range: str  # their smallest and largest, '(all 3 equal)', '' for one repeat
    predicted: str
    predicted_range: str  # '' where every repeat's prediction is the same
    error: str
    error_fraction: float  # (predicted - measured) / measured, of the medians
    within: bool
    terms: str
    why: str


def model_rows(records: list[Record]) -> list[ModelRow]:
    """Predicted against measured peak for every measurement the memory model applies
    to, one row each: the median of its ok repeats' peaks, with their range, against the
    prediction. The repeats share one prediction unless they took different numbers of
    steps (a time floor), which can change what was read: then its median, with its
    range, and the terms of the repeat nearest it."""
    found = memory_model.table(records)
    rows: list[ModelRow] = []
    if found.empty:
        return rows
    for _, group in found.groupby("key", sort=False):
        measured, measured_range, measured_median = _bytes_and_range(group["measured"])
        predicted, predicted_range, predicted_median = _bytes_and_range(group["predicted"])
        error = (predicted_median - measured_median) / measured_median
        nearest = group.loc[(group["predicted"] - predicted_median).abs().idxmin()]
        shown = {k: v for k, v in nearest["options"].items() if k not in ("steps", "warmup_steps")}
        rows.append(
            ModelRow(
                strategy=str(nearest["strategy"]),
                mode=str(nearest["mode"]),
                pairs=int(nearest["pairs"]),
                dataset=f"{nearest['pairs']:,} pairs {nearest['image_size']}",
                options=options_label(shown),
                repeats=len(group),
                measured=measured,
                measured_range=measured_range,
                predicted=predicted,
                predicted_range="" if predicted_range.startswith("(all") else predicted_range,
                error=f"{error:+.0%}",
                error_fraction=float(error),
                within=abs(error) <= memory_model.TOLERANCE,
                terms=memory_model.largest_terms(nearest["terms"]),
                why=str(nearest["why"]),
            )
        )
    return rows


def _bytes_and_range(values: pd.Series) -> tuple[str, str, float]:
    """('959.9 MB', '(955.9-959.9)', 959_873_024.0): the median of a measurement's bytes
    over its repeats, their range ('(all 3 equal)' where they agree, '' for one), and the
    median itself."""
    found = spread(values)
    assert found is not None  # the model's table has a number in every row
    bytes_field = "peak_rss_bytes"  # any bytes metric: only its formatting is used
    row = {bytes_field: found.median, "spreads": {bytes_field: found}}
    text, ranged = median_and_range(row, bytes_field)
    return text, ranged, found.median


@dataclass(frozen=True)
class LimitRow:
    strategy: str
    path: str
    status: str
    graph: str
    peak: str
    outcome: str
    failed: bool


def limit_rows(found: list[LimitRecord]) -> list[LimitRow]:
    """Each strategy through each graph-serializing path, with what happened."""
    return [
        LimitRow(
            strategy=r.strategy,
            path=r.path,
            status=r.status,
            graph="-" if r.graph_bytes is None else format_bytes(r.graph_bytes),
            peak="-" if r.peak_rss_bytes is None else format_bytes(r.peak_rss_bytes),
            outcome=r.outcome,
            failed=r.status != "passed",
        )
        for r in found
    ]


@dataclass(frozen=True)
class FitRow:
    mode: str
    strategy: str
    metric: str  # the record's field
    label: str  # the metric's label
    slope: str
    per_pair: str
    intercept: str
    r2: str
    points: int
    where: str
    breaks: bool  # reaches its limit within ``near_bytes`` of data


def fit_rows(breaks: pd.DataFrame, bytes_per_sample: int, near_bytes: float) -> list[FitRow]:
    """The fits of memory and graph bytes against dataset bytes (``fit.break_points``),
    with where each reaches its limit."""
    return [
        FitRow(
            mode=str(row.mode),
            strategy=str(row.strategy),
            metric=str(row.metric),
            label=BY_FIELD[row.metric].label,
            slope=f"{row.fit.slope:.3f}",
            per_pair=f"{row.fit.slope * bytes_per_sample:,.0f}",
            intercept=format_bytes(row.fit.intercept),
            r2="n/a" if row.fit.r2 is None else f"{row.fit.r2:.3f}",
            points=int(row.fit.points),
            where=str(row.where),
            breaks=row.at is not None and row.at <= near_bytes,
        )
        for row in breaks.itertuples()
    ]
