"""``fixed_length``: the memmap strategy's raw file, read by TensorFlow alone.

``tf.data.FixedLengthRecordDataset`` reads one row (one sample's bytes) at a time and
``tf.io.decode_raw`` cuts it into the three images. No Python runs per sample, so the
whole pipeline is graph ops: it can be shipped to tf.data service workers in other
processes, which a pipeline with a Python generator or ``numpy_function`` cannot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from loaders.dataset.images import sample_shapes
from loaders.dataset.layout import Split
from loaders.memory import MemoryProfile
from loaders.options import PipelineOptions
from loaders.strategies.memmap import Memmap

READ_BUFFER_BYTES = 4 * 2**20  # large sequential reads of the raw file


class FixedLength:
    """Read the raw file that ``memmap`` converts to, row by row, in TensorFlow ops."""

    name = "fixed_length"

    def __init__(self) -> None:
        self.raw = Memmap()  # the same conversion, shared on disk with memmap

    def prepare(self, data: Split, cache_root: Path) -> None:
        self.raw.prepare(data, cache_root)

    def memory_profile(self, data: Split, options: PipelineOptions) -> MemoryProfile:
        return MemoryProfile(why="one row at a time through a 4 MiB read buffer")

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        shapes = sample_shapes(data)
        sizes = [int(np.prod(shape)) for shape in shapes]
        rows = tf.data.FixedLengthRecordDataset(
            str(self.raw.raw_path()),
            record_bytes=data.bytes_per_sample,
            buffer_size=READ_BUFFER_BYTES,
        )

        def split(row: tf.Tensor):
            flat = tf.io.decode_raw(row, tf.uint8)
            parts = tf.split(flat, sizes)
            return tuple(tf.reshape(p, s) for p, s in zip(parts, shapes, strict=True))

        return rows.map(
            split, num_parallel_calls=options.parallelism, deterministic=options.deterministic
        )
