"""The dataset layout on disk and the description every loader receives.

Layout: ``ROOT/<split>/{BEFORE,AFTER,MASK}/<name>.<ext>``, the three folders named as
one of the public change-detection datasets names them (``loadbench.loaders.dataset.layouts``:
``time1, time2, label``, loadbench's own; ``A, B, label``, LEVIR-CD's; ...) or as given
with ``--folders``. Samples are paired by file stem within a split, never by sorted
position: a folder that misses one file would silently shift every pair after it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from loadbench.loaders.dataset.layouts import BUILTIN, ROLES, Layout, matches, recognise
from loadbench.loaders.errors import DatasetError

# The built-in layout's folders (``data synth`` writes them), which are the role names.
FOLDERS = BUILTIN.folders
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
INPUT_MODES = frozenset({"RGB"})
LABEL_MODES = frozenset({"1", "L", "RGB"})
# channels of one sample as stored uint8: time1 RGB + time2 RGB + a 1-channel mask
CHANNELS_PER_SAMPLE = 3 + 3 + 1
SHOWN = 10


@dataclass(frozen=True, kw_only=True)
class SampleFiles:
    """The three files of one sample, found by a shared stem; named by role (``ROLES``):
    before, after and mask, whatever the split's folders are called."""

    name: str
    time1: Path
    time2: Path
    label: Path


@dataclass(frozen=True, kw_only=True)
class Split:
    """One validated split: what every loader receives.

    ``signature`` digests every file's name, size and modification time, so converted
    files keyed by it are rebuilt when the source changes. ``layout`` is the folder
    naming recognised (or given with ``--folders``) and ``folders`` the before, after and
    mask folders as spelled on disk: code that reads the split's folders reads these.
    """

    root: Path
    split: str
    samples: tuple[SampleFiles, ...]
    image_size: tuple[int, int]  # (height, width) in pixels
    signature: str
    layout: Layout
    folders: tuple[str, str, str]
    # Files left out because their name is missing from another folder (``describe``
    # with ``skip_unpaired``), as ``folder/file``; empty for a split that pairs fully.
    unpaired: tuple[str, ...] = ()

    @property
    def layout_summary(self) -> str:
        """``LEVIR-CD / ... layout: A, B, label``: what was recognised, for the user."""
        return self.layout.summary(self.folders)

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


def list_splits(root: Path, folders: tuple[str, str, str] | None = None) -> list[str]:
    """Names of the split folders under ``root`` that hold the three folders of a known
    layout (one or more: a split with two is listed, and refused by ``describe``), or the
    ``folders`` given."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset directory")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _holds(p, folders))


def _holds(split_dir: Path, folders: tuple[str, str, str] | None) -> bool:
    if folders is None:
        return bool(matches(split_dir))
    try:
        recognise(split_dir, folders)
    except DatasetError:
        return False
    return True


def describe(
    root: Path,
    split: str,
    *,
    skip_unpaired: bool = False,
    folders: tuple[str, str, str] | None = None,
) -> Split:
    """Pair the files of ``root/split`` by stem and check every image header.

    The split's folders are ``folders`` (before, after, mask) where given, else those of
    the one known layout the split holds. Raises DatasetError naming the offending
    files: no layout or two at once, missing or duplicated stems, unreadable images,
    wrong colour modes, or sizes that differ from the first image. With
    ``skip_unpaired`` a name missing from a folder is not an error: its files are left
    out and listed in the split's ``unpaired`` (the seed preset runs the article's
    pipeline on such a dataset to show what its positional pairing does).
    """
    root = Path(root)
    split_dir = root / split
    if not split_dir.is_dir():
        found = list_splits(root, folders) if root.is_dir() else []
        raise DatasetError(
            f"{split_dir}: no such split; splits found under {root}: {', '.join(found) or 'none'}"
        )
    recognised = recognise(split_dir, folders)
    on_disk = recognised.folders
    by_folder = {folder: _files_by_stem(split_dir / folder) for folder in on_disk}
    unpaired = _check_pairing(split_dir, by_folder, skip_unpaired)
    names = sorted(set.intersection(*(set(stems) for stems in by_folder.values())))
    if not names:
        raise DatasetError(
            f"split {split!r} under {root} is empty: {split_dir / on_disk[0]} holds no "
            f"{'/'.join(sorted(IMAGE_SUFFIXES))} image"
        )
    samples = tuple(
        SampleFiles(
            name=n, **{role: by_folder[f][n][0] for role, f in zip(ROLES, on_disk, strict=True)}
        )
        for n in names
    )
    image_size = _check_headers(samples)
    return Split(
        root=root,
        split=split,
        samples=samples,
        image_size=image_size,
        signature=_signature(split_dir, samples, on_disk),
        layout=recognised.layout,
        folders=on_disk,
        unpaired=unpaired,
    )


def _files_by_stem(folder: Path) -> dict[str, list[Path]]:
    """Image files of one folder grouped by stem; hidden and temporary files are ignored."""
    if not folder.is_dir():  # recognised a moment ago: removed since
        raise DatasetError(f"{folder}: missing folder")
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
        for role in ROLES:
            path = getattr(sample, role)
            try:
                with Image.open(path) as image:
                    width, height = image.size
                    mode = image.mode
            except (UnidentifiedImageError, OSError) as exc:
                problems.append(f"{path}: unreadable image ({exc})")
                continue
            allowed = LABEL_MODES if role == "label" else INPUT_MODES
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


def _signature(
    split_dir: Path, samples: tuple[SampleFiles, ...], folders: tuple[str, str, str]
) -> str:
    # Name, size and mtime of every file, not its path: a moved dataset keeps its
    # converted files. Hashing the bytes would read gigabytes on every run. Each file is
    # hashed under its folder's name on disk: for the built-in layout that is the role
    # name it always was, so caches converted before layouts were recognised stay valid.
    digest = hashlib.sha256(split_dir.name.encode())
    for sample in samples:
        for role, folder in zip(ROLES, folders, strict=True):
            path = getattr(sample, role)
            stat = path.stat()
            digest.update(f"{folder}/{path.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]
