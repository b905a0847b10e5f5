"""``files``: the image files' paths, then ``read_file`` and ``decode_png``/``decode_jpeg``
in a parallel map: the pipeline most TensorFlow users write for images (the "load
images" tutorial's, what ``keras.utils.image_dataset_from_directory`` does).

Graph ops only, from the paths to uint8 pixels, so the tf.data service can run it in
other processes; nothing is converted first. The decoders and their settings are the
ones every graph-native reader shares (``loadbench.loaders.strategies.decoding``).
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from loadbench.loaders.dataset.layout import ROLES, Split
from loadbench.loaders.errors import DatasetError, StrategyError
from loadbench.loaders.memory import MemoryProfile
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.protocol import Strategy
from loadbench.loaders.strategies import decoding


class Files(Strategy):
    """Read and decode each sample's three files in a parallel ``map``."""

    name = "files"
    decodes_while_reading = True  # measured against ceiling_decode

    def __init__(self) -> None:
        self.formats: dict[str, str] | None = None

    def prepare(self, data: Split, cache_root: Path) -> None:
        """Nothing to convert; the folders' formats are checked (one per folder)."""
        self.formats = decoding.folder_formats(data, self.name)

    def memory_profile(self, data: Split, options: PipelineOptions) -> MemoryProfile:
        return MemoryProfile(why="a sample decoded per parallel call: nothing beyond the pipeline")

    def samples(self, data: Split, options: PipelineOptions) -> tf.data.Dataset:
        if self.formats is None:
            raise StrategyError(f"{self.name}: samples() called before prepare()")
        decode_sample = decoding.sample_decoder(data, self.formats)

        def read(time1: tf.Tensor, time2: tf.Tensor, label: tf.Tensor, name: tf.Tensor):
            encoded = [tf.io.read_file(path) for path in (time1, time2, label)]
            return decode_sample(*encoded, name)

        columns = [[str(getattr(s, f)) for s in data.samples] for f in ROLES]
        paths = tf.data.Dataset.from_tensor_slices((*columns, list(data.names)))
        return paths.map(
            read, num_parallel_calls=options.parallelism, deterministic=options.deterministic
        )

    def diagnose(self, data: Split, error: Exception) -> DatasetError | None:
        """After a decoding error (TensorFlow's names no file): the first file that does
        not decode as its folder's format, found by decoding each in turn."""
        if self.formats is None or not isinstance(error, tf.errors.InvalidArgumentError):
            return None
        return decoding.first_undecodable(
            (
                (str(getattr(s, f)), f, getattr(s, f).read_bytes)
                for s in data.samples
                for f in ROLES
            ),
            self.formats,
            "replace or remove the file ('loadbench data check' names unreadable headers)",
        )
