"""This machine's ceilings: how fast it can hand out batches before any strategy's work.

Two reference pipelines, measured like strategies (each in its own child, on the same
split, iterating) so that a strategy's throughput can be read as a fraction of what the
machine allows:

- ``ceiling_decode``: each pair's three image files read (``tf.io.read_file``) and
  decoded in one parallel ``map`` (``options.parallelism`` calls, ``deterministic`` as
  asked), then batched. The decoders and their settings are the graph-native readers'
  (``loadbench.loaders.strategies.decoding``: ``decode_png``/``decode_jpeg``, one format per
  folder), without the mask's value check and scaling; then prefetched as every
  strategy's batches are (``options.prefetch``). Nothing else. The ceiling of a
  strategy that decodes PNG or JPEG as it reads.
- ``ceiling_copy``: pre-decoded uint8 samples held in memory (``HELD_BATCHES`` batches
  of them, cycled), each batch copied once into a fresh tensor by ``tf.gather`` of its
  rows, in a parallel ``map`` (``options.parallelism`` calls), prefetched as every
  strategy's batches are. One memory copy a batch, into memory TensorFlow allocates as
  every strategy's batch is, nothing else. (A
  ``from_generator`` yielding the held arrays' slices copies nothing: TensorFlow aliases
  64-byte-aligned arrays. Copying them in the generator first ran at 0.6x of numpy's
  ``copy()``: docs/CALIBRATION.md.) The ceiling of a strategy that reads samples
  already decoded (from a converted file, or from arrays in memory). Its record also
  carries ``reference_samples_per_s``: numpy copying the same batches once (``copyto``
  on as many threads, into buffers already touched) in the same process, the outside
  instrument it is checked against.

They are not among the strategies (``registry.CEILINGS``, not ``registry.BUILTIN``):
``loadbench run`` adds them to its runs, and a record's ``ceiling_fraction`` is its
throughput over the ceiling that applies to it (``applies_to``). Their batches stay
uint8 and skip the pipeline's last map: a fraction of 1 is out of reach, and what
matters is how close.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tensorflow as tf

from loadbench.loaders.dataset.layout import ROLES, Split
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.protocol import BatchStrategy, Capabilities
from loadbench.loaders.strategies import decoding
from loadbench.loaders.strategies.held import as_tensors, read_arrays
from loadbench.loaders.strategies.memmap import Memmap

DECODE = "ceiling_decode"  # the names are registry.CEILINGS' keys
COPY = "ceiling_copy"
# Batches ceiling_copy cycles through: more than the CPU's caches hold (docs/CALIBRATION.md).
HELD_BATCHES = 16
REFERENCE_S = 0.5  # how long numpy's copy of the held batches is timed, at least
REFERENCE_RING = 4  # scratch batches per thread of that copy


def applies_to(strategy: Capabilities) -> str:
    """The ceiling a strategy is measured against: decode for one that decodes image
    files as it reads (``decodes_while_reading = True``), copy for the others."""
    return DECODE if strategy.decodes_while_reading else COPY


class DecodeCeiling(BatchStrategy):
    """Read and decode each pair's three image files in parallel, then batch."""

    name = DECODE
    ceiling = True

    def __init__(self) -> None:
        self.formats: dict[str, str] | None = None

    def prepare(self, data: Split, cache_root: Path) -> None:
        """Nothing to convert: it reads the image files themselves (one format a folder)."""
        self.formats = decoding.folder_formats(data, self.name)

    def batches(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        assert self.formats is not None, "prepare() first"
        decode_sample = decoding.sample_decoder(data, self.formats, masks=False)

        def pair(time1: tf.Tensor, time2: tf.Tensor, label: tf.Tensor):
            *images, mask = decode_sample(
                *(tf.io.read_file(p) for p in (time1, time2, label)), time1
            )
            return tuple(images), mask

        columns = tuple([str(getattr(s, f)) for s in data.samples] for f in ROLES)
        ds = tf.data.Dataset.from_tensor_slices(columns)
        ds = ds.map(
            pair, num_parallel_calls=options.parallelism, deterministic=options.deterministic
        )
        return ds.batch(options.batch_size).prefetch(options.prefetch)


class CopyCeiling(BatchStrategy):
    """Cycle through batches of decoded samples held in memory, copying each out once."""

    name = COPY
    ceiling = True

    def __init__(self) -> None:
        self.held: tuple[np.ndarray, ...] = ()  # the batches' source, set by batches()
        self.batch_size = 0
        self.workers = 1
        self.raw = Memmap()  # the decoded rows, converted once and shared with memmap

    def prepare(self, data: Split, cache_root: Path) -> None:
        """The decoded rows its held batches are read from: ``memmap``'s conversion."""
        self.raw.prepare(data, cache_root)

    def batches(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        held = min(data.pairs, HELD_BATCHES * options.batch_size)
        self.held = read_arrays(self.raw.raw_path(), data, held)
        self.batch_size, self.workers = options.batch_size, options.workers
        tensors = as_tensors(self.held)  # no copy: the one copy is the gather's
        size = options.batch_size

        def copy(batch: tf.Tensor):
            start = batch * size
            rows = tf.range(start, tf.minimum(start + size, held))
            time1, time2, label = (tf.gather(t, rows) for t in tensors)  # a new tensor each
            return (time1, time2), label

        batches = tf.data.Dataset.range(len(self._batch_rows()))
        return batches.map(
            copy, num_parallel_calls=options.parallelism, deterministic=options.deterministic
        ).prefetch(options.prefetch)

    def _batch_rows(self) -> list[slice]:
        if not self.held:
            return []
        pairs = len(self.held[0])
        return [slice(s, s + self.batch_size) for s in range(0, pairs, self.batch_size)]

    def reference_samples_per_s(self, min_s: float = REFERENCE_S) -> float | None:
        """numpy copying each held batch once, cycled for at least ``min_s`` on as many
        threads as the ceiling's map may use (numpy releases the GIL while it copies):
        ``copyto`` into batch buffers allocated once, so into memory already touched, as
        TensorFlow's allocator hands out freed batches again. The same copies without
        tf.data: the instrument the ceiling is checked against."""
        rows = self._batch_rows()
        if not rows:
            return None
        ring = [
            tuple(np.empty((self.batch_size, *a.shape[1:]), np.uint8) for a in self.held)
            for _ in range(REFERENCE_RING * self.workers)
        ]

        def copy(slot: int, batch: slice) -> int:
            for out, array in zip(ring[slot % len(ring)], self.held, strict=True):
                part = array[batch]
                np.copyto(out[: len(part)], part)
            return len(part)

        samples, began, elapsed = 0, time.perf_counter(), 0.0
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            while elapsed < min_s:
                samples += sum(pool.map(copy, range(len(rows)), rows))
                elapsed = time.perf_counter() - began
        return samples / elapsed
