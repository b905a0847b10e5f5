"""The report's figures, drawn with matplotlib and returned as PNG bytes to embed."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.pyplot as plt
import pandas as pd

from benchmarks.probes import PROTOBUF_LIMIT_BYTES
from benchmarks.records import Record
from reports.units import format_bytes

MB = 1e6  # decimal, as every table of loadbench prints
FAILED_COLOR = "#c0392b"
OK_COLOR = "#2e86c1"


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _modes(table: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(table["mode"]))


def _bars(table: pd.DataFrame, field: str, scale: float, xlabel: str, title: str) -> bytes:
    modes = _modes(table)
    height = 0.45 * max(len(table[table["mode"] == m]) for m in modes) + 1.2
    figure, axes = plt.subplots(1, len(modes), figsize=(5.2 * len(modes), height), squeeze=False)
    for axis, mode in zip(axes[0], modes, strict=True):
        rows = table[table["mode"] == mode]
        values = pd.to_numeric(rows[field], errors="coerce").fillna(0) / scale
        colors = [OK_COLOR if s == "ok" else FAILED_COLOR for s in rows["status"]]
        axis.barh(range(len(rows)), values, color=colors)
        axis.set_yticks(range(len(rows)), _labels(rows, table))
        for position, (value, status) in enumerate(zip(values, rows["status"], strict=True)):
            text = f" {value:,.0f}" if status == "ok" else f" {status}"
            axis.text(value, position, text, va="center", fontsize=8)
        axis.invert_yaxis()
        axis.set_title(f"{title} ({mode})", fontsize=10)
        axis.set_xlabel(xlabel)
        axis.margins(x=0.2)
    figure.tight_layout()
    return _png(figure)


def _labels(rows: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """Strategy names, with the pair count when the table holds several dataset sizes."""
    if table["pairs"].nunique() > 1:
        return [f"{s} ({p:,} pairs)" for s, p in zip(rows["strategy"], rows["pairs"], strict=True)]
    return list(rows["strategy"])


def throughput(table: pd.DataFrame) -> bytes:
    return _bars(table, "samples_per_s", 1, "samples/s (higher is better)", "Throughput")


def peak_memory(table: pd.DataFrame) -> bytes:
    return _bars(table, "peak_rss_bytes", MB, "MB above baseline (lower is better)", "Peak RSS")


def timelines(records: list[Record]) -> bytes:
    """Resident memory over time, one line per strategy (its last ok run), per mode."""
    modes = list(dict.fromkeys(r.mode for r in records))
    figure, axes = plt.subplots(1, len(modes), figsize=(5.8 * len(modes), 3.6), squeeze=False)
    for axis, mode in zip(axes[0], modes, strict=True):
        latest: dict[str, Record] = {}
        for record in records:
            if record.mode == mode and record.status == "ok" and record.rss_timeline:
                latest[record.strategy] = record
        for strategy, record in latest.items():
            seconds = [point[0] for point in record.rss_timeline]
            used = [point[1] / MB for point in record.rss_timeline]
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
