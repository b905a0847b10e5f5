"""``generator``: ``from_generator`` decoding one pair at a time in Python.

The fix from the story: memory stays at a few samples whatever the split's size, and
the dataset graph holds a reference to a Python callable instead of the data. The
generator runs in one Python thread, so ``parallelism`` only reaches the float map.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from loadbench.loaders.dataset.images import read_index
from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.memory import MemoryProfile
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.pipeline import sample_signature
from loadbench.loaders.protocol import Strategy


class Generator(Strategy):
    """Yield decoded samples in name order from a Python generator."""

    name = "generator"
    decodes_while_reading = True  # measured against ceiling_decode

    def prepare(self, data: Split, cache_root: Path) -> None:
        """Nothing to convert: files are decoded as they are read."""

    def memory_profile(self, data: Split, options: PipelineOptions) -> MemoryProfile:
        return MemoryProfile(why="one sample decoded at a time: nothing beyond the pipeline")

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        def decode_in_order():
            for index in range(data.pairs):
                yield read_index(data, index)

        return tf.data.Dataset.from_generator(
            decode_in_order, output_signature=sample_signature(data)
        )
