"""``tfrecord``: a one-time conversion to sharded TFRecord files, read back in parallel.

Sample ``i`` is written to shard ``i % shards`` so that an interleave over all shards
with ``block_length=1`` yields the samples in name order while still reading every shard
in parallel. Each record holds the decoded uint8 bytes, so reading back is parse plus
``decode_raw``: no PNG decoder in the loop, and values identical to every other strategy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from loadbench.loaders.dataset.converted import Conversion, check_size, convert
from loadbench.loaders.dataset.images import read_index, sample_shapes
from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.errors import StrategyError
from loadbench.loaders.memory import MemoryProfile
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.protocol import Strategy

FORMAT_VERSION = 1
SHARD_TARGET_BYTES = 128 * 2**20  # large sequential reads, few open files
# Batch-sized uint8 buffers the reader holds: calibrated (docs/CALIBRATION.md).
STAGED_BATCHES = 10
MIN_SHARDS = 4  # enough shards for the interleave to read on every core
MAX_SHARDS = 256
FEATURES = ("time1", "time2", "label")


def shard_count(data: Split, total_bytes: int | None = None) -> int:
    """Shards of about ``SHARD_TARGET_BYTES`` for ``total_bytes`` (default: the decoded
    split's), at least ``MIN_SHARDS`` and one sample each."""
    wanted = max(MIN_SHARDS, math.ceil((total_bytes or data.total_bytes) / SHARD_TARGET_BYTES))
    return max(1, min(wanted, MAX_SHARDS, data.pairs))


class TFRecord(Strategy):
    """Convert once to TFRecord shards; read them with parallel interleave and parsing."""

    name = "tfrecord"

    def __init__(self) -> None:
        self.conversion: Conversion | None = None

    def prepare(self, data: Split, cache_root: Path) -> None:
        self.conversion = convert(
            data, self.name, FORMAT_VERSION, cache_root, lambda d: write_shards(data, d)
        )

    def memory_profile(self, data: Split, options: PipelineOptions) -> MemoryProfile:
        return MemoryProfile(
            staged_batches=STAGED_BATCHES,
            why="serialized and parsed samples in flight in the parallel interleave and "
            "parse, with their threads' allocator slack (calibrated, not derived)",
        )

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        """The shards' serialized records, in name order: ``parse_batch`` parses a whole
        batch of them at once."""
        return interleave_records(shard_paths(self.conversion, self.name), options)

    def parse_batch(self, data: Split) -> Callable[[tf.Tensor], tuple[tf.Tensor, ...]]:
        """Batch, then parse: one ``parse_example`` and one ``decode_raw`` a feature per
        batch of records, the TensorFlow guide's vectorised map (docs/CALIBRATION.md:
        what it bought)."""
        shapes = sample_shapes(data)
        spec = {f: tf.io.FixedLenFeature([], tf.string) for f in FEATURES}

        def parse(records: tf.Tensor) -> tuple[tf.Tensor, ...]:
            parsed = tf.io.parse_example(records, spec)
            return tuple(
                tf.reshape(tf.io.decode_raw(parsed[f], tf.uint8), (-1, *shape))
                for f, shape in zip(FEATURES, shapes, strict=True)
            )

        return parse


def shard_paths(conversion: Conversion | None, strategy: str) -> list[Path]:
    """The converted shards, each checked against the size its manifest recorded."""
    if conversion is None:
        raise StrategyError(f"{strategy}: samples() called before prepare()")
    paths = [conversion.path(name) for name in conversion.info["shards"]]
    for path in paths:
        check_size(path, conversion.files[path.name])
    return paths


def interleave_records(paths: list[Path], options: PipelineOptions) -> tf.data.Dataset:
    """The shards' records in sample order (sample ``i`` is in shard ``i % shards``): an
    interleave over every shard, one record from each in turn, read in parallel."""
    files = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
    return files.interleave(
        tf.data.TFRecordDataset,
        cycle_length=len(paths),
        block_length=1,
        num_parallel_calls=options.parallelism,
        deterministic=options.deterministic,
    )


def bytes_feature(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def write_shards(
    data: Split,
    directory: Path,
    example: Callable[[int], tf.train.Example] | None = None,
    count: int | None = None,
) -> dict:
    """Write ``example(i)`` of every sample (default: its decoded uint8 bytes) into
    ``count`` TFRecord files (default: ``shard_count``); return the shard names."""
    count = count or shard_count(data)
    make = example or (lambda index: decoded_example(data, index))
    names = [f"{data.split}-{k:05d}-of-{count:05d}.tfrecord" for k in range(count)]
    writers = [tf.io.TFRecordWriter(str(directory / n)) for n in names]
    try:
        for index in range(data.pairs):
            writers[index % count].write(make(index).SerializeToString())
    finally:
        for writer in writers:
            writer.close()
    return {"shards": names}


def decoded_example(data: Split, index: int) -> tf.train.Example:
    arrays = read_index(data, index)
    return tf.train.Example(
        features=tf.train.Features(
            feature={f: bytes_feature(a.tobytes()) for f, a in zip(FEATURES, arrays, strict=True)}
        )
    )
