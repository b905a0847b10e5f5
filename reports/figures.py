"""The report's figures, drawn with matplotlib and returned as PNG bytes to embed."""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.pyplot as plt
import pandas as pd

from loadbench.reports.metrics import BUSY_LINE
from loadbench.reports.records import PROTOBUF_LIMIT_BYTES, Record
from loadbench.reports.units import format_bytes

MB = 1e6  # decimal, as every table of loadbench prints
FAILED_COLOR = "#c0392b"
OK_COLOR = "#2e86c1"
CEILING_COLOR = "#95a5a6"


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _modes(table: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(table["mode"]))


def _bars(
    table: pd.DataFrame,
    field: str,
    scale: float,
    xlabel: str,
    title: str,
    spread_of: Callable[[pd.Series], str] | None = None,
) -> bytes:
    """Horizontal bars of ``field`` per strategy, one panel per mode, with min-max error
    bars over the repeats (the spread of ``spread_of(row)``'s field, default ``field``).
    Ceiling rows are grey; failed rows red, labelled with their status."""
    modes = _modes(table)
    spread_field = spread_of or (lambda _: field)
    height = 0.45 * max(len(table[table["mode"] == m]) for m in modes) + 1.2
    figure, axes = plt.subplots(1, len(modes), figsize=(5.2 * len(modes), height), squeeze=False)
    for axis, mode in zip(axes[0], modes, strict=True):
        rows = table[table["mode"] == mode]
        values = pd.to_numeric(rows[field], errors="coerce") / scale
        bounds = [_bounds(row, spread_field(row)) for _, row in rows.iterrows()]
        scaled = [None if b is None else (b[0] / scale, b[1] / scale) for b in bounds]
        errors = _errors(values, scaled)
        colors = [
            _color(role, status) for role, status in zip(rows["role"], rows["status"], strict=True)
        ]
        texts = [
            f" {status}" if status != "ok" else " n/a" if value != value else f" {value:,.0f}"
            for value, status in zip(values, rows["status"], strict=True)
        ]
        _whiskered(axis, values, errors, colors, _labels(rows, table), texts)
        axis.invert_yaxis()
        axis.set_title(f"{title} ({mode})", fontsize=10)
        axis.set_xlabel(xlabel)
        axis.margins(x=0.2)
    figure.tight_layout()
    return _png(figure)


def _whiskered(axis, values: pd.Series, errors, colors, labels, texts) -> None:
    """Horizontal bars of ``values`` (a missing one drawn as 0) with their min-max
    whiskers, ``labels`` down the side and each bar's text just past its whisker."""
    drawn = values.fillna(0)
    axis.barh(range(len(values)), drawn, color=colors)
    axis.errorbar(
        drawn,
        range(len(values)),
        xerr=errors,
        fmt="none",
        ecolor="#333333",
        elinewidth=1,
        capsize=3,
    )
    axis.set_yticks(range(len(values)), labels)
    for position, (value, high, text) in enumerate(zip(drawn, errors[1], texts, strict=True)):
        axis.text(value + high, position, text, va="center", fontsize=8)


def _color(role: str, status: str) -> str:
    if status != "ok":
        return FAILED_COLOR
    return CEILING_COLOR if role == "ceiling" else OK_COLOR


def _bounds(row: pd.Series, field: str) -> tuple[float, float] | None:
    """The smallest and largest repeat of a row's figure; None without two repeats."""
    found = (row.get("spreads") or {}).get(field)
    return (found.low, found.high) if found is not None and found.count > 1 else None


def _errors(values: pd.Series, bounds: list) -> list[list[float]]:
    """Error bar lengths below and above each value to its (low, high); 0 where None."""
    below, above = [], []
    for value, found in zip(values, bounds, strict=True):
        known = found is not None and value == value
        below.append(max(0.0, value - found[0]) if known else 0.0)
        above.append(max(0.0, found[1] - value) if known else 0.0)
    return [below, above]


