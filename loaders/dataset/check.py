"""``loadbench data check``: describe every split and decode every file once."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from loadbench.loaders.dataset.images import read_sample
from loadbench.loaders.dataset.layout import SHOWN, Split, describe, list_splits
from loadbench.loaders.dataset.layouts import FOLDERS_OPTION, known_text, matches, subfolders
from loadbench.loaders.errors import DatasetError


@dataclass(frozen=True, kw_only=True)
class SplitCheck:
    """The outcome for one split: its description when valid, the problems otherwise."""

    split: str
    data: Split | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.problems


def check_dataset(
    root: Path, workers: int | None = None, folders: tuple[str, str, str] | None = None
) -> list[SplitCheck]:
    """Check every split under ``root`` (of a known layout, or holding ``folders``);
    raise DatasetError saying what was looked for if there is none."""
    root = Path(root)
    splits = list_splits(root, folders)
    if not splits:
        raise DatasetError(_no_split(root, folders))
    return [check_split(root, split, workers, folders) for split in splits]


def _no_split(root: Path, folders: tuple[str, str, str] | None) -> str:
    if folders is not None:
        message = (
            f"{root}: no split found; expected ROOT/<split>/{{{','.join(folders)}}}/<name>.png "
            f"(--folders {','.join(folders)})"
        )
    else:
        message = (
            f"{root}: no split found; expected ROOT/<split>/{{BEFORE,AFTER,MASK}}/<name>.png "
            f"with the folders of a known layout (before, after, mask):\n  {known_text()}\n"
            f"for another naming pass {FOLDERS_OPTION}"
        )
    listed = [f"{d}/ ({', '.join(subfolders(root / d)) or 'no folders'})" for d in subfolders(root)]
    if listed:
        message += f"\nfolders under {root}: {'; '.join(listed[:SHOWN])}"
    if folders is None and (found := matches(root)):  # ROOT is a split: a flat WHU-CD-256
        message += (
            f"\n{root} is itself a split ({found[0].layout.summary(found[0].folders)}); "
            f"pass the folder above it as ROOT (loadbench data check {root.parent}; "
            f"loadbench run --data {root.parent} --split {root.name})"
        )
    return message


def check_split(
    root: Path,
    split: str,
    workers: int | None = None,
    folders: tuple[str, str, str] | None = None,
) -> SplitCheck:
    """Pair and header-check the split, then fully decode each sample in parallel threads."""
    try:
        data = describe(root, split, folders=folders)
    except DatasetError as exc:
        return SplitCheck(split=split, data=None, problems=[str(exc)])
    problems: list[str] = []

    def decode(index: int) -> None:
        try:
            read_sample(data.samples[index], data.image_size)
        except DatasetError as exc:
            problems.append(str(exc))

    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        bar = tqdm(total=data.pairs, unit="pair", desc=f"check {split}", disable=None)
        for _ in pool.map(decode, range(data.pairs)):
            bar.update()
        bar.close()
    problems.sort()
    if len(problems) > SHOWN:
        problems = [*problems[:SHOWN], f"... and {len(problems) - SHOWN} more"]
    return SplitCheck(split=split, data=data, problems=problems)
