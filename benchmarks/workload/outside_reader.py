"""An outside reader of the image files, the yardstick of the PNG readers: Pillow decodes
each image in Python, through ``from_generator``, with an interleave of 2 such readers,
as a well-known I/O benchmark's TensorFlow reader does. Not a strategy of loadbench's
(it is not registered); run it beside them in the same invocation with
``--loaders loadbench.workload.outside_reader:InterleavedPIL,files,...``."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from loadbench.loaders.dataset.images import read_index
from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.pipeline import sample_signature
from loadbench.loaders.protocol import Strategy

READERS = 2


class InterleavedPIL(Strategy):
    """Two Python generators, each decoding every other sample with Pillow, interleaved
    one sample from each in turn (so the samples come in name order)."""

    name = "outside_pil_x2"
    decodes_while_reading = True

    def prepare(self, data: Split, cache_root: Path) -> None:
        """Nothing to convert."""

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        def reader(first):
            for index in range(int(first), data.pairs, READERS):
                yield read_index(data, index)

        def one(first: tf.Tensor) -> tf.data.Dataset:
            return tf.data.Dataset.from_generator(
                reader, args=(first,), output_signature=sample_signature(data)
            )

        return tf.data.Dataset.range(READERS).interleave(
            one, cycle_length=READERS, block_length=1, num_parallel_calls=READERS
        )
