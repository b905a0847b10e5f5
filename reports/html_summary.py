"""The report's sections about the summary table: a table per dataset, mode and options,
the processes of multi-process runs, how busy the training step was, the machine's
ceilings, and the figures drawn from the same summary."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pandas as pd

from loadbench.reports import figures
from loadbench.reports.load import frame
from loadbench.reports.metrics import BY_FIELD, SUMMARY_FIELDS
from loadbench.reports.records import Record, measured_on
from loadbench.reports.summary import GROUP, best, median_and_range
from loadbench.reports.units import format_bytes

SECTION = ["dataset", "split", "pairs", "image_size", "mode", "options"]
CEILING_WHAT = {
    "ceiling_decode": "the split's image files decoded in parallel by tf.data and batched, "
    "nothing else: the most a strategy that decodes PNG or JPEG as it reads can reach",
    "ceiling_copy": "pre-decoded uint8 batches copied from memory: the most a strategy "
    "that reads samples already decoded can reach",
}


def sections(table: pd.DataFrame, out: Path) -> list[dict]:
    """A table per dataset, mode and options; columns no row of it measured are left out."""
    marks = best(table)
    sections = []
    for keys, group in table.groupby(SECTION, sort=False, dropna=False):
        dataset, split, pairs, size, mode, options = keys
        fields = [f for f in SUMMARY_FIELDS if f == "samples_per_s" or group[f].notna().any()]
        rows = [
            _row(row, [_cell(row, f, marks.get((index, f), False), out) for f in fields])
            for index, row in group.iterrows()
        ]
        sections.append(
            {
                "options": options,
                "measured_on": f"{mode}: {measured_on(dataset, split, pairs, size)}",
                "columns": [BY_FIELD[f] for f in fields],
                "rows": rows,
            }
        )
    return sections


def _row(row: pd.Series, cells: list[dict]) -> dict:
    """A summary table row: its strategy, status, repeats and flags."""
    ceiling = row["role"] == "ceiling"
    reasons = row["unstable"] if isinstance(row["unstable"], list) else []
    differing = row["varies"] if isinstance(row["varies"], list) else []
    flags = {
        "failed": row["status"] != "ok",
        "unstable": bool(reasons),
        "varies": bool(differing) and not reasons,
        "ceiling": ceiling,
    }
    return {
        "strategy": row["strategy"],
        "status": row["status"],
        "error": row["error"] if isinstance(row["error"], str) else None,
        "runs": row["runs"],
        "ok_runs": row["ok_runs"],
        "ceiling": ceiling,
        "unstable": "; ".join(reasons),
        "varies": "; ".join(differing),
        "classes": " ".join(name for name, on in flags.items() if on),
        "cells": cells,
    }


def _cell(row: pd.Series, field: str, marked: bool, out: Path) -> dict:
    """The median of a figure, its range over the repeats, and what qualifies it."""
    cell = {**ranged(row, field), "note": "", "best": marked, "link": None}
    if field == "dataset_graph_bytes" and row["graph_over_limit"]:
        cell["note"] = "(over 2 GiB: estimated)"
    if field == "memray_peak_bytes":
        if isinstance(row["memray_flamegraph"], str):
            cell["link"] = _relative(row["memray_flamegraph"], out)
        if cell["text"] != "n/a" and (number(row["processes"]) or 0) > 1:
            cell["note"] = "(main process only)"
    return cell


def ranged(row: pd.Series | dict, field: str) -> dict:
    """{'text': '1,733 samples/s', 'spread': '(1,650-1,801, CV 4%)'}: a row's median and
    its range over the ok repeats, apart, for the template to set the range under it."""
    text, spread = median_and_range(row, field)
    return {"text": text, "spread": spread}


def number(value: float | int | None) -> float | None:
    """A number, or None for None and NaN (what pandas gives for a missing figure)."""
    return None if value is None or value != value else float(value)


def _key(values) -> tuple:
    """A summary row's identity (its GROUP values), NaN read as None."""
    return tuple(None if v != v else v for v in values)


def by_row(records: list[Record]) -> dict[tuple, list[Record]]:
    """Each summary row's records, in order, by the row's identity."""
    found: dict[tuple, list[Record]] = {}
    if not records:
        return found
    keys = frame(records)[GROUP].itertuples(index=False)
    for record, values in zip(records, keys, strict=True):
        found.setdefault(_key(values), []).append(record)
    return found


def _names(rows: pd.DataFrame) -> list[str]:
    """Strategy names, with the dataset and options where a strategy shows up twice in
    a mode."""
    twice = rows.duplicated(["strategy", "mode"], keep=False)
    return [
        f"{r.strategy} ({r.pairs} pairs {r.image_size}; {r.options})" if again else r.strategy
        for r, again in zip(rows.itertuples(), twice, strict=True)
    ]


