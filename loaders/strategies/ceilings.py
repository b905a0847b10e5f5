"""This machine's ceilings: how fast it can hand out batches before any strategy's work.

Two reference pipelines, measured like strategies (each in its own child, on the same
split, iterating) so that a strategy's throughput can be read as a fraction of what the
machine allows:

- ``ceiling_decode``: the split's image files read and decoded in parallel by tf.data
  and batched, nothing else (no validation, no float conversion, no prefetch). The
  ceiling of a strategy that decodes PNG or JPEG while it reads.
- ``ceiling_copy``: pre-decoded uint8 batches held in memory, each copied once into a
  fresh tensor. The ceiling of a strategy that reads samples already decoded (from a
  converted file, or from arrays in memory).

They are not among the strategies (``registry.CEILINGS``, not ``registry.BUILTIN``):
``loadbench run`` adds them to its runs, and a record's ``ceiling_fraction`` is its
throughput over the ceiling that applies to it (``applies_to``). Their batches stay
uint8, so they also skip the float conversion every strategy pays: a fraction of 1 is
out of reach, and what matters is how close.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from loaders.dataset.layout import Split
from loaders.options import PipelineOptions
from loaders.strategies.tensor_slices import load_arrays

DECODE = "ceiling_decode"  # the names are registry.CEILINGS' keys
COPY = "ceiling_copy"
# Batches ceiling_copy cycles through: more than the CPU's caches hold (docs/CALIBRATION.md).
HELD_BATCHES = 16


def applies_to(strategy: object) -> str:
    """The ceiling a strategy is measured against: decode for one that decodes image
    files as it reads (``decodes_while_reading = True``), copy for the others."""
    return DECODE if getattr(strategy, "decodes_while_reading", False) else COPY


class DecodeCeiling:
    """Read and decode each pair's three image files in parallel, then batch."""

    name = DECODE
    ceiling = True

    def prepare(self, data: Split, cache_root: Path) -> None:
        """Nothing to convert: it reads the image files themselves."""

    def batches(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        files = [(str(s.time1), str(s.time2), str(s.label)) for s in data.samples]
        height, width = data.image_size

        def decode(path: tf.Tensor, channels: int) -> tf.Tensor:
            image = tf.io.decode_image(tf.io.read_file(path), channels, expand_animations=False)
            return tf.ensure_shape(image, (height, width, channels))

        def pair(time1: tf.Tensor, time2: tf.Tensor, label: tf.Tensor):
            return (decode(time1, 3), decode(time2, 3)), decode(label, 1)

        columns = tuple(list(column) for column in zip(*files, strict=True))
        ds = tf.data.Dataset.from_tensor_slices(columns)
        ds = ds.map(pair, num_parallel_calls=options.parallelism, deterministic=True)
        return ds.batch(options.batch_size)


class CopyCeiling:
    """Cycle through batches of decoded samples held in memory, copying each out once."""

    name = COPY
    ceiling = True

    def prepare(self, data: Split, cache_root: Path) -> None:
        """Nothing to convert: the held batches are decoded when the pipeline is built."""

    def batches(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        held = min(data.pairs, HELD_BATCHES * options.batch_size)
        subset = Split(
            root=data.root,
            split=data.split,
            samples=data.samples[:held],
            image_size=data.image_size,
            signature=data.signature,
        )
        time1, time2, label = load_arrays(subset, options.workers)
        starts = range(0, held, options.batch_size)

        def copies():
            # tf.data copies each yielded array into a new tensor: the one copy counted.
            for start in starts:
                rows = slice(start, start + options.batch_size)
                yield (time1[rows], time2[rows]), label[rows]

        height, width = data.image_size
        image = tf.TensorSpec((None, height, width, 3), tf.uint8)
        mask = tf.TensorSpec((None, height, width, 1), tf.uint8)
        return tf.data.Dataset.from_generator(copies, output_signature=((image, image), mask))
