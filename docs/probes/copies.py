"""What one batch copy costs here, each way (docs/CALIBRATION.md, ``ceiling_copy``): 512
held pairs of 256x256 uint8, batch 32, 3 s each, in one process.

    python docs/probes/copies.py
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from loadbench.loaders.strategies.held import aligned_empty

PAIRS, BATCH, SECONDS = 512, 32, 3.0
CHANNELS = (3, 3, 1)


def numpy_rate(copy) -> float:
    pairs, began = 0, time.perf_counter()
    while time.perf_counter() - began < SECONDS:
        for start in range(0, PAIRS, BATCH):
            copy(start)
            pairs += BATCH
    return pairs / (time.perf_counter() - began)


def dataset_rate(ds: tf.data.Dataset) -> float:
    batches = iter(ds.repeat())
    for _ in range(20):
        next(batches)
    pairs, began = 0, time.perf_counter()
    while time.perf_counter() - began < SECONDS:
        pairs += int(next(batches)[-1].shape[0])
    return pairs / (time.perf_counter() - began)


def main() -> None:
    held = [aligned_empty((PAIRS, 256, 256, c)) for c in CHANNELS]
    rng = np.random.default_rng(0)
    for array in held:
        array[:] = rng.integers(0, 256, array.shape, np.uint8)
    ring = [[np.empty((BATCH, *a.shape[1:]), np.uint8) for a in held] for _ in range(4)]
    signature = tuple(tf.TensorSpec((None, 256, 256, c), tf.uint8) for c in CHANNELS)
    tensors = [tf.experimental.dlpack.from_dlpack(a.__dlpack__()) for a in held]

    def aliased():
        for start in range(0, PAIRS, BATCH):
            yield tuple(a[start : start + BATCH] for a in held)

    def copied():
        for start in range(0, PAIRS, BATCH):
            out = []
            for array in held:
                fresh = aligned_empty((BATCH, *array.shape[1:]))
                np.copyto(fresh, array[start : start + BATCH])
                out.append(fresh)
            yield tuple(out)

    def gather(batch):
        rows = tf.range(batch * BATCH, batch * BATCH + BATCH)
        return tuple(tf.gather(t, rows) for t in tensors)

    def reuse(start):
        for out, array in zip(ring[start // BATCH % 4], held, strict=True):
            np.copyto(out, array[start : start + BATCH])

    print(
        "numpy copy() of each batch       ",
        round(numpy_rate(lambda s: [a[s : s + BATCH].copy() for a in held])),
    )
    print("numpy copyto, reused buffers     ", round(numpy_rate(reuse)))
    print(
        "generator of aligned slices      ",
        round(dataset_rate(tf.data.Dataset.from_generator(aliased, output_signature=signature))),
    )
    print(
        "generator copying first          ",
        round(dataset_rate(tf.data.Dataset.from_generator(copied, output_signature=signature))),
    )
    print(
        "tf.gather map, parallel          ",
        round(
            dataset_rate(tf.data.Dataset.range(PAIRS // BATCH).map(gather, num_parallel_calls=-1))
        ),
    )


if __name__ == "__main__":
    main()
