"""The self-contained HTML report: summary tables, advice, embedded figures, environment,
and the comparison against a baseline when one is given."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pandas as pd
import psutil

from benchmarks.harness.limits import PATHS, LimitRecord
from benchmarks.harness.probes import PROTOBUF_LIMIT_BYTES
from benchmarks.harness.records import Record
from loaders.registry import CEILINGS
from reports import data_service as distribution, figures, scaling
from reports import memory_model as model
from reports.compare import Comparison
from reports.fit import break_points
from reports.load import frame, options_label, to_csv
from reports.metrics import BY_FIELD, SUMMARY_FIELDS
from reports.summary import GROUP, UNSTABLE_HINT, advice, best, summary, with_spread
from reports.units import format_bytes, format_share

SECTION = ["dataset", "split", "pairs", "image_size", "mode", "options"]
NEAR = 100  # a break point within 100x the largest dataset measured is highlighted
CEILING_WHAT = {
    "ceiling_decode": "the split's image files decoded in parallel by tf.data and batched, "
    "nothing else: the most a strategy that decodes PNG or JPEG as it reads can reach",
    "ceiling_copy": "pre-decoded uint8 batches copied from memory: the most a strategy "
    "that reads samples already decoded can reach",
}


def write_report(
    records: list[Record],
    out: Path,
    sources: list[str],
    comparison: Comparison | None = None,
    baseline_name: str | None = None,
    memory_budget_bytes: int | None = None,
    limits: list[LimitRecord] | None = None,
    ram_bytes: int | None = None,
) -> Path:
    """Write ``out/index.html`` and ``out/results.csv``; return the HTML's path.

    ``limits`` are prove-limit records: their outcomes get a table of their own.
    ``ram_bytes`` is the RAM that memory is held against where records span several
    dataset sizes (default: the largest the records' machines had).
    """
    out.mkdir(parents=True, exist_ok=True)
    table = summary(records) if records else None
    by_row = _by_row(records)
    context = {
        "runs": len(records),
        "sources": sources,
        "written_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "advice": advice(table, memory_budget_bytes) if records else [],
        "sections": _sections(table, out) if records else [],
        "unstable_hint": UNSTABLE_HINT,
        "processes": _processes(table, by_row) if records else None,
        "busy": _busy(table) if records else None,
        "ceilings": _ceilings(table, by_row) if records else None,
        "figures": _figures(table, records) if records else [],
        "environment": _environment([*records, *(limits or [])]),
        "comparison": _comparison(comparison, baseline_name) if comparison else None,
        "limits": _limits(limits or []),
        "scaling": _scaling(records, ram_bytes) if records else None,
        "model": _model(records),
        "seed": _seed(records),
        "distribution": _distribution(records),
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    html = environment.get_template("report.html").render(**context)
    path = out / "index.html"
    temporary = out / ".index.html.tmp"
    temporary.write_text(html, encoding="utf-8")
    os.replace(temporary, path)
    if records:
        to_csv(records, out / "results.csv")
    return path


def _scaling(records: list[Record], ram_bytes: int | None) -> dict | None:
    """Memory and graph bytes against dataset size with their fits and break points."""
    records = scaling.swept(records)
    if not records:
        return None
    ram = ram_bytes or max((r.env.get("ram_bytes") or 0 for r in records), default=0)
    ram = ram or psutil.virtual_memory().total
    breaks = break_points(records, ram)
    near = max(r.dataset["pairs"] * r.dataset["bytes_per_sample"] for r in records) * NEAR
    rows = [
        {
            "mode": row.mode,
            "strategy": row.strategy,
            "metric": BY_FIELD[row.metric].label,
            "slope": f"{row.fit.slope:.3f}",
            "intercept": format_bytes(row.fit.intercept),
            "r2": "n/a" if row.fit.r2 is None else f"{row.fit.r2:.3f}",
            "points": row.fit.points,
            "where": row.where,
            "breaks": row.at is not None and row.at <= near,
        }
        for row in breaks.itertuples()
    ]
    png = scaling.scaling(records, breaks, ram)
    mapped = sorted({r.strategy for r in records if (r.memory_profile or {}).get("mapped_split")})
    return {
        "png": base64.b64encode(png).decode("ascii"),
        "rows": rows,
        "ram": format_bytes(ram),
        "mapped": ", ".join(mapped),
    }


def _model(records: list[Record]) -> dict | None:
    """Predicted against measured peak for every run the memory model applies to."""
    rows = model.table(records)
    if rows.empty:
        return None
    out = []
    for row in rows.itertuples():
        out.append(
            {
                "strategy": row.strategy,
                "dataset": f"{row.pairs:,} pairs {row.image_size}",
                "options": options_label(
                    {k: v for k, v in row.options.items() if k not in ("steps", "warmup_steps")}
                ),
                "measured": format_bytes(row.measured),
                "predicted": format_bytes(row.predicted),
                "error": f"{row.error:+.0%}",
                "within": row.within,
                "terms": model.largest_terms(row.terms),
                "why": row.why,
            }
        )
    worst = rows.loc[rows["error"].abs().idxmax()]
    return {
        "rows": out,
        "tolerance": f"{model.TOLERANCE:.0%}",
        "within": int(rows["within"].sum()),
        "count": len(rows),
        "worst": f"{worst['strategy']} {worst['error']:+.0%}",
    }


def _distribution(records: list[Record]) -> dict | None:
    """Which strategies went through the tf.data service, and at what cost per worker count."""
    found = distribution.table(records)
    if found.empty:
        return None
    counts = sorted(
        {c.rsplit("_", 1)[1] for c in found.columns if c.startswith("samples_per_s_")},
        key=lambda c: (c == "remote", c),
    )
    rows = []
    for row in found.to_dict("records"):
        cells = []
        for count in counts:
            rate = row.get(f"samples_per_s_{count}")
            client = row.get(f"client_peak_{count}")
            workers = row.get(f"workers_peak_{count}")
            cells.append(
                {
                    "rate": BY_FIELD["samples_per_s"].format(rate) if rate == rate else "-",
                    "client": format_bytes(client) if client == client and client else "-",
                    "workers": format_bytes(workers) if workers == workers and workers else "-",
                }
            )
        rows.append({**row, "cells": cells})
    names = {"0": "local", "remote": "your dispatcher"}
    return {"rows": rows, "counts": [names.get(c, f"{c} worker(s)") for c in counts]}


def _seed(records: list[Record]) -> dict | None:
    """The seed preset's runs: memory over time per cache mode, and their figures."""
    seed = [r for r in records if r.options.get("preset") == "seed"]
    if not seed:
        return None
    held = {id(r): scaling.held_after_first_epoch(r) for r in seed if r.status == "ok"}
    none = [held[id(r)] for r in seed if r.options.get("cache") == "none" and held.get(id(r))]
    rows = []
    for r in seed:
        kept = held.get(id(r))
        rows.append(
            {
                "cache": r.options.get("cache"),
                "status": r.status,
                "samples_per_s": BY_FIELD["samples_per_s"].format(r.samples_per_s),
                "peak": BY_FIELD["peak_rss_bytes"].format(r.peak_rss_bytes),
                "held": "-" if kept is None else format_bytes(kept),
                "over_none": format_bytes(kept - none[-1]) if none and kept is not None else "-",
            }
        )
    first = seed[0]
    png = scaling.seed_timelines(seed)
    return {
        "png": base64.b64encode(png).decode("ascii"),
        "rows": rows,
        "dataset": f"{first.dataset.get('pairs'):,} pairs, "
        f"{format_bytes(first.dataset['pairs'] * first.dataset['bytes_per_sample'])} as uint8",
        "batch": first.options.get("batch_size"),
        "float_batch": format_bytes(
            4 * first.options.get("batch_size", 0) * first.dataset["bytes_per_sample"]
        ),
        "shuffle": first.options.get("shuffle_buffer"),
        "steps": first.options.get("steps"),
    }


def _limits(found: list[LimitRecord]) -> dict | None:
    """The prove-limit table: each strategy through each path, with what happened."""
    if not found:
        return None
    limit = found[0].limit_bytes
    rows = [
        {
            "strategy": r.strategy,
            "path": r.path,
            "status": r.status,
            "graph": "-" if r.graph_bytes is None else format_bytes(r.graph_bytes),
            "peak": "-" if r.peak_rss_bytes is None else format_bytes(r.peak_rss_bytes),
            "outcome": r.outcome,
            "failed": r.status not in ("passed",),
        }
        for r in found
    ]
    data = found[0].dataset
    size = "x".join(str(v) for v in reversed(data.get("image_size") or []))
    return {
        "rows": rows,
        "paths": [(name, PATHS[name]) for name in dict.fromkeys(r.path for r in found)],
        "dataset": f"{data.get('pairs')} pairs {size}, "
        f"{format_bytes((data.get('pairs') or 0) * (data.get('bytes_per_sample') or 0))} as uint8",
        "limit": "2 GiB" if limit == PROTOBUF_LIMIT_BYTES else format_bytes(limit),
        "artificial": limit != PROTOBUF_LIMIT_BYTES,
    }


def _sections(table: pd.DataFrame, out: Path) -> list[dict]:
    """A table per dataset, mode and options; columns no row of it measured are left out."""
    marks = best(table)
    sections = []
    for keys, group in table.groupby(SECTION, sort=False, dropna=False):
        dataset, split, pairs, size, mode, options = keys
        where = "built-in synthetic" if dataset == "synthetic" else dataset
        fields = [f for f in SUMMARY_FIELDS if f == "samples_per_s" or group[f].notna().any()]
        rows = [
            _row(row, [_cell(row, f, marks.get((index, f), False), out) for f in fields])
            for index, row in group.iterrows()
        ]
        title = f"{mode}: {where} {split}, {pairs} pairs {size}; {options}"
        sections.append({"title": title, "columns": [BY_FIELD[f] for f in fields], "rows": rows})
    return sections


def _row(row: pd.Series, cells: list[dict]) -> dict:
    """A summary table row: its strategy, status, repeats and flags."""
    ceiling = row["strategy"] in CEILINGS
    reasons = row["unstable"] if isinstance(row["unstable"], list) else []
    flags = {"failed": row["status"] != "ok", "unstable": bool(reasons), "ceiling": ceiling}
    return {
        "strategy": row["strategy"],
        "status": row["status"],
        "error": row["error"] if isinstance(row["error"], str) else None,
        "runs": row["runs"],
        "ok_runs": row["ok_runs"],
        "ceiling": ceiling,
        "unstable": "; ".join(reasons),
        "classes": " ".join(name for name, on in flags.items() if on),
        "cells": cells,
    }


def _cell(row: pd.Series, field: str, marked: bool, out: Path) -> dict:
    """The median of a figure, its range over the repeats, and what qualifies it."""
    text, spread = _texts(row, field)
    cell = {"text": text, "spread": spread, "note": "", "best": marked, "link": None}
    if field == "dataset_graph_bytes" and row["graph_over_limit"]:
        cell["note"] = "(over 2 GiB: estimated)"
    if field == "memray_peak_bytes":
        if isinstance(row["memray_flamegraph"], str):
            cell["link"] = _relative(row["memray_flamegraph"], out)
        if text != "n/a" and (_number(row["processes"]) or 0) > 1:
            cell["note"] = "(main process only)"
    return cell


def _texts(row: pd.Series, field: str) -> tuple[str, str]:
    """('1,733 samples/s', '(1,650-1,801, CV 4%)'): a row's median and its range over
    the ok repeats ('' with fewer than two, '(all 3 equal)' where they agree)."""
    text = with_spread(row, field, ranged=False)
    found = (row.get("spreads") or {}).get(field)
    if found is not None and found.count > 1 and found.low == found.high:
        return text, f"(all {found.count} equal)"
    return text, with_spread(row, field).removeprefix(text).strip()


def _ranged(row: pd.Series, field: str) -> str:
    """'1,733 samples/s (1,650-1,801, CV 4%)': a row's median with its range, in one line."""
    return " ".join(t for t in _texts(row, field) if t)


def _number(value: object) -> float | None:
    """A number, or None for None and NaN (what pandas gives for a missing figure)."""
    return None if value is None or value != value else float(value)


def _key(values) -> tuple:
    """A summary row's identity (its GROUP values), NaN read as None."""
    return tuple(None if v != v else v for v in values)


def _by_row(records: list[Record]) -> dict[tuple, list[Record]]:
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


def _processes(table: pd.DataFrame, by_row: dict[tuple, list[Record]]) -> dict | None:
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
            for p in (ok[-1].process_peaks if ok else [])
        ]
        rows.append(
            {
                "strategy": name,
                "mode": row["mode"],
                "processes": int(row["processes"]),
                "pss": _ranged(row, "peak_pss_bytes"),
                "rss": _ranged(row, "peak_rss_bytes"),
                "members": members,
            }
        )
    return {"rows": rows}


