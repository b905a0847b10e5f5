"""``fixed_length``: the memmap strategy's raw file, read by TensorFlow alone.

``tf.data.FixedLengthRecordDataset`` reads one row (one sample's bytes) at a time; once
the shared pipeline has batched the rows, ``tf.io.decode_raw`` cuts the whole batch into
the three images. No Python runs per sample, so the
whole pipeline is graph ops: it can be shipped to tf.data service workers in other
processes, which a pipeline with a Python generator or ``numpy_function`` cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from loadbench.loaders.dataset.images import sample_shapes
from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.memory import MemoryProfile
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.protocol import Strategy
from loadbench.loaders.strategies.memmap import Memmap

READ_BUFFER_BYTES = 4 * 2**20  # large sequential reads of the raw file
# Batch-sized uint8 buffers at the settled peak, beyond the shared pipeline's: the batch
# of rows, its decode_raw copy and the split parts of each of AUTOTUNE's parallel calls,
# with their threads' allocator slack. Calibrated on settled peaks (docs/CALIBRATION.md).
STAGED_BATCHES = 7


class FixedLength(Strategy):
    """Read the raw file that ``memmap`` converts to, row by row, in TensorFlow ops."""

    name = "fixed_length"

    def __init__(self) -> None:
        self.raw = Memmap()  # the same conversion, shared on disk with memmap

    def prepare(self, data: Split, cache_root: Path) -> None:
        self.raw.prepare(data, cache_root)

    def memory_profile(self, data: Split, options: PipelineOptions) -> MemoryProfile:
        return MemoryProfile(
            staged_batches=STAGED_BATCHES,
            why="rows, their decode_raw copy and split parts in each parallel parse, with "
            "their threads' allocator slack (calibrated on settled peaks, not derived)",
        )

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        """The file's rows, undecoded: ``parse_batch`` cuts a whole batch of them at once."""
        return tf.data.FixedLengthRecordDataset(
            str(self.raw.raw_path()),
            record_bytes=data.bytes_per_sample,
            buffer_size=READ_BUFFER_BYTES,
        )

    def parse_batch(self, data: Split) -> Callable[[tf.Tensor], tuple[tf.Tensor, ...]]:
        """Batch, then parse: one ``decode_raw`` and one split per batch of rows, not per
        sample (measured on the built-in 1,000 pairs of 256x256, batch 32: 4,048-4,209
        pairs/s against 2,016-3,606 cutting each row alone; docs/CALIBRATION.md)."""
        shapes = sample_shapes(data)
        sizes = [int(np.prod(shape)) for shape in shapes]

        def parse(rows: tf.Tensor) -> tuple[tf.Tensor, ...]:
            flat = tf.io.decode_raw(rows, tf.uint8)  # (batch, bytes per sample)
            parts = tf.split(flat, sizes, axis=1)
            return tuple(tf.reshape(p, (-1, *s)) for p, s in zip(parts, shapes, strict=True))

        return parse
