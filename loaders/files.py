"""Writing files so that a reader never sees half of one: the one atomic write and the one
durable append every layer uses (the dataset's files, a child's result, the records, the
report). No TensorFlow, no third-party imports."""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path: Path | str, data: bytes | str) -> None:
    """Write ``data`` to ``path`` whole or not at all: a temporary file beside it, then
    a rename, so a kill mid-write leaves the old file (or none), never a torn one."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with open(temporary, "wb") as handle:
        handle.write(payload)
    os.replace(temporary, path)


def append_line(path: Path | str, line: str) -> None:
    """Append one line to ``path``, flushed and fsynced before returning: a record
    written is on disk before the next run starts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line.rstrip("\n") + "\n")
        handle.flush()
        os.fsync(handle.fileno())
