"""Pipeline options applied by shared code, the same way for every strategy.

Per-sample strategies get cache, shuffle and batch here; batch strategies take their
order from ``epoch_order`` and their batch boundaries from ``batch_slices``. Every
strategy then gets the same last map and the same prefetch: batches leave as uint8 for
the training step to scale on its device (``normalize="device"``), or as float32 scaled
here, per batch, on the host (``normalize="host"``). Both sides scale with ``scale``.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.errors import OptionsError
from loadbench.loaders.options import PipelineOptions
from loadbench.loaders.protocol import BatchStrategy, Strategy


def build(
    strategy: Strategy | BatchStrategy,
    data: Split,
    options: PipelineOptions,
    cache_root: Path,
) -> tf.data.Dataset:
    """Batches ``((time1, time2), label)`` from a prepared ``strategy``: uint8, or float32
    scaled to [0, 1] where ``options.normalize`` is "host"."""
    if isinstance(strategy, Strategy):
        ds = strategy.samples(data, options)
        ds = _cache(ds, options, cache_root, strategy.name)
        if options.shuffle_buffer:
            ds = ds.shuffle(
                options.shuffle_buffer, seed=options.seed, reshuffle_each_iteration=True
            )
        ds = ds.batch(options.batch_size, drop_remainder=options.drop_remainder)
        parse = strategy.parse_batch(data)
        if parse is not None:  # batch, then parse: samples() gave undecoded records
            ds = _map(ds, parse, options)
    else:
        if options.cache != "none":
            raise OptionsError(
                f"cache={options.cache!r} with strategy {strategy.name!r}: it assembles its own "
                "batches outside tf.data, so tf.data's cache cannot sit before its shuffle; "
                "use cache='none'"
            )
        ds = strategy.batches(data, options)
    # "device": only the element's structure changes, no copy and no work for a pool; a
    # strategy that made floats itself (``yields_floats``) is left as it is either way.
    if options.normalize == "device" or strategy.yields_floats:
        ds = ds.map(as_model_inputs)
    else:
        ds = _map(ds, scale, options)
    if options.prefetch:
        ds = ds.prefetch(options.prefetch)
    tf_options = tf.data.Options()
    tf_options.deterministic = options.deterministic
    if not options.prefetch:
        # tf.data otherwise adds a prefetch of its own after a last synchronous map
        # (``inject_prefetch``, on by default): prefetch 0 means nothing runs ahead.
        tf_options.experimental_optimization.inject_prefetch = False
    if options.parallelism == 1:  # nor would tf.data make the plain map parallel
        tf_options.experimental_optimization.map_parallelization = False
    return ds.with_options(tf_options)


def _map(ds: tf.data.Dataset, function, options: PipelineOptions) -> tf.data.Dataset:
    """A per-batch map. Parallelism 1 is a plain map: a parallel map with one call would
    still compute the next batch ahead of the consumer, and "nothing runs ahead" must be
    expressible."""
    if options.parallelism == 1:
        return ds.map(function)
    return ds.map(
        function, num_parallel_calls=options.parallelism, deterministic=options.deterministic
    )


def as_model_inputs(time1: tf.Tensor, time2: tf.Tensor, label: tf.Tensor):
    """The batch in the model's structure, ``((time1, time2), label)``, values untouched."""
    return (time1, time2), label


def scale(time1: tf.Tensor, time2: tf.Tensor, label: tf.Tensor):
    """uint8 batch to the model's inputs: images scaled to [0, 1], label as float {0, 1}.

    The one normalisation, wherever it runs: the host's last map, or the training step
    on its device. Done per batch, never up front: a float32 copy of the whole split is
    4x its bytes.
    """
    scale = tf.constant(1 / 255, tf.float32)
    return (
        (tf.cast(time1, tf.float32) * scale, tf.cast(time2, tf.float32) * scale),
        tf.cast(label, tf.float32),
    )


def _cache(ds: tf.data.Dataset, options: PipelineOptions, cache_root: Path, name: str):
    if options.cache == "memory":
        return ds.cache()
    if options.cache == "file":
        Path(cache_root).mkdir(parents=True, exist_ok=True)
        # A fresh directory per process: tf.data refuses a cache file that another
        # (possibly crashed) iterator left locked, and a stale one would be read as valid.
        directory = tempfile.mkdtemp(prefix=f"tfdata-cache-{name}-", dir=cache_root)
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        return ds.cache(str(Path(directory) / "cache"))
    return ds


def epoch_order(pairs: int, options: PipelineOptions, epoch: int) -> np.ndarray:
    """Sample indices of one epoch: in order, or shuffled the way a tf.data buffer does.

    A buffer of ``shuffle_buffer`` samples is filled in order; each step emits a random
    slot and refills it with the next sample, so a small buffer only shuffles locally,
    exactly the memory/randomness trade tf.data's ``shuffle`` makes.
    """
    if not options.shuffle_buffer:
        return np.arange(pairs)
    rng = np.random.default_rng([options.seed, epoch])
    buffer = list(range(min(options.shuffle_buffer, pairs)))
    upcoming = len(buffer)
    order = np.empty(pairs, dtype=np.int64)
    for position in range(pairs):
        slot = int(rng.integers(len(buffer)))
        order[position] = buffer[slot]
        if upcoming < pairs:
            buffer[slot] = upcoming
            upcoming += 1
        else:
            buffer[slot] = buffer[-1]
            buffer.pop()
    return order


def batch_slices(pairs: int, options: PipelineOptions) -> list[slice]:
    """Positions in the epoch order that make up each batch (last one may be partial)."""
    size = options.batch_size
    stop = pairs - pairs % size if options.drop_remainder else pairs
    return [slice(start, min(start + size, stop)) for start in range(0, stop, size)]


def sample_signature(data: Split, batched: bool = False) -> tuple[tf.TensorSpec, ...]:
    """TensorSpecs of uint8 ``(time1, time2, label)``; with a leading None when batched."""
    height, width = data.image_size
    lead = (None,) if batched else ()
    return (
        tf.TensorSpec((*lead, height, width, 3), tf.uint8),
        tf.TensorSpec((*lead, height, width, 3), tf.uint8),
        tf.TensorSpec((*lead, height, width, 1), tf.uint8),
    )