def _busy(table: pd.DataFrame) -> dict | None:
    """Training runs: how much of the loop the step computed rather than waited."""
    rows = table[(table["mode"] == "train") & table["input_bound_share"].notna()]
    if rows.empty:
        return None
    names = _names(rows)
    out = []
    for name, (_, row) in zip(names, rows.iterrows(), strict=True):
        waits = float(row["input_bound_share"])
        kept = 1 - waits >= figures.BUSY
        out.append(
            {
                "strategy": name,
                "rate": _ranged(row, "samples_per_s"),
                "alone": _ranged(row, "compute_only_samples_per_s"),
                "waits": _ranged(row, "input_bound_share"),
                "busy": format_share(1 - waits),
                "kept": kept,
                "verdict": "keeps the step busy"
                if kept
                else f"input-bound: the step waits {format_share(waits)} of the time",
            }
        )
    png = figures.busy_share(rows, names)
    return {"png": base64.b64encode(png).decode("ascii"), "rows": out}


def _ceilings(table: pd.DataFrame, by_row: dict[tuple, list[Record]]) -> dict | None:
    """This machine's ceilings and each iterating strategy's fraction of its own."""
    found = table[table["strategy"].isin(CEILINGS)]
    if found.empty:
        return None
    ceilings = [
        {
            "name": row["strategy"],
            "dataset": _dataset(row),
            "rate": _ranged(row, "samples_per_s"),
            "status": row["status"],
            "what": CEILING_WHAT.get(row["strategy"], ""),
        }
        for _, row in found.iterrows()
    ]
    measured = table[
        (table["mode"] == "iterate")
        & ~table["strategy"].isin(CEILINGS)
        & table["ceiling_fraction"].notna()
    ]
    rows = []
    for name, (_, row) in zip(_names(measured), measured.iterrows(), strict=True):
        applies = [r.ceiling for r in by_row.get(_key(row[GROUP]), []) if r.ceiling]
        rows.append(
            {
                "strategy": name,
                "dataset": _dataset(row),
                "rate": _ranged(row, "samples_per_s"),
                "ceiling": applies[-1] if applies else "?",
                "fraction": _ranged(row, "ceiling_fraction"),
            }
        )
    several = len({c["dataset"] for c in ceilings} | {r["dataset"] for r in rows}) > 1
    return {"ceilings": ceilings, "rows": rows, "several": several}


