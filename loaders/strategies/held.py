"""Decoded uint8 arrays that TensorFlow takes without a copy, and the split read whole.

``tensor_slices`` and ``ceiling_copy`` hold decoded samples in memory. They read them
from ``memmap``'s one-time conversion (one raw row a sample: time1, time2 and label bytes
back to back) rather than decoding every image file again in each run: decoding the
built-in 1,000 pairs took 3.6-4.7 s of every such run, reading the rows back 0.1-0.5 s
(up to 2.3 s where this VM first touches the fresh memory), and the arrays, their bytes
and everything measured after them are the same.
The conversion is not measured, as no strategy's is.

TensorFlow 2.21 copies a numpy array it converts to a tensor (measured: a 197 MB array
grew the process by 400 MB in ``from_tensor_slices``), even when aligned. DLPack hands
the buffer over without a copy, provided it is aligned to 64 bytes (TensorFlow aborts
the process on an unaligned one), so the arrays are allocated aligned.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from loadbench.loaders.dataset.images import sample_shapes
from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.errors import StrategyError

TF_ALIGNMENT = 64  # EIGEN_MAX_ALIGN_BYTES: what TensorFlow requires of a tensor's buffer


def aligned_empty(shape: tuple[int, ...], alignment: int = TF_ALIGNMENT) -> np.ndarray:
    """An uninitialised uint8 array whose data starts on an ``alignment``-byte boundary."""
    size = int(np.prod(shape))
    buffer = np.empty(size + alignment, np.uint8)
    offset = -buffer.ctypes.data % alignment
    return buffer[offset : offset + size].reshape(shape)


def as_tensors(arrays: tuple[np.ndarray, ...]) -> tuple[tf.Tensor, ...]:
    """64-byte-aligned arrays as tensors sharing their memory (DLPack: no copy)."""
    return tuple(tf.experimental.dlpack.from_dlpack(a.__dlpack__()) for a in arrays)


def read_arrays(raw: Path, data: Split, pairs: int | None = None) -> tuple[np.ndarray, ...]:
    """The first ``pairs`` samples (default: all) of the raw row file ``raw`` as aligned
    (time1, time2, label) uint8 arrays: each row read straight into its three arrays'
    rows (``preadv``), through the page cache and no other buffer; the file is never
    mapped, so its pages are not counted in the process's memory."""
    count = data.pairs if pairs is None else pairs
    arrays = tuple(aligned_empty((count, *shape)) for shape in sample_shapes(data))
    row_bytes = data.bytes_per_sample
    descriptor = os.open(raw, os.O_RDONLY)
    try:
        for index in range(count):
            rows = [memoryview(array[index]).cast("B") for array in arrays]
            got = os.preadv(descriptor, rows, index * row_bytes)
            if got != row_bytes:
                raise StrategyError(
                    f"{raw}: row {index} is {got} bytes, expected {row_bytes}; delete the "
                    f"folder {raw.parent} to convert the split again"
                )
    finally:
        os.close(descriptor)
    return arrays
