"""``tfrecord_png``: a one-time conversion to TFRecord shards of the images' encoded bytes
(the files' own PNG or JPEG bytes, not re-encoded), decoded as they are read: the layout
most TFRecord datasets have (what TensorFlow Datasets writes).

The shards are a quarter or less of the decoded ``tfrecord``'s bytes, and reading them
costs a decode per image, as reading the files does, without opening three files a
sample. Graph ops only, so the tf.data service can run it. Sharded and interleaved as
``tfrecord`` is, so the samples come in name order.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from loadbench.loaders.dataset.converted import Conversion, convert
from loadbench.loaders.dataset.layout import ROLES, Split
from loadbench.loaders.errors import DatasetError
from loadbench.loaders.memory import MemoryProfile
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.protocol import Strategy
from loadbench.loaders.strategies import decoding
from loadbench.loaders.strategies.tfrecord import (
    bytes_feature,
    interleave_records,
    shard_count,
    shard_paths,
    write_shards,
)

FORMAT_VERSION = 1
# Batch-sized uint8 buffers at the settled peak, beyond the shared pipeline's: encoded
# records in flight and decoded samples in the parallel map, with their threads'
# allocator slack. Calibrated on settled peaks (docs/CALIBRATION.md).
STAGED_BATCHES = 3.5
FEATURES = (*ROLES, "name")  # the name: errors say which sample a record holds
SPEC = {f: tf.io.FixedLenFeature([], tf.string) for f in FEATURES}


class TFRecordPNG(Strategy):
    """Convert once to shards of encoded images; read, parse and decode in parallel."""

    name = "tfrecord_png"
    decodes_while_reading = True  # measured against ceiling_decode

    def __init__(self) -> None:
        self.conversion: Conversion | None = None
        self.formats: dict[str, str] | None = None

    def prepare(self, data: Split, cache_root: Path) -> None:
        self.formats = decoding.folder_formats(data, self.name)
        encoded = sum(getattr(s, f).stat().st_size for s in data.samples for f in ROLES)
        count = shard_count(data, encoded)

        def example(index: int) -> tf.train.Example:
            sample = data.samples[index]
            feature = {f: bytes_feature(getattr(sample, f).read_bytes()) for f in ROLES}
            feature["name"] = bytes_feature(sample.name.encode())
            return tf.train.Example(features=tf.train.Features(feature=feature))

        self.conversion = convert(
            data,
            self.name,
            FORMAT_VERSION,
            cache_root,
            lambda d: {**write_shards(data, d, example, count), "formats": self.formats},
        )

    def memory_profile(self, data: Split, options: PipelineOptions) -> MemoryProfile:
        return MemoryProfile(
            staged_batches=STAGED_BATCHES,
            why="encoded records in flight, decoded samples in the parallel map, with their "
            "threads' allocator slack (calibrated on settled peaks, not derived)",
        )

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        paths = shard_paths(self.conversion, self.name)
        assert self.formats is not None  # set by prepare, as the conversion is
        decode_sample = decoding.sample_decoder(data, self.formats)

        def parse(record: tf.Tensor):
            parsed = tf.io.parse_single_example(record, SPEC)
            return decode_sample(*(parsed[f] for f in FEATURES))

        return interleave_records(paths, options).map(
            parse, num_parallel_calls=options.parallelism, deterministic=options.deterministic
        )

    def diagnose(self, data: Split, error: Exception) -> DatasetError | None:
        """After a read or decoding error: the shard and record index (and sample) that
        cannot be read or decoded, found by reading each record in turn."""
        if self.conversion is None or self.formats is None:
            return None
        if not isinstance(error, tf.errors.InvalidArgumentError | tf.errors.DataLossError):
            return None
        advice = (
            f"the conversion is damaged: delete {self.conversion.directory} and the next run "
            "converts the dataset again"
        )

        def records():
            for path in shard_paths(self.conversion, self.name):
                index = -1
                try:
                    for index, record in enumerate(tf.data.TFRecordDataset(str(path))):
                        parsed = tf.io.parse_single_example(record, SPEC)
                        name = parsed["name"].numpy().decode()
                        for folder in ROLES:
                            where = f"{path}: record {index} (sample {name!r}, {folder})"
                            yield where, folder, parsed[folder].numpy
                except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as exc:
                    raise DatasetError(
                        f"{path}: record {index + 1} cannot be read ({exc.message}); {advice}"
                    ) from exc

        try:
            return decoding.first_undecodable(records(), self.formats, advice)
        except DatasetError as exc:
            return exc
