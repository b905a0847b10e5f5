"""``memmap``: a one-time conversion to one raw uint8 file, read by ``numpy.memmap``.

Row ``i`` of the file is sample ``i``: time1, time2 and label bytes back to back. Reads
take a batch of consecutive rows at a time through the memory map, so only the pages
touched are read and the file is never loaded whole.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from loaders.dataset.converted import Conversion, check_size, convert
from loaders.dataset.images import read_index, sample_shapes
from loaders.dataset.layout import Split
from loaders.errors import StrategyError
from loaders.memory import MemoryProfile
from loaders.options import PipelineOptions
from loaders.pipeline import sample_signature

FORMAT_VERSION = 1
FILE_NAME = "samples.u8"


class Memmap:
    """Convert once to a raw file; read blocks of rows through ``numpy.memmap``."""

    name = "memmap"
    maps_whole_dataset = True  # the raw file is memory-mapped whole

    def __init__(self) -> None:
        self.conversion: Conversion | None = None

    def prepare(self, data: Split, cache_root: Path) -> None:
        self.conversion = convert(
            data, self.name, FORMAT_VERSION, cache_root, lambda d: write_raw(data, d / FILE_NAME)
        )

    def memory_profile(self, data: Split, options: PipelineOptions) -> MemoryProfile:
        blocks = 2 * options.workers + 1
        return MemoryProfile(
            mapped_split=True,
            staged_batches=2 * blocks,
            why=f"pages read stay mapped; {blocks} blocks of a batch in flight (the parallel "
            "read's running and finished calls, and the one being unbatched), each copied "
            "out of the map and then split",
        )

    def raw_path(self) -> Path:
        if self.conversion is None:
            raise StrategyError(f"{self.name}: used before prepare()")
        path = self.conversion.path(FILE_NAME)
        check_size(path, self.conversion.files[FILE_NAME])
        return path

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        rows = RowReader(self.raw_path(), data)
        block = options.batch_size
        signature = sample_signature(data, batched=True)

        def read(start: tf.Tensor):
            parts = tf.numpy_function(
                rows.read_block, [start, block], [s.dtype for s in signature], stateful=False
            )
            return tuple(tf.ensure_shape(p, s.shape) for p, s in zip(parts, signature, strict=True))

        starts = tf.data.Dataset.range(0, data.pairs, block)
        blocks = starts.map(
            read, num_parallel_calls=options.parallelism, deterministic=options.deterministic
        )
        return blocks.unbatch()


class RowReader:
    """Copies rows out of the memory-mapped raw file; opened lazily, once per process."""

    def __init__(self, path: Path, data: Split) -> None:
        self.path = path
        self.pairs = data.pairs
        self.shapes = sample_shapes(data)
        self.row_bytes = data.bytes_per_sample
        self._map: np.memmap | None = None

    def rows(self) -> np.memmap:
        if self._map is None:
            self._map = np.memmap(
                self.path, dtype=np.uint8, mode="r", shape=(self.pairs, self.row_bytes)
            )
        return self._map

    def read_block(self, start, count) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        start = int(start)
        block = np.array(self.rows()[start : start + int(count)])  # copy out of the page cache
        return split_rows(block, self.shapes)


def split_rows(block: np.ndarray, shapes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut (rows, bytes_per_sample) into batched time1, time2 and label arrays."""
    parts = []
    offset = 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(np.ascontiguousarray(block[:, offset : offset + size]).reshape(-1, *shape))
        offset += size
    time1, time2, label = parts
    return time1, time2, label


def write_raw(data: Split, path: Path) -> dict:
    """Write every sample as one row of ``bytes_per_sample`` bytes."""
    with open(path, "wb") as handle:
        for index in range(data.pairs):
            for part in read_index(data, index):
                handle.write(part.tobytes())
    return {"file": path.name, "row_bytes": data.bytes_per_sample}