def _labels(rows: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """Strategy names, with the pair count when the table holds several dataset sizes."""
    if table["pairs"].nunique() > 1:
        return [f"{s} ({p:,} pairs)" for s, p in zip(rows["strategy"], rows["pairs"], strict=True)]
    return list(rows["strategy"])


def throughput(table: pd.DataFrame) -> bytes:
    return _bars(table, "samples_per_s", 1, "samples/s (higher is better)", "Throughput")


def memory_label(table: pd.DataFrame) -> str:
    """What the peak memory figure plots: 'PSS (tree, shared pages once)', 'RSS (summed)',
    or both where some rows lack PSS."""
    figures = set(table["memory_figure"].dropna())
    if figures == {"PSS"}:
        return "PSS (tree, shared pages once)"
    if figures == {"RSS"} or not figures:
        return "RSS (summed)"
    return "PSS (tree, shared pages once), else RSS (summed)"


def peak_memory(table: pd.DataFrame) -> bytes:
    """Each row's ``memory_bytes``: PSS where it was measured, else RSS."""
    label = memory_label(table)
    if "else RSS" in label:  # name the bars that are RSS
        rss = table["memory_figure"] == "RSS"
        table = table.assign(strategy=table["strategy"].where(~rss, table["strategy"] + " (RSS)"))
    return _bars(
        table,
        "memory_bytes",
        MB,
        f"peak {label},\nMB above baseline (lower is better)",
        "Peak PSS" if label.startswith("PSS (tree, shared pages once)") else "Peak RSS",
        spread_of=lambda row: f"peak_{str(row['memory_figure']).lower()}_bytes",
    )


def busy_share(table: pd.DataFrame, labels: list[str], accelerator: str) -> bytes:
    """Training rows (named by ``labels``): accelerator utilisation, the share of the
    steps' wall time the accelerator was busy, with min-max error bars and the 90% line."""
    rows = table.reset_index(drop=True)
    busy = 100 * pd.to_numeric(rows["accelerator_busy_share"], errors="coerce")
    bounds = [_bounds(row, "accelerator_busy_share") for _, row in rows.iterrows()]
    errors = _errors(busy, [None if b is None else (100 * b[0], 100 * b[1]) for b in bounds])
    figure, axis = plt.subplots(figsize=(7.5, 0.45 * max(len(rows), 1) + 1.5))
    colors = [OK_COLOR if v >= 100 * BUSY_LINE else FAILED_COLOR for v in busy.fillna(0)]
    texts = [" n/a" if value != value else f" {value:.1f}%" for value in busy]
    _whiskered(axis, busy, errors, colors, labels, texts)
    axis.axvline(100 * BUSY_LINE, color="#555555", linestyle="--", linewidth=1.2)
    axis.text(
        100 * BUSY_LINE,
        -0.6,
        "90% busy (MLPerf Storage's bar) ",
        color="#555555",
        fontsize=8,
        ha="right",
        va="bottom",
    )
    axis.set_xlim(0, 110)
    axis.set_ylim(len(rows) - 0.4, -1.2)
    axis.set_xlabel(f"{accelerator} busy (AU), % of the steps' wall time (higher is better)")
    axis.set_title(f"Would it keep {accelerator} busy?", fontsize=10)
    figure.tight_layout()
    return _png(figure)


def timelines(records: list[Record]) -> bytes:
    """Resident memory over time, one line per strategy (its last ok run), per mode."""
    modes = list(dict.fromkeys(r.mode for r in records))
    figure, axes = plt.subplots(1, len(modes), figsize=(5.8 * len(modes), 3.6), squeeze=False)
    for axis, mode in zip(axes[0], modes, strict=True):
        latest: dict[str, Record] = {}
        for record in records:
            if record.mode == mode and record.status == "ok" and record.memory.rss_timeline:
                latest[record.strategy] = record
        for strategy, record in latest.items():
            seconds = [point[0] for point in record.memory.rss_timeline]
            used = [point[1] / MB for point in record.memory.rss_timeline]
            axis.plot(seconds, used, label=strategy, linewidth=1.3)
        axis.set_title(f"Resident memory above baseline ({mode})", fontsize=10)
        axis.set_xlabel("seconds since the pipeline was built")
        axis.set_ylabel("MB")
        axis.grid(alpha=0.3)
        if latest:
            axis.legend(fontsize=8)
    figure.tight_layout()
    return _png(figure)


def graph_sizes(table: pd.DataFrame) -> bytes:
    """Dataset graph bytes per strategy on a log scale, with the 2 GiB protobuf limit."""
    rows = (
        table.dropna(subset=["dataset_graph_bytes"]).sort_values("mode").drop_duplicates("strategy")
    )
    figure, axis = plt.subplots(figsize=(7.5, 0.45 * max(len(rows), 1) + 1.4))
    if rows.empty:
        axis.set_axis_off()
        axis.text(0.5, 0.5, "no run measured its dataset graph", ha="center", va="center")
        return _png(figure)
    values = rows["dataset_graph_bytes"].astype(float)
    colors = [FAILED_COLOR if over else OK_COLOR for over in rows["graph_over_limit"]]
    axis.barh(list(rows["strategy"]), values, color=colors)
    axis.set_xscale("log")
    axis.axvline(PROTOBUF_LIMIT_BYTES, color=FAILED_COLOR, linestyle="--", linewidth=1.2)
    axis.text(
        PROTOBUF_LIMIT_BYTES,
        -0.6,
        " 2 GiB protobuf limit",
        color=FAILED_COLOR,
        fontsize=8,
        ha="right",
        va="bottom",
    )
    for position, value in enumerate(values):
        axis.text(value, position, f" {format_bytes(value)}", va="center", fontsize=8)
    axis.set_xlim(
        left=max(1.0, values.min() / 3) if len(values) else 1.0, right=PROTOBUF_LIMIT_BYTES * 4
    )
    axis.invert_yaxis()
    axis.set_xlabel("serialized dataset graph, bytes (log scale)")
    axis.set_title("Dataset graph size", fontsize=10)
    figure.tight_layout()
    return _png(figure)
