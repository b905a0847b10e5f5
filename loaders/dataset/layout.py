"""The dataset layout on disk and the description every loader receives.

Layout: ``ROOT/<split>/{time1,time2,label}/<name>.<ext>``, the layout of public
change-detection datasets. Samples are paired by file stem within a split, never by
sorted position: a folder that misses one file would silently shift every pair after it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from loaders.errors import DatasetError

FOLDERS = ("time1", "time2", "label")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
INPUT_MODES = frozenset({"RGB"})
LABEL_MODES = frozenset({"1", "L", "RGB"})
# channels of one sample as stored uint8: time1 RGB + time2 RGB + a 1-channel mask
CHANNELS_PER_SAMPLE = 3 + 3 + 1
SHOWN = 10


@dataclass(frozen=True, kw_only=True)
class SampleFiles:
    """The three files of one sample, found by a shared stem."""

    name: str
    time1: Path
    time2: Path
    label: Path


@dataclass(frozen=True, kw_only=True)
class Split:
    """One validated split: what every loader receives.

    ``signature`` digests every file's name, size and modification time, so converted
    files keyed by it are rebuilt when the source changes.
    """

    root: Path
    split: str
    samples: tuple[SampleFiles, ...]
    image_size: tuple[int, int]  # (height, width) in pixels
    signature: str
    # Files left out because their name is missing from another folder (``describe``
    # with ``skip_unpaired``), as ``folder/file``; empty for a split that pairs fully.
    unpaired: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.samples)

    @property
    def pairs(self) -> int:
        return len(self.samples)

    @property
    def bytes_per_sample(self) -> int:
        """Bytes of one decoded sample as uint8 (two RGB images and a 1-channel mask)."""
        height, width = self.image_size
        return height * width * CHANNELS_PER_SAMPLE

    @property
    def total_bytes(self) -> int:
        return self.pairs * self.bytes_per_sample


def list_splits(root: Path) -> list[str]:
    """Names of the split folders under ``root`` that hold the three layout folders."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset directory")
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and all((p / f).is_dir() for f in FOLDERS)
    )


def describe(root: Path, split: str, *, skip_unpaired: bool = False) -> Split:
    """Pair the files of ``root/split`` by stem and check every image header.

    Raises DatasetError naming the offending files: missing or duplicated stems,
    unreadable images, wrong colour modes, or sizes that differ from the first image.
    With ``skip_unpaired`` a name missing from a folder is not an error: its files are
    left out and listed in the split's ``unpaired`` (the seed preset runs the article's
    pipeline on such a dataset to show what its positional pairing does).
    """
    root = Path(root)
    split_dir = root / split
    if not split_dir.is_dir():
        found = list_splits(root) if root.is_dir() else []
        raise DatasetError(
            f"{split_dir}: no such split; splits found under {root}: {', '.join(found) or 'none'}"
        )
    by_folder = {folder: _files_by_stem(split_dir / folder) for folder in FOLDERS}
    unpaired = _check_pairing(split_dir, by_folder, skip_unpaired)
    names = sorted(set.intersection(*(set(stems) for stems in by_folder.values())))
    if not names:
        raise DatasetError(
            f"split {split!r} under {root} is empty: {split_dir}/time1 holds no "
            f"{'/'.join(sorted(IMAGE_SUFFIXES))} image"
        )
    samples = tuple(SampleFiles(name=n, **{f: by_folder[f][n][0] for f in FOLDERS}) for n in names)
    image_size = _check_headers(samples)
    return Split(
        root=root,
        split=split,
        samples=samples,
        image_size=image_size,
        signature=_signature(split_dir, samples),
        unpaired=unpaired,
    )


def _files_by_stem(folder: Path) -> dict[str, list[Path]]:
    """Image files of one folder grouped by stem; hidden and temporary files are ignored."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: missing folder; each split needs {', '.join(FOLDERS)}")
    stems: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        stems[path.stem].append(path)
    return stems


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    more = f" (first {SHOWN} of {len(items)})" if len(items) > SHOWN else f" ({len(items)})"
    return shown + more


def _check_pairing(
    split_dir: Path, by_folder: dict[str, dict[str, list[Path]]], skip_unpaired: bool
) -> tuple[str, ...]:
    """Raise naming every name that does not pair; with ``skip_unpaired`` a missing name
    is not a problem: return the files (``folder/file``) that have no partner instead."""
    problems = []
    unpaired: list[str] = []
    for folder, stems in by_folder.items():
        dupes = sorted(
            f"{s} ({', '.join(p.suffix for p in paths)})"
            for s, paths in stems.items()
            if len(paths) > 1
        )
        if dupes:
            problems.append(
                f"{split_dir / folder}: names present twice with different extensions: "
                + _listing(dupes)
            )
    every = set().union(*(stems.keys() for stems in by_folder.values()))
    for folder, stems in by_folder.items():
        missing = sorted(every - stems.keys())
        if missing and skip_unpaired:
            unpaired += [
                f"{other}/{path.name}"
                for name in missing
                for other, found in by_folder.items()
                for path in found.get(name, [])
            ]
        elif missing:
            problems.append(
                f"{split_dir / folder}: missing names present in the other folders: "
                + _listing(missing)
            )
    if problems:
        raise DatasetError(
            "samples are paired by file name and some do not pair:\n  "
            + "\n  ".join(problems)
            + "\nadd or remove files so every name appears once in each folder"
        )
    return tuple(sorted(set(unpaired)))


def _check_headers(samples: tuple[SampleFiles, ...]) -> tuple[int, int]:
    """Read every header (not the pixels); return the common (height, width)."""
    problems: list[str] = []
    reference: tuple[Path, tuple[int, int]] | None = None
    for sample in samples:
        for folder in FOLDERS:
            path = getattr(sample, folder)
            try:
                with Image.open(path) as image:
                    width, height = image.size
                    mode = image.mode
            except (UnidentifiedImageError, OSError) as exc:
                problems.append(f"{path}: unreadable image ({exc})")
                continue
            allowed = LABEL_MODES if folder == "label" else INPUT_MODES
            if mode not in allowed:
                problems.append(
                    f"{path}: colour mode {mode}, expected {' or '.join(sorted(allowed))}"
                )
            if reference is None:
                reference = (path, (height, width))
            elif (height, width) != reference[1]:
                problems.append(
                    f"{path}: size {width}x{height} differs from {reference[0]} "
                    f"({reference[1][1]}x{reference[1][0]}); every image must be the same size"
                )
    if problems:
        raise DatasetError(
            f"{len(problems)} image problem(s):\n  "
            + "\n  ".join(problems[:SHOWN])
            + (f"\n  ... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else "")
        )
    assert reference is not None
    return reference[1]


def _signature(split_dir: Path, samples: tuple[SampleFiles, ...]) -> str:
    # Name, size and mtime of every file, not its path: a moved dataset keeps its
    # converted files. Hashing the bytes would read gigabytes on every run.
    digest = hashlib.sha256(split_dir.name.encode())
    for sample in samples:
        for folder in FOLDERS:
            path = getattr(sample, folder)
            stat = path.stat()
            digest.update(f"{folder}/{path.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]
