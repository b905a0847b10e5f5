"""``loadbench data synth``: write a synthetic change-detection dataset in the layout.

Each pair is drawn from its own seed (``[seed, index]``), so the output is the same
for a given seed whatever the number of worker processes. Every PNG is written under a
hidden temporary name and renamed into place, so an interrupted run leaves no
half-written image that looks valid, and running the same command again resumes it.
"""

from __future__ import annotations

import io
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from loadbench.loaders.dataset.layout import FOLDERS
from loadbench.loaders.dataset.synth_image import make_pair
from loadbench.loaders.errors import OptionsError
from loadbench.loaders.files import atomic_write

MANIFEST = "loadbench-synth.json"
FORMAT_VERSION = 1
DEFAULT_SPLITS = {"train": 0.8, "val": 0.1, "test": 0.1}
MIN_SIZE = 32


@dataclass(frozen=True, kw_only=True)
class SynthParams:
    """What determines the dataset's content; stored in its manifest to allow resuming."""

    pairs: int
    size: int
    splits: dict[str, float]
    seed: int = 0
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.pairs < 1:
            raise OptionsError(f"--pairs {self.pairs}: must be at least 1")
        if self.size < MIN_SIZE:
            raise OptionsError(f"--size {self.size}: must be at least {MIN_SIZE} pixels")
        total = sum(self.splits.values())
        if not self.splits or any(f < 0 for f in self.splits.values()) or abs(total - 1) > 1e-6:
            raise OptionsError(
                f"--splits {format_splits(self.splits)}: fractions must be >= 0 and sum to 1"
            )

    @property
    def bytes_per_sample(self) -> int:
        """uint8 bytes of one pair: two RGB images and a one-channel mask."""
        return self.size * self.size * (3 + 3 + 1)

    def assignments(self) -> list[tuple[str, str]]:
        """(split, name) of every pair, in index order."""
        width = max(6, len(str(self.pairs - 1)))
        out: list[tuple[str, str]] = []
        for split, count in split_counts(self.pairs, self.splits).items():
            out += [(split, f"{len(out) + k:0{width}d}") for k in range(count)]
        return out


def parse_splits(text: str) -> dict[str, float]:
    """``train=0.8,val=0.1,test=0.1`` to a dict, with errors naming the bad part."""
    splits: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            fraction = float(value)
        except ValueError:
            fraction = None
        if not sep or not name or fraction is None or name in splits:
            raise OptionsError(
                f"--splits {text!r}: {part!r} is not NAME=FRACTION (or repeats a name); "
                "example: train=0.8,val=0.1,test=0.1"
            )
        splits[name] = fraction
    return splits


def format_splits(splits: dict[str, float]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in splits.items())


def split_counts(pairs: int, splits: dict[str, float]) -> dict[str, int]:
    """Whole pair counts per split by largest remainder, so they sum to ``pairs``."""
    exact = {name: pairs * fraction for name, fraction in splits.items()}
    counts = {name: int(value) for name, value in exact.items()}
    leftover = pairs - sum(counts.values())
    by_remainder = sorted(exact, key=lambda n: exact[n] - counts[n], reverse=True)
    for name in by_remainder[:leftover]:
        counts[name] += 1
    return counts


def synthesize(out: Path, params: SynthParams, workers: int | None = None) -> dict[str, int]:
    """Write (or finish writing) the dataset; return the pair count per split."""
    out = Path(out)
    _claim(out, params)
    todo = [
        (out, split, name, params.size, params.seed, index)
        for index, (split, name) in enumerate(params.assignments())
        if not all((out / split / f / f"{name}.png").exists() for f in FOLDERS)
    ]
    for split in params.splits:
        for folder in FOLDERS:
            (out / split / folder).mkdir(parents=True, exist_ok=True)
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    bar = tqdm(total=len(todo), unit="pair", desc=f"synth {out}", disable=None)
    if workers == 1 or len(todo) < 16:
        for job in todo:
            write_pair(job)
            bar.update()
    else:
        # spawn: the parent may have TensorFlow loaded, which is not fork-safe.
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            for _ in pool.map(write_pair, todo, chunksize=8):
                bar.update()
    bar.close()
    return split_counts(params.pairs, params.splits)


def synthesize_from(
    source: Path, out: Path, params: SynthParams, workers: int | None = None
) -> dict[str, int]:
    """Like ``synthesize``, but take every pair that ``source`` (a finished synthetic
    dataset with the same size and seed and a single split) already holds, as hard links
    (copies across file systems): pair i is drawn from seed [seed, i] whatever the total,
    so a smaller dataset is the first pairs of a larger one."""
    out = Path(out)
    _claim(out, params)
    for split, name in params.assignments():
        for folder in FOLDERS:
            target = out / split / folder / f"{name}.png"
            origin = Path(source) / split / folder / f"{name}.png"
            if target.exists() or not origin.is_file():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(origin, target)
            except OSError:
                target.write_bytes(origin.read_bytes())
    return synthesize(out, params, workers)


def _claim(out: Path, params: SynthParams) -> None:
    """Refuse to write into a directory holding something else; allow resuming our own."""
    manifest = out / MANIFEST
    wanted = asdict(params)
    if manifest.is_file():
        try:
            existing = json.loads(manifest.read_text())
        except ValueError:
            existing = None
        if existing != wanted:
            raise OptionsError(
                f"{out} already holds a synthetic dataset made with different settings "
                f"({manifest}: {existing}); choose another --out or delete it"
            )
        return
    if out.exists() and any(out.iterdir()):
        raise OptionsError(
            f"{out} is not empty and was not made by 'loadbench data synth'; "
            "choose an empty or new --out directory"
        )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(manifest, json.dumps(wanted, indent=1).encode())


def write_pair(job: tuple[Path, str, str, int, int, int]) -> None:
    """Draw pair ``index`` from its own seed and write its three PNGs atomically."""
    out, split, name, size, seed, index = job
    time1, time2, mask = make_pair(np.random.default_rng([seed, index]), size)
    for folder, array in zip(FOLDERS, (time1, time2, mask), strict=True):
        path = out / split / folder / f"{name}.png"
        encoded = io.BytesIO()
        Image.fromarray(array).save(encoded, format="PNG")
        atomic_write(path, encoded.getvalue())


def builtin_dataset(cache_root: Path, pairs: int, size: int, source: Path | None = None) -> Path:
    """The built-in dataset of ``pairs`` pairs of ``size``, made once under the cache;
    from ``source``'s first pairs (hard links) when given a larger one of the same size."""
    params = SynthParams(pairs=pairs, size=size, splits={"train": 1.0}, seed=0)
    root = Path(cache_root) / "datasets" / f"synthetic-{pairs}x{size}-seed0"
    if source is None:
        synthesize(root, params)
    else:
        synthesize_from(source, root, params)  # pair i is the same whatever the total
    return root
