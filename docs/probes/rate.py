"""Pairs/s of strategies (or ceilings) in this one process: ``pipeline.build`` with the
default options on the built-in 1,000 pairs of 256x256, 5 batches of warm-up, then 4 s.

    python docs/probes/rate.py ceiling_copy tfrecord memmap tfrecord ceiling_copy

One process for all, in the order given (repeat a name to see the drift): a probe for
tuning a strategy, not a measurement of record (``loadbench run`` isolates each run).
Needs the built-in dataset made (``loadbench run`` makes it on first use).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from loadbench.loaders import pipeline, registry
from loadbench.loaders.dataset.converted import default_cache_root
from loadbench.loaders.dataset.layout import describe
from loadbench.loaders.options import PipelineOptions

SECONDS = 4.0
WARMUP = 5


def main(names: list[str]) -> None:
    cache = default_cache_root()
    data = describe(cache / "datasets" / "synthetic-1000x256-seed0", "train")
    for name in names:
        strategy = registry.create(name)
        strategy.prepare(data, cache)
        options = PipelineOptions()
        if strategy.ceiling:
            ds = strategy.batches(data, options)  # type: ignore[union-attr]
        else:
            ds = pipeline.build(strategy, data, options, cache)
        batches = iter(ds.repeat())
        for _ in range(WARMUP):
            next(batches)
        pairs, began = 0, time.perf_counter()
        while time.perf_counter() - began < SECONDS:
            _, label = next(batches)
            pairs += int(label.shape[0])
        print(f"{name:16s} {pairs / (time.perf_counter() - began):9.0f} pairs/s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
