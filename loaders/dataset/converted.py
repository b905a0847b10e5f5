"""Converted files (TFRecord shards, raw memmap files) kept in a cache directory.

A conversion is built in a temporary directory and renamed into place only once its
manifest is written, so an interrupted conversion is never found later. The manifest
records every file's size: a truncated file no longer matches it and is rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.errors import ConversionError

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"


def default_cache_root() -> Path:
    """``$LOADBENCH_CACHE``, else ``$XDG_CACHE_HOME/loadbench``, else ``~/.cache/loadbench``."""
    if env := os.environ.get("LOADBENCH_CACHE"):
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "loadbench"


@dataclass(frozen=True, kw_only=True)
class Conversion:
    """A valid converted copy of one split: its directory and what the builder recorded."""

    directory: Path
    files: dict[str, int]  # file name -> size in bytes
    info: dict

    def path(self, name: str) -> Path:
        return self.directory / name


Builder = Callable[[Path], dict]
"""Writes the converted files into the given directory; returns extra manifest info."""


def convert(
    data: Split, strategy: str, version: int, cache_root: Path, build: Builder
) -> Conversion:
    """Return the valid conversion of ``data`` for ``strategy``, building it if needed.

    The key is the dataset's signature plus the format version, so a changed source or a
    changed format gets a fresh directory.
    """
    directory = Path(cache_root) / strategy / _key(data, version)
    found = _load(directory)
    if found is not None:
        return found
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        info = build(staging)
        files = {p.name: p.stat().st_size for p in sorted(staging.iterdir())}
        _write_manifest(
            staging,
            {
                "strategy": strategy,
                "version": version,
                "split": data.split,
                "pairs": data.pairs,
                "files": files,
                "info": info,
            },
        )
        shutil.rmtree(directory, ignore_errors=True)
        try:
            staging.rename(directory)
        except OSError:
            # Another process finished the same conversion first: use theirs if valid.
            found = _load(directory)
            if found is None:
                raise
            return found
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    loaded = _load(directory)
    if loaded is None:
        raise ConversionError(f"{directory}: conversion written but does not validate")
    return loaded


def _key(data: Split, version: int | str) -> str:
    """A conversion's directory name under its strategy's: the split, its signature and
    the format version."""
    return f"{data.split}-{data.signature}-v{version}"


def conversions_of(data: Split, cache_root: Path) -> list[Path]:
    """The directories converted from ``data`` that exist now, of every strategy and
    format version (a conversion being staged is hidden: its name starts with a dot)."""
    return sorted(Path(cache_root).glob(f"*/{_key(data, '*')}"))


def _write_manifest(directory: Path, manifest: dict) -> None:
    path = directory / MANIFEST
    with open(path, "w") as handle:
        json.dump(manifest, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())


def _load(directory: Path) -> Conversion | None:
    """The conversion in ``directory`` if its manifest and every file's size check out."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        if directory.exists():
            log.warning("%s: no manifest (interrupted conversion?); rebuilding", directory)
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
        files = {str(k): int(v) for k, v in manifest["files"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("%s: unreadable manifest (%s); rebuilding", manifest_path, exc)
        return None
    for name, size in files.items():
        path = directory / name
        actual = path.stat().st_size if path.is_file() else None
        if actual != size:
            log.warning(
                "%s: %s bytes, manifest says %d (truncated or changed); rebuilding",
                path,
                "missing" if actual is None else actual,
                size,
            )
            return None
    return Conversion(directory=directory, files=files, info=manifest.get("info", {}))


def check_size(path: Path, expected: int) -> None:
    """Raise ConversionError if a converted file changed size after validation."""
    actual = path.stat().st_size if path.is_file() else None
    if actual != expected:
        raise ConversionError(
            f"{path}: {actual} bytes, expected {expected}; delete {path.parent} to rebuild"
        )
