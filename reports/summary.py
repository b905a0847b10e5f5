"""Pure functions of records: the summary table, the best value of each column, and the
"which strategy when" advice. No rendering here; tests call these with made-up records."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from benchmarks.probes import PROTOBUF_LIMIT_BYTES
from benchmarks.records import Record
from reports.load import frame
from reports.metrics import BY_FIELD, SUMMARY_FIELDS
from reports.units import format_bytes

CLOSE = 0.05  # throughputs this close are a tie on a shared machine
GROUP = ["dataset", "split", "pairs", "image_size", "mode", "options", "strategy"]


def summary(records: list[Record]) -> pd.DataFrame:
    """One row per strategy, mode, dataset and options: the median of its ok runs (all of
    its runs when none is ok), with ``runs`` and ``ok_runs`` counts and the last error."""
    df = frame(records)
    rows = []
    for keys, group in df.groupby(GROUP, sort=False, dropna=False):
        ok = group[group["status"] == "ok"]
        used = ok if len(ok) else group
        failed = group[group["status"] != "ok"]
        row = dict(zip(GROUP, keys, strict=True))
        row.update(
            status="ok" if len(ok) else group["status"].iloc[-1],
            error=None if len(ok) else failed["error"].iloc[-1],
            runs=len(group),
            ok_runs=len(ok),
            graph_over_limit=bool(used["graph_over_limit"].fillna(False).any()),
            memray_flamegraph=next(
                (p for p in reversed(group["memray_flamegraph"].tolist()) if isinstance(p, str)),
                None,
            ),
            dataset_bytes=int(group["dataset_bytes"].iloc[0]),
        )
        for field in SUMMARY_FIELDS:
            values = pd.to_numeric(used[field], errors="coerce").dropna()
            row[field] = float(values.median()) if len(ok) and len(values) else None
        rows.append(row)
    return pd.DataFrame(rows)


def best(table: pd.DataFrame) -> dict[tuple[int, str], bool]:
    """(row index, field) -> True for the best ok value of a column within its mode,
    dataset and options; ties are all marked."""
    marks: dict[tuple[int, str], bool] = {}
    comparable = ["dataset", "split", "pairs", "image_size", "mode", "options"]
    for _, group in table[table["status"] == "ok"].groupby(comparable, sort=False, dropna=False):
        for field in SUMMARY_FIELDS:
            values = pd.to_numeric(group[field], errors="coerce").dropna()
            if len(values) < 2 or values.nunique() == 1:
                continue  # nothing to choose between
            target = values.max() if BY_FIELD[field].better == "higher" else values.min()
            for index in values[values == target].index:
                marks[(index, field)] = True
    return marks


@dataclass(frozen=True)
class Advice:
    """One "which strategy when" line: a question and its answer, from the numbers."""

    question: str
    answer: str


def advice(table: pd.DataFrame, memory_budget_bytes: int | None = None) -> list[Advice]:
    """Lowest memory, fastest, fastest within a memory budget, and which graphs cannot be
    serialized, per mode. The default budget is twice the leanest strategy's peak."""
    out: list[Advice] = []
    for mode, group in table.groupby("mode", sort=False):
        ok = group[group["status"] == "ok"]
        where = f"({mode})"
        if ok.empty:
            out.append(Advice(f"Any strategy {where}?", "no run ended ok"))
            continue
        memory = ok.dropna(subset=["peak_rss_bytes"])
        speed = ok.dropna(subset=["samples_per_s"])
        if len(memory):
            lean = memory.loc[memory["peak_rss_bytes"].idxmin()]
            out.append(
                Advice(
                    f"Lowest memory {where}",
                    f"{lean['strategy']}: {format_bytes(lean['peak_rss_bytes'])} peak RSS",
                )
            )
        if len(speed):
            fast = speed.loc[speed["samples_per_s"].idxmax()]
            rate = BY_FIELD["samples_per_s"].format(fast["samples_per_s"])
            answer = (
                f"{fast['strategy']}: {rate} at {format_bytes(fast['peak_rss_bytes'])} peak RSS"
            )
            close = speed[
                (speed["samples_per_s"] >= (1 - CLOSE) * fast["samples_per_s"])
                & (speed.index != fast.name)
            ]
            if len(close):
                answer += f" ({', '.join(close['strategy'])} within {CLOSE:.0%} of it)"
            out.append(Advice(f"Fastest {where}", answer))
        if len(memory) and len(speed):
            budget = memory_budget_bytes or 2 * int(memory["peak_rss_bytes"].min())
            label = "your budget" if memory_budget_bytes else "twice the lowest peak"
            within = speed[speed["peak_rss_bytes"] <= budget]
            question = f"Fastest within {format_bytes(budget)} ({label}) {where}"
            if within.empty:
                out.append(Advice(question, "none"))
            else:
                pick = within.loc[within["samples_per_s"].idxmax()]
                rate = BY_FIELD["samples_per_s"].format(pick["samples_per_s"])
                answer = f"{pick['strategy']}: {rate} at {format_bytes(pick['peak_rss_bytes'])}"
                out.append(Advice(question, answer))
    out.append(_serialization(table))
    return out


def _serialization(table: pd.DataFrame) -> Advice:
    question = "Which cannot serialize their dataset graph (2 GiB protobuf limit)?"
    over = sorted(set(table.loc[table["graph_over_limit"], "strategy"]))
    if over:
        return Advice(question, ", ".join(over))
    sized = table.dropna(subset=["dataset_graph_bytes"])
    if sized.empty:
        return Advice(question, "unknown: no run measured its graph")
    largest = sized.loc[sized["dataset_graph_bytes"].idxmax()]
    share = largest["dataset_graph_bytes"] / PROTOBUF_LIMIT_BYTES
    return Advice(
        question,
        f"none; the largest is {largest['strategy']} at "
        f"{format_bytes(largest['dataset_graph_bytes'])} ({share:.0%} of the limit, which it "
        f"would reach at about {format_bytes(largest['dataset_bytes'] / share)} of data)"
        if share > 0.01
        else f"none; the largest is {largest['strategy']} at "
        f"{format_bytes(largest['dataset_graph_bytes'])}",
    )
