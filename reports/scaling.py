"""Figures of growth: memory and graph bytes against dataset size with the limits they
run into (a sweep). PNG bytes to embed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loadbench.reports.figures import FAILED_COLOR, _png, plt
from loadbench.reports.load import frame
from loadbench.reports.records import PROTOBUF_LIMIT_BYTES, Record
from loadbench.reports.units import format_bytes

PANELS = (
    ("peak_rss_bytes", "peak RSS above baseline, bytes", "RAM", "Peak RSS"),
    ("dataset_graph_bytes", "serialized dataset graph, bytes", "2 GiB protobuf limit", "Graph"),
)
REACH = 200  # draw a fitted line out to its break point if that is within this many x data


def swept(records: list[Record]) -> list[Record]:
    """The records of the sweep among ``records``: the image size and options under which
    the most dataset sizes were measured ok (at least two), else none."""
    df = frame(records)
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return []
    sizes = ok.groupby(["image_size", "options"], dropna=False)["dataset_bytes"].nunique()
    if sizes.max() < 2:
        return []
    image_size, options = sizes.idxmax()
    keep = (df["image_size"] == image_size) & (df["options"] == options)
    return [record for record, wanted in zip(records, keep, strict=True) if wanted]


def scaling(records: list[Record], breaks: pd.DataFrame, ram_bytes: int) -> bytes:
    """Log-log memory and graph bytes against dataset bytes per strategy (iterate mode
    first), measured points and fitted lines, with the RAM and 2 GiB lines and each
    predicted break point marked."""
    df = frame(records)
    df = df[(df["status"] == "ok") & (df["dataset_bytes"] > 0)]
    mode = "iterate" if (df["mode"] == "iterate").any() else df["mode"].iloc[0]
    df = df[df["mode"] == mode]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    largest = df["dataset_bytes"].max()
    for axis, (metric, label, limit_name, title) in zip(axes, PANELS, strict=True):
        limit = ram_bytes if metric == "peak_rss_bytes" else PROTOBUF_LIMIT_BYTES
        right = largest * 3
        marked = 0  # break points labelled so far: each label one line lower
        for index, (strategy, group) in enumerate(df.groupby("strategy", sort=False)):
            color = colors[index % len(colors)]
            points = group.groupby("dataset_bytes")[metric].median().dropna()
            points = points[points > 0]
            axis.plot(points.index, points.values, "o", color=color, label=strategy)
            found = breaks[
                (breaks["strategy"] == strategy)
                & (breaks["mode"] == mode)
                & (breaks["metric"] == metric)
            ]
            if found.empty:
                continue
            row = found.iloc[0]
            end = largest * 1.5
            if row["at"] and row["at"] <= largest * REACH:
                end = max(end, row["at"] * 1.3)
                axis.plot([row["at"]], [limit], "X", color=color, markersize=11)
                axis.annotate(
                    f"{strategy}: {format_bytes(row['at'])}",
                    (row["at"], limit),
                    textcoords="offset points",
                    xytext=(-6, -16 - 11 * marked),
                    ha="right",
                    fontsize=8,
                    color=color,
                )
                marked += 1
            right = max(right, end)
            xs = np.geomspace(points.index.min() / 2, end, 60)
            ys = row["fit"].slope * xs + row["fit"].intercept
            keep = ys > 0
            axis.plot(xs[keep], ys[keep], "-", color=color, linewidth=1, alpha=0.7)
        axis.axhline(limit, color=FAILED_COLOR, linestyle="--", linewidth=1.2)
        axis.text(
            df["dataset_bytes"].min() / 2,
            limit,
            f" {limit_name} ({format_bytes(limit)})",
            color=FAILED_COLOR,
            fontsize=8,
            va="bottom",
        )
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlim(df["dataset_bytes"].min() / 2.5, right)
        axis.set_xlabel("dataset, bytes as uint8 (log scale)")
        axis.set_ylabel(f"{label} (log scale)")
        axis.set_title(f"{title} against dataset size ({mode})", fontsize=10)
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return _png(figure)


def epoch_ends(record: Record) -> list[float]:
    """Seconds (since the pipeline was built) at which each whole epoch's last batch came."""
    per_epoch = -(-record.dataset["pairs"] // record.options["batch_size"])
    ends = record.throughput.batch_ends_s
    return [ends[i] for i in range(per_epoch - 1, len(ends), per_epoch)]


def held_after_first_epoch(record: Record) -> int | None:
    """Median memory above baseline after the first epoch: what the pipeline keeps."""
    ends = epoch_ends(record)
    if not ends:
        return None
    later = [value for seconds, value in record.memory.rss_timeline if seconds > ends[0]]
    return int(np.median(later)) if later else None
