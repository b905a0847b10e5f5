"""The split's files in the page cache before the first run, so that every repeat reads
them as the others do.

A run reads its files from the kernel's page cache where an earlier run left them there,
from the disk where nothing did. So the command's first run of a strategy was the one
that read from the disk after anything had pushed the files out (an install, another
dataset): with the page cache dropped (``echo 1 > /proc/sys/vm/drop_caches``), the first
of three ceiling_decode runs went 364 samples/s against 502-587 and memmap's first 792
against 7,787-9,262; a fresh clone's default run, after two installs, had ceiling_decode
at 185 against 517-615, unstable for that alone. Read once here, every repeat reads warm
files: the steady state of a training job whose data fits in memory, whose every epoch
but the first reads from the cache. Data past ``BUDGET_SHARE`` of the memory available
is left alone: it would not stay cached for a pipeline either, and reading it would push
out what does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

from loadbench.loaders.dataset import converted
from loadbench.loaders.dataset.layout import Split

BUDGET_SHARE = 0.5  # of the memory available now
CHUNK_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Warmed:
    """What ``warm`` did: the files and bytes it read, or why it read none."""

    files: int
    bytes: int
    skipped: str | None = None

    def said(self) -> str:
        """One line for the user."""
        if self.skipped:
            return f"page cache: not warmed ({self.skipped})"
        return (
            f"page cache: read the split and its conversions first ({self.files:,} files, "
            f"{self.bytes / 1e6:,.1f} MB), so repeats read from memory"
        )


def split_files(data: Split, cache_root: Path) -> list[Path]:
    """The split's own files and those converted from it (``converted.conversions_of``)
    that exist now."""
    found = [p for s in data.samples for p in (s.time1, s.time2, s.label) if p.is_file()]
    for directory in converted.conversions_of(data, cache_root):
        found += sorted(p for p in directory.rglob("*") if p.is_file())
    return found


def warm(files: list[Path], available_bytes: int | None = None) -> Warmed:
    """Read ``files`` through once (nothing is kept but the kernel's cache), where they
    fit in ``BUDGET_SHARE`` of ``available_bytes`` (default: available now)."""
    total = sum(p.stat().st_size for p in files)
    available = psutil.virtual_memory().available if available_bytes is None else available_bytes
    budget = int(available * BUDGET_SHARE)
    if total > budget:
        return Warmed(
            0,
            0,
            f"{total / 1e9:,.2f} GB of files, over {BUDGET_SHARE:.0%} of the "
            f"{available / 1e9:,.1f} GB available: the first repeat of each strategy may "
            "read from the disk",
        )
    buffer = bytearray(CHUNK_BYTES)
    read = 0
    for path in files:
        with open(path, "rb", buffering=0) as handle:
            while got := handle.readinto(buffer):
                read += got
    return Warmed(len(files), read)
