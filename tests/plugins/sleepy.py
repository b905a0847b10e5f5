"""Strategies whose every batch takes a known time to make: the truth of the busy share
(AU) and of how many accelerators a pipeline feeds."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from loadbench.loaders.pipeline import sample_signature
from loadbench.loaders.protocol import BatchStrategy

# AU's truth with a prefetch buffer: the producer makes a batch every MAKE_S while the
# emulated step takes STEP_S, in parallel, so AU = STEP_S / max(STEP_S, MAKE_S).
MAKE_S = 0.03


class MakesEachBatchSlowly(BatchStrategy):
    """Zero batches, one every MAKE_S seconds, from one producer thread (a generator)."""

    name = "makes_each_batch_slowly"
    make_s = MAKE_S

    def prepare(self, data, cache_root):
        """Nothing to convert."""

    def batches(self, data, options):
        height, width = data.image_size
        shapes = ((height, width, 3), (height, width, 3), (height, width, 1))
        make_s = self.make_s

        def slow():
            while True:  # endless: the search's trials take as many batches as they need
                time.sleep(make_s)
                yield tuple(np.zeros((options.batch_size, *s), np.uint8) for s in shapes)

        return tf.data.Dataset.from_generator(
            slow, output_signature=sample_signature(data, batched=True)
        )


class MakesBatchesForTwoAndAHalf(MakesEachBatchSlowly):
    """A batch every 100 / 2.5 = 40 ms: at a 100 ms step 2 accelerators are kept busy with
    10 ms a batch to spare (AU 100%) and 3 are not (83.3%); at 50 ms, 1 and not 2 (62.5%).
    The answer lies far from the 90% line on both sides, so a loaded machine's few ms of
    hand-over a batch cannot move it (CI once measured 6 of 6.5 at 89.3%)."""

    name = "makes_batches_for_two"
    make_s = 0.1 / 2.5
