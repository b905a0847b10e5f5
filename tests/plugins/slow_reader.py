"""A strategy whose every batch costs a known time: the input-bound share's truth."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from loadbench.loaders.pipeline import sample_signature
from loadbench.loaders.protocol import BatchStrategy

SLEEP_S = 0.03  # before each batch, in the consumer's thread when nothing runs ahead


class SleepsBeforeEachBatch(BatchStrategy):
    """Zero batches, each handed over SLEEP_S after it was asked for."""

    name = "sleeps_before_batch"

    def wait(self) -> None:
        time.sleep(SLEEP_S)

    def prepare(self, data, cache_root):
        """Nothing to convert."""

    def batches(self, data, options):
        height, width = data.image_size
        shapes = ((height, width, 3), (height, width, 3), (height, width, 1))

        def slow():
            for start in range(0, data.pairs, options.batch_size):
                rows = min(options.batch_size, data.pairs - start)
                self.wait()
                yield tuple(np.zeros((rows, *shape), np.uint8) for shape in shapes)

        return tf.data.Dataset.from_generator(
            slow, output_signature=sample_signature(data, batched=True)
        )


class SpinsBeforeEachBatch(SleepsBeforeEachBatch):
    """The same batches, each after SLEEP_S of the CPU's time spent spinning."""

    name = "spins_before_batch"

    def wait(self) -> None:
        began = time.thread_time()
        while time.thread_time() - began < SLEEP_S:
            pass
