"""``tensor_slices``: the whole split decoded into memory, fed by ``from_tensor_slices``.

The obvious pipeline, and the one that breaks first: the arrays are embedded in the
dataset graph (so it cannot serialize past 2 GiB) and the split must fit in RAM. Kept
honest here: one uint8 copy of the data, filled in place, converted to float per batch.

TensorFlow 2.21 copies a numpy array it converts to a tensor (measured: a 197 MB array
grew the process by 400 MB in ``from_tensor_slices``), even when aligned. DLPack hands
the buffer over without a copy, provided it is aligned to 64 bytes (TensorFlow aborts
the process on an unaligned one), so the arrays are allocated aligned.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tensorflow as tf

from loaders.dataset.images import read_index, sample_shapes
from loaders.dataset.layout import Split
from loaders.memory import MemoryProfile
from loaders.options import PipelineOptions

TF_ALIGNMENT = 64  # EIGEN_MAX_ALIGN_BYTES: what TensorFlow requires of a tensor's buffer


class TensorSlices:
    """Decode every sample into three preallocated uint8 arrays, then slice them."""

    name = "tensor_slices"
    maps_whole_dataset = True  # decoded arrays in memory

    def prepare(self, data: Split, cache_root: Path) -> None:
        """Nothing to convert: the decode happens when the dataset is built."""

    def memory_profile(self, data: Split, options: PipelineOptions) -> MemoryProfile:
        return MemoryProfile(
            split_copies=2,
            why="its decoded arrays, and a second, transient copy made while the iterator is "
            "built (peak RSS grows 1.87 bytes per byte of data at 256 px)",
        )

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        arrays = load_arrays(data, options.workers)
        if not tf.executing_eagerly():
            # Inside a tf.function the arrays become constants of the function's graph,
            # as they do in any user's code that builds this pipeline there: that graph
            # then carries the whole split (``loadbench prove-limit``'s "function" path).
            return tf.data.Dataset.from_tensor_slices(arrays)
        return tf.data.Dataset.from_tensor_slices(as_tensors(arrays))


def load_arrays(data: Split, workers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The split as (time1, time2, label) uint8 arrays, decoded in parallel threads.

    Pillow releases the GIL while decoding, so threads scale across cores.
    """
    time1, time2, label = (aligned_empty((data.pairs, *shape)) for shape in sample_shapes(data))
    arrays = (time1, time2, label)

    def fill(index: int) -> None:
        for array, part in zip(arrays, read_index(data, index), strict=True):
            array[index] = part

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(fill, range(data.pairs)):
            pass
    return arrays


def as_tensors(arrays: tuple[np.ndarray, ...]) -> tuple[tf.Tensor, ...]:
    """64-byte-aligned arrays as tensors sharing their memory (DLPack: no copy)."""
    return tuple(tf.experimental.dlpack.from_dlpack(a.__dlpack__()) for a in arrays)


def aligned_empty(shape: tuple[int, ...], alignment: int = TF_ALIGNMENT) -> np.ndarray:
    """An uninitialised uint8 array whose data starts on an ``alignment``-byte boundary."""
    size = int(np.prod(shape))
    buffer = np.empty(size + alignment, np.uint8)
    offset = -buffer.ctypes.data % alignment
    return buffer[offset : offset + size].reshape(shape)
