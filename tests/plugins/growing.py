"""Strategies whose memory grows by a known amount a batch, for the settling tests."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from loadbench.loaders.pipeline import sample_signature
from loadbench.loaders.protocol import BatchStrategy

CHUNK_BYTES = 30_000_000  # held per batch while climbing, every page written
CLIMB_BATCHES = 10
PERIOD_S = 0.05  # between batches


class ClimbsThenHolds(BatchStrategy):
    """Holds CHUNK_BYTES more with each of its first CLIMB_BATCHES batches, then no more:
    its plateau is CLIMB_BATCHES x CHUNK_BYTES above the baseline."""

    name = "climbs_then_holds"
    climb = CLIMB_BATCHES
    chunk = CHUNK_BYTES

    def batches(self, data, options):
        height, width = data.image_size
        shapes = ((height, width, 3), (height, width, 3), (height, width, 1))
        held: list[np.ndarray] = []

        def grow():
            while True:
                if len(held) < self.climb:
                    held.append(np.ones(self.chunk, np.uint8))
                time.sleep(PERIOD_S)
                yield tuple(np.zeros((options.batch_size, *s), np.uint8) for s in shapes)

        return tf.data.Dataset.from_generator(
            grow, output_signature=sample_signature(data, batched=True)
        )


class NeverStops(ClimbsThenHolds):
    """Holds 2 MB more with every batch, for as long as it is read: 40 MB a second."""

    name = "never_stops"
    climb = 10**9
    chunk = 2_000_000
