"""The self-contained HTML report: summary tables, advice, embedded figures, environment,
and the comparison against a baseline when one is given."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from loadbench.loaders.files import atomic_write
from loadbench.reports import accelerator, data_service, html_summary, scaling, seed, tables, tune
from loadbench.reports import memory_model as model
from loadbench.reports.compare import Comparison
from loadbench.reports.fit import break_points
from loadbench.reports.load import to_csv
from loadbench.reports.metrics import BY_FIELD
from loadbench.reports.records import LIMIT_PATHS, PROTOBUF_LIMIT_BYTES, LimitRecord, Record
from loadbench.reports.summary import UNSTABLE_HINT, VARIES_HINT, advice, summary
from loadbench.reports.units import format_bytes
from loadbench.reports.verdict import verdict

NEAR = 100  # a break point within 100x the largest dataset measured is highlighted


def write_report(
    records: list[Record],
    out: Path,
    sources: list[str],
    comparison: Comparison | None = None,
    baseline_name: str | None = None,
    memory_budget_bytes: int | None = None,
    limits: list[LimitRecord] | None = None,
    ram_bytes: int | None = None,
    tuned: dict | None = None,
) -> Path:
    """Write ``out/index.html`` and ``out/results.csv``; return the HTML's path.

    ``limits`` are prove-limit records: their outcomes get a table of their own.
    ``ram_bytes`` is the RAM that memory is held against where records span several
    dataset sizes (default: the largest the records' machines had). ``tuned``: the
    ``recommendation.json`` of a ``loadbench tune`` whose trials are among the records.
    """
    out.mkdir(parents=True, exist_ok=True)
    table = summary(records) if records else None
    by_row = html_summary.by_row(records)
    context = {
        "runs": len(records),
        "verdict": _verdict(records),
        "sources": sources,
        "written_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "advice": advice(table, memory_budget_bytes) if records else [],
        "sections": html_summary.sections(table, out) if records else [],
        "unstable_hint": UNSTABLE_HINT,
        "varies_hint": VARIES_HINT,
        "processes": html_summary.processes(table, by_row) if records else None,
        "accelerators": accelerator.sections(table) if records else [],
        "normalization": accelerator.normalization(table) if records else None,
        "ceilings": html_summary.ceilings(table, by_row) if records else None,
        "figures": html_summary.figure_list(table, records) if records else [],
        "environment": _environment([*records, *(limits or [])]),
        "comparison": _comparison(comparison, baseline_name) if comparison else None,
        "limits": _limits(limits or []),
        "scaling": _scaling(records, ram_bytes) if records else None,
        "model": _model(records),
        "seed": seed.section(records),
        "tune": tune.section(records, tuned),
        "distribution": _distribution(records),
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["unbroken"] = _unbroken
    environment.filters["breakable"] = _breakable
    html = environment.get_template("report.html").render(**context)
    path = out / "index.html"
    atomic_write(path, html)
    if records:
        to_csv(records, out / "results.csv")
    return path


def _scaling(records: list[Record], ram_bytes: int | None) -> dict | None:
    """Memory and graph bytes against dataset size with their fits and break points."""
    records = scaling.swept(records)
    if not records:
        return None
    ram = ram_bytes or max((r.env.get("ram_bytes") or 0 for r in records), default=0)
    ram = ram or _this_machines_ram()
    breaks = break_points(records, ram)
    near = max(r.dataset["pairs"] * r.dataset["bytes_per_sample"] for r in records) * NEAR
    rows = [
        asdict(row) for row in tables.fit_rows(breaks, records[0].dataset["bytes_per_sample"], near)
    ]
    png = scaling.scaling(records, breaks, ram)
    mapped = sorted(
        {r.strategy for r in records if (r.memory.memory_profile or {}).get("mapped_split")}
    )
    return {
        "png": base64.b64encode(png).decode("ascii"),
        "rows": rows,
        "ram": format_bytes(ram),
        "mapped": ", ".join(mapped),
    }


def _verdict(records: list[Record]) -> dict | None:
    """The verdict's lines as the terminal prints them (``Verdict.lines``): the headline,
    then the rest, each with its kind: which pass, the pick, or what to avoid."""
    found = verdict(records)
    if found is None:
        return None
    headline, *rest = found.lines()
    said = [line.removeprefix("  ") for line in rest]
    kinds = {found.passing: "passing", found.pick: "pick"}
    return {
        "headline": headline,
        "lines": [
            {"text": line, "kind": "avoid" if line in found.avoid else kinds.get(line, "")}
            for line in said
        ],
    }


def _model(records: list[Record]) -> dict | None:
    """Predicted against measured peak for every measurement the memory model applies
    to; the options all its rows share are said once, above the table."""
    rows = tables.model_rows(records)
    if not rows:
        return None
    worst = max(rows, key=lambda row: abs(row.error_fraction))
    parts = [row.options.split() for row in rows]
    shared = [part for part in parts[0] if all(part in others for others in parts[1:])]
    return {
        "rows": [
            {**asdict(row), "own_options": " ".join(p for p in mine if p not in shared)}
            for row, mine in zip(rows, parts, strict=True)
        ],
        "options": " ".join(shared),
        "tolerance": f"{model.TOLERANCE:.0%}",
        "within": sum(row.within for row in rows),
        "count": len(rows),
        "worst": f"{worst.strategy} {worst.error}",
    }


def _distribution(records: list[Record]) -> dict | None:
    """Which strategies went through the tf.data service, and at what cost per worker count."""
    found = data_service.table(records)
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


def _limits(found: list[LimitRecord]) -> dict | None:
    """The prove-limit table: each strategy through each path, with what happened."""
    if not found:
        return None
    limit = found[0].limit_bytes
    rows = [asdict(row) for row in tables.limit_rows(found)]
    data = found[0].dataset
    size = "x".join(str(v) for v in reversed(data.get("image_size") or []))
    return {
        "rows": rows,
        "paths": [(name, LIMIT_PATHS[name]) for name in dict.fromkeys(r.path for r in found)],
        "dataset": f"{data.get('pairs')} pairs {size}, "
        f"{format_bytes((data.get('pairs') or 0) * (data.get('bytes_per_sample') or 0))} as uint8",
        "limit": "2 GiB" if limit == PROTOBUF_LIMIT_BYTES else format_bytes(limit),
        "artificial": limit != PROTOBUF_LIMIT_BYTES,
    }


def _environment(records: Sequence[Record | LimitRecord]) -> list[tuple[str, str]]:
    def distinct(values: Iterable[object]) -> str:
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
    rows = [asdict(row) for row in tables.compare_rows(comparison, regressions_first=True)]
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


def _unbroken(text: str) -> str:
    """Text whose number and unit (and 'CV' and its figure) are joined by non-breaking
    spaces: a range or a list of terms wraps between its parts ('(913.7 MB-' / '1.1
    GB)'), never between '913.7' and 'MB'."""
    return re.sub(r"(?<=\d) (?=[^\d\s(])|(?<=\bCV) ", "\u00a0", text)


def _breakable(name: str) -> Markup:
    """A strategy's name that may wrap after a '.' or ':' of a user's MODULE:FUNCTION."""
    return Markup(re.sub(r"([.:])", r"\1<wbr>", str(escape(name))))


def _this_machines_ram() -> int:
    """This machine's RAM, for records that do not say theirs (POSIX sysconf)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
