"""The statistics every figure goes through: medians, percentiles and the spread of a
figure over its repeats. Standard library only, so the measuring child can use it too."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass


def clean(values: Iterable[float | int | None]) -> list[float]:
    """The numbers among ``values``: None and NaN (a figure not measured) left out."""
    return [float(v) for v in values if v is not None and v == v]


def median(values: Iterable[float | int | None]) -> float | None:
    """The median of the numbers among ``values``; None when there are none."""
    found = clean(values)
    return float(statistics.median(found)) if found else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile as the nearest-rank value of ``values`` (a value that was
    measured, never one interpolated between two); None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[position]


@dataclass(frozen=True)
class Spread:
    """The repeats of one figure: median, smallest, largest and the coefficient of
    variation (sample standard deviation over the mean; None for a single repeat)."""

    median: float
    low: float
    high: float
    count: int
    cv: float | None = None

    @property
    def relative_range(self) -> float:
        """(largest - smallest) / median: how far apart the repeats are."""
        return (self.high - self.low) / self.median if self.median else 0.0


def spread(values: Iterable[float | int | None]) -> Spread | None:
    """The spread of the numbers among ``values``; None when there are none."""
    found = clean(values)
    if not found:
        return None
    mean = statistics.fmean(found)
    cv = statistics.stdev(found) / mean if len(found) > 1 and mean else None
    return Spread(statistics.median(found), min(found), max(found), len(found), cv)


def late_rise(timeline: list[list[float]]) -> float | None:
    """How far a run's memory timeline was still climbing when it ended: the highest
    value of its last third over the highest before it, less 1 (0.25: 25% higher at the
    end); None for a timeline too short to tell (under 6 points) or one that never
    rose above zero before its last third."""
    if len(timeline) < 6:
        return None
    cut = len(timeline) * 2 // 3
    before = max(point[1] for point in timeline[:cut])
    if before <= 0:
        return None
    return max(point[1] for point in timeline[cut:]) / before - 1
