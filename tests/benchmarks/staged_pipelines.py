"""Pipelines of known cost for ``loadbench diagnose`` and ``tune``: a stage that sleeps a
known time per element (in Python, holding no core) and a shuffle buffer of known size.

``napping``: 256 KB elements made from their index (fast), a shuffle buffer of
``buffer`` of them (``buffer`` x 262,144 bytes held), then a map that sleeps ``nap_s``
per element (at most 1 / ``nap_s`` elements a second, whatever the cores), batches of
``batch``. ``parallel`` False makes the first map a plain one (no buffer of its own
beside the shuffle's); ``parallel_naps`` runs that many naps at once (1: a plain map);
``cache`` holds every napped element (256 KB each, the split never ends: it only grows).
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

SIDE = 256
ELEMENT_BYTES = SIDE * SIDE * 4


def _made(index: tf.Tensor) -> tf.Tensor:
    return tf.fill([SIDE, SIDE, 4], tf.cast(index % 251, tf.uint8))


def _nap_for(seconds: float):
    def nap(element: np.ndarray) -> np.ndarray:
        time.sleep(seconds)
        return element

    return nap


def napping(
    nap_s: float = 0.004,
    buffer: int = 64,
    batch: int = 16,
    parallel: bool = True,
    parallel_naps: int = 1,
    cache: bool = False,
) -> tf.data.Dataset:
    nap = _nap_for(nap_s)

    def sleepy(element: tf.Tensor) -> tf.Tensor:
        slept = tf.numpy_function(nap, [element], tf.uint8)
        return tf.ensure_shape(slept, [SIDE, SIDE, 4])

    ds = tf.data.Dataset.range(10_000_000)
    ds = ds.map(_made, num_parallel_calls=tf.data.AUTOTUNE) if parallel else ds.map(_made)
    ds = ds.shuffle(buffer, seed=0)
    ds = ds.map(sleepy) if parallel_naps == 1 else ds.map(sleepy, num_parallel_calls=parallel_naps)
    if cache:
        ds = ds.cache()
    return ds.batch(batch).prefetch(2)
