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
    strategy: str
    pairs: int
    dataset: str
    options: str
    measured: str
    predicted: str
    error: str
    error_fraction: float  # (predicted - measured) / measured
    within: bool
    terms: str
    why: str


def model_rows(records: list[Record]) -> list[ModelRow]:
    """Predicted against measured peak for every run the memory model applies to."""
    found = memory_model.table(records)
    rows = []
    for row in found.itertuples():
        shown = {k: v for k, v in row.options.items() if k not in ("steps", "warmup_steps")}
        rows.append(
            ModelRow(
                strategy=str(row.strategy),
                pairs=int(row.pairs),
                dataset=f"{row.pairs:,} pairs {row.image_size}",
                options=options_label(shown),
                measured=format_bytes(row.measured),
                predicted=format_bytes(row.predicted),
                error=f"{row.error:+.0%}",
                error_fraction=float(row.error),
                within=bool(row.within),
                terms=memory_model.largest_terms(row.terms),
                why=str(row.why),
            )
        )
    return rows


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
