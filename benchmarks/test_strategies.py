"""pytest-benchmark: one epoch of each strategy, iterating without the model."""

from __future__ import annotations

import pytest

from loaders import pipeline, registry
from loaders.options import PipelineOptions


@pytest.mark.parametrize("name", registry.names())
def test_iterate_one_epoch(benchmark, name, bench_spec, bench_cache):
    strategy = registry.create(name)
    strategy.prepare(bench_spec, bench_cache)
    ds = pipeline.build(strategy, bench_spec, PipelineOptions(batch_size=32), bench_cache)

    def epoch() -> int:
        return sum(int(label.shape[0]) for _, label in ds)

    epoch()  # warm-up: tensor_slices decodes here, autotuning settles
    samples = benchmark.pedantic(epoch, rounds=3, iterations=1)
    assert samples == bench_spec.pairs
    benchmark.extra_info.update(
        strategy=name,
        pairs=bench_spec.pairs,
        image_size=list(bench_spec.image_size),
        samples_per_s=bench_spec.pairs / benchmark.stats.stats.median,
    )
