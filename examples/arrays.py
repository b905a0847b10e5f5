"""A pipeline of about 500 MB of generated arrays, without and with ``.cache()``: what
an in-memory cache costs, measured with ``loadbench profile`` (see the README).

2,000 samples of a 256x256x4 uint8 image (262,144 bytes) and a float32 label:
524 MB a pass. Each sample is made from its index (``stateless_uniform``), so nothing
is held until ``.cache()`` holds it.
"""

from __future__ import annotations

import tensorflow as tf

SAMPLES = 2000
SHAPE = (256, 256, 4)


def _sample(index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    seed = tf.stack([index, tf.constant(0, tf.int64)])
    image = tf.random.stateless_uniform(SHAPE, seed=seed, maxval=256, dtype=tf.int32)
    return tf.cast(image, tf.uint8), tf.cast(index % 2, tf.float32)


def arrays(samples: int = SAMPLES, batch: int = 32, cache: bool = False) -> tf.data.Dataset:
    """Batches of generated images and labels; ``cache`` keeps every sample in memory
    after the first pass."""
    ds = tf.data.Dataset.range(samples).map(_sample, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    return ds.batch(batch).prefetch(tf.data.AUTOTUNE)


def uncached() -> tf.data.Dataset:
    return arrays(cache=False)


def cached() -> tf.data.Dataset:
    return arrays(cache=True)
