"""A strategy that lives outside the loadbench package, as a user's would.

It reads samples by index through ``tf.numpy_function``, a design none of the
built-ins uses, so the conformance suite checks a genuinely different reader.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from loadbench.loaders.dataset.images import read_index
from loadbench.loaders.pipeline import sample_signature
from loadbench.loaders.protocol import Strategy


class IndexedReader(Strategy):
    name = "indexed_reader"

    def prepare(self, data, cache_root: Path) -> None:
        pass

    def samples(self, data, options) -> tf.data.Dataset:
        signature = sample_signature(data)

        def read(index):
            parts = tf.numpy_function(
                lambda i: read_index(data, int(i)), [index], [s.dtype for s in signature]
            )
            return tuple(tf.ensure_shape(p, s.shape) for p, s in zip(parts, signature, strict=True))

        return tf.data.Dataset.range(data.pairs).map(read)


class NotAStrategy:
    name = "broken"