def processes(table: pd.DataFrame, by_row: dict[tuple, list[Record]]) -> dict | None:
    """Measurements whose tree had several processes: the tree's peaks and, from the last
    ok repeat, each process's own (the main one aside)."""
    many = table[pd.to_numeric(table["processes"], errors="coerce") > 1]
    if many.empty:
        return None
    rows = []
    for name, (_, row) in zip(_names(many), many.iterrows(), strict=True):
        ok = [r for r in by_row.get(_key(row[GROUP]), []) if r.status == "ok"]
        members = [
            {
                "name": p.get("name") or "?",
                "pid": p.get("pid"),
                "pss": format_bytes(p.get("peak_pss_bytes")),
                "rss": format_bytes(p.get("peak_rss_bytes")),
            }
            for p in (ok[-1].memory.process_peaks if ok else [])
        ]
        rows.append(
            {
                "strategy": name,
                "mode": row["mode"],
                "processes": int(row["processes"]),
                "pss": ranged(row, "peak_pss_bytes"),
                "rss": ranged(row, "peak_rss_bytes"),
                "members": members,
            }
        )
    return {"rows": rows}


def ceilings(table: pd.DataFrame, by_row: dict[tuple, list[Record]]) -> dict | None:
    """This machine's ceilings and each iterating strategy's fraction of its own."""
    found = table[table["role"] == "ceiling"]
    if found.empty:
        return None
    ceilings = [
        {
            "name": row["strategy"],
            "dataset": _dataset(row),
            "rate": ranged(row, "samples_per_s"),
            "status": row["status"],
            "what": CEILING_WHAT.get(row["strategy"], ""),
        }
        for _, row in found.iterrows()
    ]
    measured = table[
        (table["mode"] == "iterate")
        & (table["role"] != "ceiling")
        & table["ceiling_fraction"].notna()
    ]
    rows = []
    for name, (_, row) in zip(_names(measured), measured.iterrows(), strict=True):
        applies = [r.ceiling for r in by_row.get(_key(row[GROUP]), []) if r.ceiling]
        rows.append(
            {
                "strategy": name,
                "dataset": _dataset(row),
                "rate": ranged(row, "samples_per_s"),
                "ceiling": applies[-1] if applies else "?",
                "fraction": ranged(row, "ceiling_fraction"),
            }
        )
    several = len({c["dataset"] for c in ceilings} | {r["dataset"] for r in rows}) > 1
    return {"ceilings": ceilings, "rows": rows, "several": several}


def _dataset(row: pd.Series) -> str:
    """'built-in synthetic train, 100 pairs 64x64': which split a row measured."""
    return measured_on(row["dataset"], row["split"], row["pairs"], row["image_size"])


def _relative(target: str, out: Path) -> str:
    try:
        return Path(os.path.relpath(Path(target).resolve(), out.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return Path(target).resolve().as_uri()


def figure_list(table: pd.DataFrame, records: list[Record]) -> list[dict]:
    # The ceilings have their own section: copying runs 20 to 50 times faster than any
    # strategy and would flatten every bar beside it.
    strategies = table[table["role"] != "ceiling"]
    strategies = strategies if len(strategies) else table
    drawn = [
        (
            "Throughput",
            figures.throughput(strategies),
            "Steady-state samples/s per strategy: the median of the ok repeats, the whiskers "
            "their smallest and largest.",
        ),
        ("Peak memory", figures.peak_memory(strategies), _memory_caption(strategies)),
        (
            "Memory over time",
            figures.timelines([r for r in records if not r.is_ceiling] or records),
            "Resident memory above baseline while the run went on, sampled every 50 ms: an "
            "in-memory cache or a decoded dataset shows as a climb during the first epoch.",
        ),
        (
            "Dataset graph size",
            figures.graph_sizes(table),
            "Serialized dataset graph per strategy, log scale; the dashed line is the 2 GiB "
            "protobuf limit past which TensorFlow cannot serialize it.",
        ),
    ]
    return [
        {"title": title, "png": base64.b64encode(png).decode("ascii"), "caption": caption}
        for title, png, caption in drawn
    ]


def _memory_caption(table: pd.DataFrame) -> str:
    """What the peak memory figure plots, naming the rows that only have RSS."""
    caption = (
        f"Peak {figures.memory_label(table)} of each run's process tree above its baseline: "
        "the median of the ok repeats, the whiskers their smallest and largest."
    )
    ok = table[table["memory_bytes"].notna()]
    rss = ok[ok["memory_figure"] == "RSS"]
    if len(rss) and len(rss) < len(ok):
        caption += (
            f" PSS could not be read for {', '.join(_names(rss))}: their bars are summed RSS, "
            "which counts shared pages once per process."
        )
    return caption
