"""``article``: the seed story's pipeline as its article wrote it (shared/DESIGN.md).

- files paired by position: ``zip(sorted(time1), sorted(time2), sorted(label))``, which
  silently mispairs every pair after a folder's missing file, and drops the last (the
  split's own folders: ``A``, ``B``, ``label`` on a LEVIR-CD tree);
- each image converted to float32 and scaled in the generator, one sample at a time,
  before anything else ("converts them to floats and normalizes them"), so a
  ``.cache()`` after it holds float32: 4 bytes a pixel;
- ``.cache().shuffle(1000).batch(200).repeat().prefetch(AUTOTUNE)`` around it (the
  preset's options).

As a strategy it yields float32 samples already scaled, so the shared pipeline leaves
them as they are (``yields_floats``). Run as a script it is the article's code alone,
with no loadbench in the loop: the outside instrument the preset's peak is checked
against (``python -m loadbench.loaders.strategies.article ROOT --split train --batches 20`` under
GNU time; ``--folders A,B,label`` for a split whose folders are not time1, time2, label).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from PIL import Image

from loadbench.loaders.protocol import Strategy

FOLDERS = ("time1", "time2", "label")  # the article's; a split's own are ``data.folders``
SUFFIXES = (".png", ".jpg", ".jpeg")
Folders = tuple[str, str, str]


def sorted_files(split_dir: Path, folders: Folders = FOLDERS) -> list[list[Path]]:
    """Each folder's image files, sorted by name: what the article zipped."""
    return [
        sorted(p for p in (split_dir / f).iterdir() if p.suffix.lower() in SUFFIXES)
        for f in folders
    ]


def zipped(split_dir: Path, folders: Folders = FOLDERS) -> list[tuple[Path, Path, Path]]:
    """The article's pairing: by position in each folder's sorted listing."""
    time1, time2, label = sorted_files(split_dir, folders)
    return list(zip(time1, time2, label))  # noqa: B905 - the article's zip, not strict


SHOWN = 10  # mispaired triples a record keeps


def mispaired(
    split_dir: Path, folders: Folders = FOLDERS
) -> tuple[int, list[tuple[str, str, str]], list[str]]:
    """How many triples zip made, those whose three names differ, and the files zip
    dropped (``folder/file``: those past the shortest folder's end), from one listing."""
    listed = sorted_files(split_dir, folders)
    triples = list(zip(*listed))  # noqa: B905 - the article's zip, not strict
    wrong = [
        (t1.name, t2.name, lb.name)
        for t1, t2, lb in triples
        if len({t1.stem, t2.stem, lb.stem}) > 1
    ]
    dropped = [f"{p.parent.name}/{p.name}" for files in listed for p in files[len(triples) :]]
    return len(triples), wrong, dropped


def load_float(path: Path, mask: bool) -> np.ndarray:
    """One image as the article's preprocessing made it: float32, scaled to [0, 1]."""
    with Image.open(path) as image:
        array = np.asarray(image.convert("L") if mask else image.convert("RGB"))
    if mask:
        return (array[..., None] > 0).astype(np.float32)
    return array.astype(np.float32) / 255.0


def float_pairs(split_dir: Path, folders: Folders = FOLDERS):
    """The article's generator: every zipped triple, converted to floats as read."""
    for time1, time2, label in zipped(split_dir, folders):
        yield load_float(time1, False), load_float(time2, False), load_float(label, True)


class Article(Strategy):
    """The article's generator as a strategy: float32 samples, scaled, zip(sorted) pairs.

    Not among the default strategies (``registry.PRESET_STRATEGIES``): ``--preset seed``
    runs it first, then the variants loadbench recommends."""

    name = "article"
    yields_floats = True  # the shared pipeline leaves its samples as they are

    def prepare(self, data, cache_root: Path) -> None:
        """Nothing to convert."""

    def memory_profile(self, data, options):
        from loadbench.loaders.memory import MemoryProfile

        return MemoryProfile(
            sample_element_bytes=4,
            why="float32 samples made one at a time: a cache or buffer after it holds float32",
        )

    def pairing(self, data) -> dict:
        """How the article's ``zip(sorted(...))`` paired this split's files, for the record."""
        split_dir = Path(data.root) / data.split
        triples, wrong, dropped = mispaired(split_dir, data.folders)
        return {
            "rule": f"zip({', '.join(f'sorted({f})' for f in data.folders)})",
            "triples": triples,
            "mispaired": len(wrong),
            "first_mispaired": [list(t) for t in wrong[:SHOWN]],
            "dropped": dropped,
        }

    def samples(self, data, options):
        import tensorflow as tf

        split_dir = Path(data.root) / data.split
        height, width = data.image_size
        signature = tuple(tf.TensorSpec((height, width, c), tf.float32) for c in (3, 3, 1))
        return tf.data.Dataset.from_generator(
            lambda: float_pairs(split_dir, data.folders), output_signature=signature
        )


def main() -> None:  # pragma: no cover - run under GNU time, in its own process
    parser = argparse.ArgumentParser(description="the article's pipeline, alone")
    parser.add_argument("root", type=Path)
    parser.add_argument("--split", default="train")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--cache", choices=["memory", "none"], default="memory")
    parser.add_argument(
        "--folders", default=",".join(FOLDERS), help="before,after,mask (default: %(default)s)"
    )
    args = parser.parse_args()
    before, after, mask = args.folders.split(",")
    folders = (before, after, mask)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    split_dir = args.root / args.split
    with Image.open(zipped(split_dir, folders)[0][0]) as first:
        width, height = first.size
    signature = (
        tf.TensorSpec((height, width, 3), tf.float32),
        tf.TensorSpec((height, width, 3), tf.float32),
        tf.TensorSpec((height, width, 1), tf.float32),
    )
    ds = tf.data.Dataset.from_generator(
        lambda: float_pairs(split_dir, folders), output_signature=signature
    )
    if args.cache == "memory":
        ds = ds.cache()
    ds = ds.shuffle(1000).batch(200).repeat().prefetch(tf.data.AUTOTUNE)
    for _, _batch in zip(range(args.batches), ds, strict=False):
        pass


if __name__ == "__main__":
    main()
