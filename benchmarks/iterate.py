"""Timing one strategy in this process: first-batch latency and steady-state rate.

The isolated harness (one child process per measurement) builds on this; on its own
it is what ``loadbench run`` uses to compare strategies quickly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from loaders import pipeline
from loaders.layout import DatasetSpec
from loaders.options import PipelineOptions
from loaders.protocol import BatchStrategy, Strategy

Consumer = Callable[[tf.Tensor, tf.Tensor, tf.Tensor], object]


@dataclass(frozen=True, kw_only=True)
class Timing:
    """One strategy's figures; epoch 1 is the warm-up and is excluded from the rate."""

    strategy: str
    prepare_s: float
    first_batch_s: float
    samples_per_s: float
    steady_samples: int
    epochs: int


def measure(
    strategy: Strategy | BatchStrategy,
    spec: DatasetSpec,
    options: PipelineOptions,
    cache_root: Path,
    epochs: int = 3,
    consume: Consumer | None = None,
) -> Timing:
    """Prepare, build and iterate ``epochs`` epochs; rate over epochs 2..N.

    ``consume`` receives each batch (the training step in train mode); by default the
    batch is only materialised, which is what tfds.benchmark measures.
    """
    if epochs < 2:
        raise ValueError("epochs must be >= 2: the first is the warm-up")
    start = time.perf_counter()
    strategy.prepare(spec, cache_root)
    prepared = time.perf_counter()
    ds = pipeline.build(strategy, spec, options, cache_root)
    first_batch_s = None
    steady_samples = 0
    steady_start = 0.0
    for epoch in range(epochs):
        if epoch == 1:
            steady_start = time.perf_counter()
        for (time1, time2), label in ds:
            if consume is not None:
                consume(time1, time2, label)
            if first_batch_s is None:
                first_batch_s = time.perf_counter() - prepared
            if epoch >= 1:
                steady_samples += int(label.shape[0])
    steady_s = time.perf_counter() - steady_start
    return Timing(
        strategy=strategy.name,
        prepare_s=prepared - start,
        first_batch_s=first_batch_s or 0.0,
        samples_per_s=steady_samples / steady_s if steady_s > 0 else 0.0,
        steady_samples=steady_samples,
        epochs=epochs,
    )
