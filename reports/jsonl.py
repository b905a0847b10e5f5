"""Records on disk: one JSON object per line, appended the moment a run ends (flushed and
fsynced), so killing the suite never loses a finished run; and read back, with a line
that names its file and number when it cannot be."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from loadbench.loaders.errors import RecordError
from loadbench.loaders.files import append_line
from loadbench.reports.record_json import from_json, say_unknown, to_json
from loadbench.reports.records import (
    KNOWN_SCHEMAS,
    LIMIT_KIND,
    LIMIT_SCHEMA,
    LimitRecord,
    Record,
)

log = logging.getLogger("loadbench")
T = TypeVar("T")


def append(path: Path, record: Record | LimitRecord) -> None:
    """Append one record as a line and make it durable before returning."""
    data = to_json(record) if isinstance(record, Record) else asdict(record)
    append_line(path, json.dumps(data, sort_keys=True))


def read(path: Path) -> list[Record]:
    """Every record in a JSON Lines file (none when there is no file); a bad line is an
    error naming file and line. A last line without its newline is what a kill mid-write
    leaves: it is skipped with a warning."""
    path = Path(path)
    if not path.is_file():
        return []
    unknown: set[str] = set()
    found = [record_from(data, f"{path}:{number}", unknown) for number, data in lines(path)]
    say_unknown(unknown, str(path))  # once for the file
    return found


def read_limits(path: Path) -> list[LimitRecord]:
    """Every prove-limit record in a JSON Lines file; a bad line names file and line."""
    out = []
    for number, data in lines(path):
        where = f"{path}:{number}"
        if data.get("kind") != LIMIT_KIND:
            raise RecordError(f"{where}: not a prove-limit record")
        _check_schema(data, frozenset({LIMIT_SCHEMA}), where)
        out.append(_make(LimitRecord, data, where))
    return out


def record_from(data: dict[str, Any], where: str, unknown: set[str] | None = None) -> Record:
    """A Record from one JSON object of any schema this loadbench reads (``unknown``: see
    ``record_json.from_json``)."""
    _check_schema(data, KNOWN_SCHEMAS, where)
    return from_json(data, where, unknown)


def is_limit_file(path: Path) -> bool:
    """Whether a results file holds prove-limit records (its first line says so)."""
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
        return json.loads(first).get("kind") == LIMIT_KIND
    except (OSError, ValueError, AttributeError, UnicodeDecodeError):
        return False


def lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each JSON line; a torn last line is skipped, any other
    line that is not a JSON object is an error naming the file and line."""
    text = Path(path).read_text(encoding="utf-8").split("\n")
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            if number == len(text):  # no newline after it: a write cut short (kill, full disk)
                log.warning(
                    "%s:%d: skipped a torn last line (a write cut short); the %d line(s) "
                    "before it are read",
                    path,
                    number,
                    number - 1,
                )
                continue
            raise RecordError(f"{path}:{number}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise RecordError(f"{path}:{number}: not a JSON object")
        yield number, data


def _check_schema(data: dict[str, Any], known: frozenset[int], where: str) -> None:
    found = data.get("schema")
    if found in known:
        return
    newer = isinstance(found, int) and found > max(known)
    versions = " and ".join(str(v) for v in sorted(known))
    raise RecordError(
        f"{where}: schema {found}, this loadbench reads schema {versions}"
        + ("; the file comes from a newer loadbench: upgrade to read it" if newer else "")
    )


def _make(kind: type[T], data: dict[str, Any], where: str) -> T:
    try:
        return kind(**data)
    except TypeError as exc:
        raise RecordError(f"{where}: {exc}") from exc