def _dataset(row: pd.Series) -> str:
    """'built-in synthetic train, 100 pairs 64x64': which split a row measured."""
    where = "built-in synthetic" if row["dataset"] == "synthetic" else row["dataset"]
    return f"{where} {row['split']}, {row['pairs']} pairs {row['image_size']}"


def _relative(target: str, out: Path) -> str:
    try:
        return Path(os.path.relpath(Path(target).resolve(), out.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return Path(target).resolve().as_uri()


def _figures(table: pd.DataFrame, records: list[Record]) -> list[dict]:
    # The ceilings have their own section: copying runs 20 to 50 times faster than any
    # strategy and would flatten every bar beside it.
    strategies = table[~table["strategy"].isin(CEILINGS)]
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
            figures.timelines([r for r in records if r.strategy not in CEILINGS] or records),
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


def _environment(records: list[Record]) -> list[tuple[str, str]]:
    def distinct(values) -> str:
        found = list(dict.fromkeys(str(v) for v in values if v not in (None, "")))
        return ", ".join(found) if found else "unknown"

    envs = [r.env for r in records]
    started = sorted(r.started_at for r in records if r.started_at)
    cpus = distinct(f"{e.get('cpu_model')} ({e.get('cpu_count')} CPUs)" for e in envs)
    gpus = [e.get("gpu") for e in envs]
    return [
        ("TensorFlow", distinct(e.get("tensorflow") for e in envs)),
        ("loadbench", distinct(e.get("loadbench") for e in envs)),
        ("Python", distinct(e.get("python") for e in envs)),
        ("CPU", cpus),
        ("GPU", distinct(gpus) if any(gpus) else "none"),
        ("host", distinct(e.get("hostname") for e in envs)),
        ("commit", distinct(e.get("commit") for e in envs)),
        ("runs started", f"{started[0]} to {started[-1]}" if started else "unknown"),
        ("command", distinct(r.command for r in records)),
    ]


def _comparison(comparison: Comparison, baseline_name: str | None) -> dict:
    rows = []
    for row in sorted(comparison.rows, key=lambda r: not r.failed):  # regressions first
        metric = row.unit_metric
        rows.append(
            {
                "run": row.run,
                "metric": row.metric,
                "baseline": metric.format(row.baseline) if metric else "",
                "current": metric.format(row.current) if metric else "",
                "change": f"{row.change:+.1%}" if row.change is not None else "",
                "verdict": row.verdict,
                "failed": row.failed,
                "improved": row.improved,
            }
        )
    failed = comparison.failed
    headline = (
        f"{len(comparison.failures)} regression(s): compare exits 1"
        if failed
        else "no regression: compare exits 0"
    )
    note = (
        f"Throughput of {comparison.skipped_throughput} run(s) not judged: baseline and "
        "current come from different machines."
        if comparison.skipped_throughput
        else ""
    )
    return {
        "rows": rows,
        "failed": failed,
        "headline": headline,
        "baseline": baseline_name or "",
        "throughput_note": note,
    }
