"""Straight-line fits of a strategy's memory and graph bytes against dataset bytes, and
where each line crosses a limit (the 2 GiB protobuf limit, the machine's RAM). Pure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loadbench.reports.load import frame
from loadbench.reports.records import PROTOBUF_LIMIT_BYTES, Record
from loadbench.reports.units import format_bytes

FITTED = ("peak_rss_bytes", "memray_peak_bytes", "dataset_graph_bytes")
FLAT_SLOPE = 1e-9  # under a byte per GB of data: the metric does not grow with the data
TREND_R2 = 0.5  # below this the points do not follow a line: no crossing is predicted


@dataclass(frozen=True, kw_only=True)
class Fit:
    """y = slope * dataset_bytes + intercept over ``points`` sizes; r2 is the fit's
    coefficient of determination (1 = every point on the line; None with 2 points or
    when y does not vary)."""

    slope: float
    intercept: float
    r2: float | None
    points: int

    def at(self, dataset_bytes: float) -> float:
        return self.slope * dataset_bytes + self.intercept

    def crossing(self, limit: float) -> float | None:
        """The dataset bytes at which the line reaches ``limit``; None if it never does
        (flat or falling), 0 if it is already past it at no data."""
        if self.intercept >= limit:
            return 0.0
        if self.slope <= FLAT_SLOPE:
            return None
        return (limit - self.intercept) / self.slope

    @property
    def has_trend(self) -> bool:
        """The metric grows with the data along a line (or two points say so)."""
        return self.slope > FLAT_SLOPE and (self.r2 is None or self.r2 >= TREND_R2)


def fit_line(x: list[float], y: list[float]) -> Fit | None:
    """Least squares through (x, y); None with fewer than two distinct x."""
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    if len(xs) < 2 or len(np.unique(xs)) < 2:
        return None
    slope, intercept = np.polyfit(xs, ys, 1)
    residual = float(np.sum((ys - (slope * xs + intercept)) ** 2))
    spread = float(np.sum((ys - ys.mean()) ** 2))
    r2 = 1 - residual / spread if spread > 0 and len(xs) > 2 else None
    return Fit(slope=float(slope), intercept=float(intercept), r2=r2, points=len(xs))


def fits(records: list[Record]) -> pd.DataFrame:
    """One row per strategy, mode and metric over the ok runs: the fit against dataset
    bytes (medians of repeats at each size). Runs with other image sizes or options are
    other lines: only the number of pairs may vary along one."""
    df = frame(records)
    df = df[df["status"] == "ok"]
    rows = []
    same = ["strategy", "mode", "image_size", "options"]
    for (strategy, mode, _, _), group in df.groupby(same, sort=False, dropna=False):
        for metric in FITTED:
            points = group[["dataset_bytes", metric]].dropna()
            points = points.groupby("dataset_bytes", as_index=False)[metric].median()
            found = fit_line(points["dataset_bytes"].tolist(), points[metric].tolist())
            if found is not None:
                rows.append({"strategy": strategy, "mode": mode, "metric": metric, "fit": found})
    return pd.DataFrame(rows, columns=["strategy", "mode", "metric", "fit"])


def break_points(records: list[Record], ram_bytes: int) -> pd.DataFrame:
    """``fits`` plus, per row, the limit its metric answers to (the 2 GiB protobuf limit
    for graph bytes, ``ram_bytes`` for memory), the dataset bytes at which the line
    reaches it (``at``: None if never, 0 if already past) and that in words."""
    table = fits(records)
    limits, names, at, where = [], [], [], []
    for row in table.itertuples():
        graph = row.metric == "dataset_graph_bytes"
        limit = PROTOBUF_LIMIT_BYTES if graph else ram_bytes
        name = "the 2 GiB graph limit" if graph else f"{format_bytes(limit)} of RAM"
        crossing = row.fit.crossing(limit)
        if crossing == 0:
            said = f"already over {name}"
        elif not row.fit.has_trend or crossing is None:
            said = "never: does not grow with the data"
        else:
            said = f"{format_bytes(crossing)} of data ({name})"
        limits.append(limit)
        names.append(name)
        at.append(crossing if row.fit.has_trend or crossing == 0 else None)
        where.append(said)
    at_column = pd.Series(at, index=table.index, dtype=object)  # None stays None, not NaN
    return table.assign(limit=limits, limit_name=names, at=at_column, where=where)
