"""Strategies whose every batch takes a known time to make: the truth of the busy share
(AU) and of how many accelerators a pipeline feeds."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from loaders.pipeline import sample_signature

# AU's truth with a prefetch buffer: the producer makes a batch every MAKE_S while the
# emulated step takes STEP_S, in parallel, so AU = STEP_S / max(STEP_S, MAKE_S).
MAKE_S = 0.03


class MakesEachBatchSlowly:
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


class MakesBatchesForSixAndAHalf(MakesEachBatchSlowly):
    """A batch every 100 / (0.9 x 6.5) ms: at a 100 ms step, 6 accelerators are kept at
    AU >= 90% (97.5%) and 7 are not (83.6%): the answer lies far from the line."""

    name = "makes_batches_for_six"
    make_s = 0.1 / (0.9 * 6.5)
