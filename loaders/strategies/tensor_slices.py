"""``tensor_slices``: the whole split held in memory, fed by ``from_tensor_slices``.

The obvious pipeline, and the one that breaks first: the arrays are embedded in the
dataset graph (so it cannot serialize past 2 GiB) and the split must fit in RAM. Kept
honest here: one uint8 copy of the data, converted to float per batch. The decoded
samples come from ``memmap``'s one-time conversion, read whole into aligned arrays that
TensorFlow takes without a copy (``loadbench.loaders.strategies.held``).
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.memory import MemoryProfile
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.protocol import Strategy
from loadbench.loaders.strategies.held import as_tensors, read_arrays
from loadbench.loaders.strategies.memmap import Memmap


class TensorSlices(Strategy):
    """Read every decoded sample into three aligned uint8 arrays, then slice them."""

    name = "tensor_slices"
    maps_whole_dataset = True  # decoded arrays in memory

    def __init__(self) -> None:
        self.raw = Memmap()  # the decoded rows, converted once and shared with memmap

    def prepare(self, data: Split, cache_root: Path) -> None:
        self.raw.prepare(data, cache_root)

    def memory_profile(self, data: Split, options: PipelineOptions) -> MemoryProfile:
        return MemoryProfile(
            split_copies=2,
            why="its decoded arrays, and a second, transient copy made while the iterator is "
            "built (peak RSS grows 1.87 bytes per byte of data at 256 px)",
        )

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        arrays = read_arrays(self.raw.raw_path(), data)
        if not tf.executing_eagerly():
            # Inside a tf.function the arrays become constants of the function's graph,
            # as they do in any user's code that builds this pipeline there: that graph
            # then carries the whole split (``loadbench prove-limit``'s "function" path).
            return tf.data.Dataset.from_tensor_slices(arrays)
        return tf.data.Dataset.from_tensor_slices(as_tensors(arrays))
