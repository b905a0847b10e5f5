"""Result files into records and a pandas DataFrame: loadbench JSON Lines, and
pytest-benchmark JSON whose benchmarks carry a loadbench record in ``extra_info``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd

from loadbench.loaders.errors import RecordError
from loadbench.loaders.options import AUTOTUNE
from loadbench.reports.ceilings import fractions
from loadbench.reports.jsonl import read, record_from
from loadbench.reports.record_json import say_unknown
from loadbench.reports.records import FIELD_SECTION, SECTIONS, Record
from loadbench.reports.stats import late_rise


def load(paths: Iterable[Path]) -> list[Record]:
    """Every record of every file, in order; a file that holds none is an error."""
    found: list[Record] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise RecordError(f"{path}: no such results file")
        whole = _whole_json(path)
        if isinstance(whole, dict) and "benchmarks" in whole:
            records = _pytest_benchmark(path, whole)
        else:
            records = read(path)
        if not records:
            raise RecordError(f"{path}: holds no loadbench records")
        found.extend(records)
    return found


def read_results(*paths: str | Path) -> list[Record]:
    """The records in loadbench results files (JSON Lines) or pytest-benchmark JSON files,
    in order: ``loadbench.read_results("loadbench-results/results.jsonl")``."""
    return load(Path(path) for path in paths)


def _whole_json(path: Path) -> object | None:
    """The file parsed as one JSON document, or None (JSON Lines of several records)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    except UnicodeDecodeError as exc:
        raise RecordError(f"{path}: not a text file ({exc})") from exc


def _pytest_benchmark(path: Path, data: dict) -> list[Record]:
    benchmarks = data.get("benchmarks")
    if not isinstance(benchmarks, list):
        raise RecordError(f"{path}: 'benchmarks' is not a list; is this pytest-benchmark JSON?")
    out: list[Record] = []
    unknown: set[str] = set()
    for index, bench in enumerate(benchmarks):
        info = bench.get("extra_info") if isinstance(bench, dict) else None
        if not isinstance(info, dict) or "strategy" not in info or "schema" not in info:
            continue  # a benchmark of the suite's own (the sampler's cost), not a run
        where = f"{path}: benchmark {index} ({bench.get('name')})"
        info = dict(info)
        info.pop("spread", None)  # the figures' spread: the report recomputes it
        earlier = info.pop("repeat_records", None) or []
        out.extend(record_from(record, where, unknown) for record in [*earlier, info])
    say_unknown(unknown, str(path))
    return out


def options_label(options: dict[str, Any]) -> str:
    """A short text for a run's options, for table rows and matching: AUTOTUNE reads
    'auto', a width left to the machine 'default'."""
    parts = []
    for key, value in sorted(options.items()):
        if key in {"seed", "deterministic", "drop_remainder"}:
            continue
        shown = "auto" if value == AUTOTUNE else "default" if value is None else value
        parts.append(f"{key}={shown}")
    return " ".join(parts)


# Every figure of every section that is one value (not a timeline, list or table), as
# (section, name): the frame's columns, whatever fields the sections come to have.
SCALARS: tuple[tuple[str, str], ...] = tuple(
    (section, f.name)
    for section, kind in SECTIONS.items()
    for f in fields(kind)
    if f.name in FIELD_SECTION and not str(f.type).startswith(("list", "dict"))
)


def scalar_figures(record: Record) -> dict[str, Any]:
    """``SCALARS``' values in ``record``, by name."""
    return {name: getattr(getattr(record, section), name) for section, name in SCALARS}


def frame(records: list[Record]) -> pd.DataFrame:
    """One row per record: identity, status, every one-value figure of every section,
    the figures derived from several records, and the run's environment."""
    rows = []
    for record, ceiling_fraction in zip(records, fractions(records), strict=True):
        data = record.dataset
        height, width = (data.get("image_size") or [None, None])[:2]
        row = {
            "strategy": record.strategy,
            "role": record.role,
            "mode": record.mode,
            "status": record.status,
            "error": record.error,
            "dataset": data.get("root"),
            "split": data.get("split"),
            "pairs": data.get("pairs"),
            "image_size": f"{width}x{height}" if width else None,
            "dataset_bytes": (data.get("pairs") or 0) * (data.get("bytes_per_sample") or 0),
            "batch_size": record.options.get("batch_size"),
            "options": options_label(record.options),
            "key": record.key(),
            **scalar_figures(record),
            "ceiling_fraction": ceiling_fraction,
            "ceiling": record.ceiling,
            "normalize": record.options.get("normalize", "host"),
            "repeat": record.repeat,
            "memray_flamegraph": record.memray_flamegraph,
            "started_at": record.started_at,
            "wall_s": record.wall_s,
            "late_rise": late_rise(record.memory.rss_timeline),
            "machine_speed": record.machine_speed,
            "tensorflow": record.env.get("tensorflow"),
            "cpu_model": record.env.get("cpu_model"),
            "cpu_count": record.env.get("cpu_count"),
            "gpu": record.env.get("gpu"),
            "commit": record.env.get("commit"),
            "hostname": record.env.get("hostname"),
            "command": record.command,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def to_csv(records: list[Record], path: Path) -> None:
    """The DataFrame without the timelines, for spreadsheets."""
    frame(records).drop(columns=["key"]).to_csv(path, index=False)
