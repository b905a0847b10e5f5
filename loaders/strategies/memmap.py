"""``memmap``: a one-time conversion to one raw uint8 file, read by ``numpy.memmap``.

Row ``i`` of the file is sample ``i``: time1, time2 and label bytes back to back. The
pipeline batches row indices; each batch's rows are then copied once, straight out of
the memory map into the three batched arrays TensorFlow takes as they are (batch, then
read), so only the pages touched are read and the file is never loaded whole.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from loadbench.loaders.dataset.converted import Conversion, check_size, convert
from loadbench.loaders.dataset.images import read_index, sample_shapes
from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.errors import StrategyError
from loadbench.loaders.memory import MemoryProfile
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.pipeline import sample_signature
from loadbench.loaders.protocol import Strategy
from loadbench.loaders.strategies.held import aligned_empty

FORMAT_VERSION = 1
FILE_NAME = "samples.u8"


class Memmap(Strategy):
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
        return MemoryProfile(
            mapped_split=True,
            why="pages read stay mapped; each batch is copied once out of the map by the "
            "pipeline's parallel batch map, nothing held besides",
        )

    def raw_path(self) -> Path:
        if self.conversion is None:
            raise StrategyError(f"{self.name}: used before prepare()")
        path = self.conversion.path(FILE_NAME)
        check_size(path, self.conversion.files[FILE_NAME])
        return path

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        """Row indices: ``parse_batch`` copies a whole batch of rows out of the map at
        once (the shared pipeline shuffles and batches the indices, not the data)."""
        return tf.data.Dataset.range(data.pairs)

    def parse_batch(self, data: Split) -> Callable[[tf.Tensor], tuple[tf.Tensor, ...]]:
        """Batch, then read: one copy of the batch's rows out of the memory map (a slice
        where they are consecutive, else a gather), then one split into the three
        images; the batch is never cut into samples and put together again."""
        rows, signature = RowReader(self.raw_path(), data), sample_signature(data, batched=True)

        def read(indices: tf.Tensor) -> tuple[tf.Tensor, ...]:
            parts = tf.numpy_function(
                rows.read_rows, [indices], [s.dtype for s in signature], stateful=False
            )
            return tuple(tf.ensure_shape(p, s.shape) for p, s in zip(parts, signature, strict=True))

        return read


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

    def read_rows(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows at ``indices`` as batched time1, time2 and label: each image's bytes
        copied once, straight out of the page cache into a 64-byte-aligned array that
        TensorFlow takes without copying again (an unaligned one it would copy)."""
        first, count = int(indices[0]), len(indices)
        consecutive = int(indices[-1]) == first + count - 1 and bool((np.diff(indices) == 1).all())
        mapped, parts, offset = self.rows(), [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            columns = mapped[:, offset : offset + size]  # a view: nothing read yet
            out = aligned_empty((count, *shape))
            if consecutive:
                np.copyto(out.reshape(count, size), columns[first : first + count])
            else:  # a shuffled batch: its rows gathered in its order
                np.take(columns, indices, axis=0, out=out.reshape(count, size))
            parts.append(out)
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
