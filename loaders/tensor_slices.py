"""``tensor_slices``: the whole split decoded into memory, fed by ``from_tensor_slices``.

The obvious pipeline, and the one that breaks first: the arrays are embedded in the
dataset graph (so it cannot serialize past 2 GiB) and the split must fit in RAM. Kept
honest here: one uint8 copy of the data, filled in place, converted to float per batch.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tensorflow as tf

from loaders.images import read_index, sample_shapes
from loaders.layout import DatasetSpec
from loaders.options import PipelineOptions


class TensorSlices:
    """Decode every sample into three preallocated uint8 arrays, then slice them."""

    name = "tensor_slices"

    def prepare(self, spec: DatasetSpec, cache_root: Path) -> None:
        """Nothing to convert: the decode happens when the dataset is built."""

    def samples(self, spec: DatasetSpec, options: PipelineOptions) -> tf.data.Dataset:
        arrays = load_arrays(spec, options.workers)
        # Aligned numpy buffers are wrapped, not copied, by the eager tensor conversion.
        return tf.data.Dataset.from_tensor_slices(arrays)


def load_arrays(spec: DatasetSpec, workers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The split as (time1, time2, label) uint8 arrays, decoded in parallel threads.

    Pillow releases the GIL while decoding, so threads scale across cores.
    """
    arrays = tuple(np.empty((spec.pairs, *shape), np.uint8) for shape in sample_shapes(spec))

    def fill(index: int) -> None:
        for array, part in zip(arrays, read_index(spec, index), strict=True):
            array[index] = part

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(fill, range(spec.pairs)):
            pass
    return arrays
