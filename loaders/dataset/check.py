"""``loadbench data check``: describe every split and decode every file once."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from loaders.dataset.images import read_sample
from loaders.dataset.layout import SHOWN, Split, describe, list_splits
from loaders.errors import DatasetError


@dataclass(frozen=True, kw_only=True)
class SplitCheck:
    """The outcome for one split: its description when valid, the problems otherwise."""

    split: str
    data: Split | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.problems


def check_dataset(root: Path, workers: int | None = None) -> list[SplitCheck]:
    """Check every split under ``root``; raise DatasetError if there is none."""
    root = Path(root)
    splits = list_splits(root)
    if not splits:
        raise DatasetError(
            f"{root}: no split found; expected ROOT/<split>/{{time1,time2,label}}/<name>.png"
        )
    return [check_split(root, split, workers) for split in splits]


def check_split(root: Path, split: str, workers: int | None = None) -> SplitCheck:
    """Pair and header-check the split, then fully decode each sample in parallel threads."""
    try:
        data = describe(root, split)
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
