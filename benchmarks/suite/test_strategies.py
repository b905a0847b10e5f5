"""pytest-benchmark: every registered strategy, in both modes, each in its own child.

``pytest benchmarks/ --benchmark-only --benchmark-json out.json`` runs them; each
benchmark's rounds are seconds per batch and its ``extra_info`` is the loadbench record.
"""

from __future__ import annotations

import pytest

from loadbench.harness.spec import MODES
from loadbench.loaders import pipeline, registry
from loadbench.loaders.options import PipelineOptions

MEMRAY_BATCH = 8
# A streaming pipeline holds a few batches in flight: parallel reads, AUTOTUNE prefetch.
BATCHES_IN_FLIGHT = 8
RUNTIME_ALLOWANCE_BYTES = 32 * 2**20  # TensorFlow's own per-iterator allocations
EPOCH_OPTIONS = PipelineOptions(batch_size=MEMRAY_BATCH)  # uint8 batches, for the device


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", registry.names())
def test_strategy(isolated, name, mode):
    record = isolated(name, mode)
    assert record.status == "ok", record.error
    assert record.throughput.samples_per_s > 0 and record.memory.peak_rss_bytes is not None
    assert record.graph.dataset_graph_bytes > 0
    real_step = mode == "train" and record.training.accelerator_source == "real"
    assert (record.graph.train_graph_bytes is not None) == real_step
    assert (record.training.accelerator_busy_share is not None) == (mode == "train")


def streaming_names() -> list[str]:
    """Strategies whose whole split is not in their address space while reading."""
    return [name for name in registry.names() if not registry.create(name).maps_whole_dataset]


def batch_bytes(data, options: PipelineOptions) -> int:
    """A batch as the pipeline hands it over: uint8, or float32 normalized on the host."""
    return data.bytes_per_sample * (4 if options.normalize == "host" else 1) * options.batch_size


@pytest.fixture
def prepared(name, bench_data, bench_cache):
    """The strategy with its conversion done before memray starts tracking the test."""
    strategy = registry.create(name)
    strategy.prepare(bench_data, bench_cache)
    return strategy


@pytest.fixture
def streaming_bound(request, bench_data) -> int:
    """Put a pytest-memray ``limit_memory`` on the test: a few batches, not the split."""
    bound = BATCHES_IN_FLIGHT * batch_bytes(bench_data, EPOCH_OPTIONS)
    bound += RUNTIME_ALLOWANCE_BYTES
    if bound >= bench_data.total_bytes * 0.75:
        pytest.skip(
            f"a streaming bound of {bound / 1e6:.0f} MB says nothing next to a "
            f"{bench_data.total_bytes / 1e6:.0f} MB dataset: raise LOADBENCH_BENCH_PAIRS"
        )
    request.node.add_marker(pytest.mark.limit_memory(f"{bound / 2**20:.1f} MB"))
    return bound


@pytest.mark.parametrize("name", streaming_names())
def test_streaming_epoch_stays_within_memray_bound(
    benchmark, name, prepared, bench_data, bench_cache, streaming_bound
):
    """One epoch in this process under memray: it must allocate a few batches' worth,
    however large the split (tensor_slices and memmap map the whole split, so memray
    counts it for them whatever is resident; they are left out)."""

    def epoch() -> int:
        ds = pipeline.build(prepared, bench_data, EPOCH_OPTIONS, bench_cache)
        return sum(int(label.shape[0]) for _, label in ds)

    benchmark.group = "epoch under memray (in-process)"
    benchmark.extra_info.update(
        strategy=name,
        memray_limit_bytes=streaming_bound,
        dataset_bytes=bench_data.total_bytes,
        batch_size=MEMRAY_BATCH,
    )
    assert benchmark.pedantic(epoch, rounds=2, iterations=1) == bench_data.pairs
