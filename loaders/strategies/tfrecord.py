"""``tfrecord``: a one-time conversion to sharded TFRecord files, read back in parallel.

Sample ``i`` is written to shard ``i % shards`` so that an interleave over all shards
with ``block_length=1`` yields the samples in name order while still reading every shard
in parallel. Each record holds the decoded uint8 bytes, so reading back is parse plus
``decode_raw``: no PNG decoder in the loop, and values identical to every other strategy.
"""

from __future__ import annotations

import math
from pathlib import Path

import tensorflow as tf

from loaders.dataset.converted import Conversion, check_size, convert
from loaders.dataset.images import read_index, sample_shapes
from loaders.dataset.layout import Split
from loaders.errors import StrategyError
from loaders.memory import MemoryProfile
from loaders.options import PipelineOptions

FORMAT_VERSION = 1
SHARD_TARGET_BYTES = 128 * 2**20  # large sequential reads, few open files
# Batch-sized uint8 buffers the reader holds: calibrated (docs/CALIBRATION.md).
STAGED_BATCHES = 6
MIN_SHARDS = 4  # enough shards for the interleave to read on every core
MAX_SHARDS = 256
FEATURES = ("time1", "time2", "label")


def shard_count(data: Split) -> int:
    wanted = max(MIN_SHARDS, math.ceil(data.total_bytes / SHARD_TARGET_BYTES))
    return max(1, min(wanted, MAX_SHARDS, data.pairs))


class TFRecord:
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
        if self.conversion is None:
            raise StrategyError("tfrecord: samples() called before prepare()")
        shards = self.conversion.info["shards"]
        paths = [self.conversion.path(name) for name in shards]
        for path in paths:
            check_size(path, self.conversion.files[path.name])
        shapes = sample_shapes(data)

        def parse(record: tf.Tensor):
            parsed = tf.io.parse_single_example(
                record, {f: tf.io.FixedLenFeature([], tf.string) for f in FEATURES}
            )
            return tuple(
                tf.reshape(tf.io.decode_raw(parsed[f], tf.uint8), shape)
                for f, shape in zip(FEATURES, shapes, strict=True)
            )

        files = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
        records = files.interleave(
            tf.data.TFRecordDataset,
            cycle_length=len(paths),
            block_length=1,
            num_parallel_calls=options.parallelism,
            deterministic=options.deterministic,
        )
        return records.map(
            parse, num_parallel_calls=options.parallelism, deterministic=options.deterministic
        )


def write_shards(data: Split, directory: Path) -> dict:
    """Write every sample into ``shard_count`` TFRecord files; return the shard names."""
    count = shard_count(data)
    names = [f"{data.split}-{k:05d}-of-{count:05d}.tfrecord" for k in range(count)]
    writers = [tf.io.TFRecordWriter(str(directory / n)) for n in names]
    try:
        for index in range(data.pairs):
            time1, time2, label = read_index(data, index)
            example = tf.train.Example(
                features=tf.train.Features(
                    feature={
                        f: tf.train.Feature(bytes_list=tf.train.BytesList(value=[a.tobytes()]))
                        for f, a in zip(FEATURES, (time1, time2, label), strict=True)
                    }
                )
            )
            writers[index % count].write(example.SerializeToString())
    finally:
        for writer in writers:
            writer.close()
    return {"shards": names}
