"""When a run's memory counts as settled (loadbench.harness.child.settle): on the sampler's
readings, a pure decision; and in a measured child, a plateau reached or a cap hit."""

from __future__ import annotations

import growing
import pytest
from runs import measured, spec_for

from loadbench.harness.child.settle import BATCHES, FLOOR_BYTES, SHARE, WINDOW_S, Settling
from loadbench.loaders.dataset.layout import describe
from loadbench.loaders.dataset.synth import SynthParams, synthesize
from loadbench.loaders.options import PipelineOptions

MB = 1_000_000
BASELINE = 600 * MB


def readings(*steps: tuple[float, int]) -> list[tuple[float, int]]:
    """Sampler readings every 50 ms: (until, bytes above the baseline) pieces."""
    out, t = [], 0.0
    for until, held in steps:
        while t <= until:
            out.append((round(t, 3), BASELINE + held))
            t += 0.05
    return out


def batches_every(period: float, until: float) -> list[float]:
    return [round(k * period, 3) for k in range(1, int(until / period) + 1)]


END = 1.0 + 1.5 * WINDOW_S  # a run that climbed for a second, then held a window and a half


def test_a_peak_that_held_over_the_window_has_settled():
    samples = readings((1.0, 100 * MB), (END, 200 * MB))  # climbed at 1 s, then held
    assert Settling(max_s=30).settled(samples, BASELINE, batches_every(0.1, END), seen=400)


def test_a_peak_still_climbing_has_not():
    samples = [(t, BASELINE + int(t * 50 * MB)) for t in [k * 0.05 for k in range(int(END * 20))]]
    assert not Settling(max_s=30).settled(samples, BASELINE, batches_every(0.1, END), seen=400)


def test_growth_under_the_share_or_the_floor_counts_as_held():
    peak = 400 * MB
    small = int(SHARE * peak * 0.9)
    samples = readings((1.0, peak - small), (END, peak))
    assert Settling(max_s=30).settled(samples, BASELINE, batches_every(0.1, END), seen=400)
    tiny = readings((1.0, 10 * MB), (END, 10 * MB + FLOOR_BYTES - 1))  # 20% of 10 MB
    assert Settling(max_s=30).settled(tiny, BASELINE, batches_every(0.1, END), seen=400)


def test_not_before_a_whole_window_nor_too_few_batches_nor_an_epoch_that_caches():
    held = readings((WINDOW_S * 0.9, 100 * MB))
    early = batches_every(0.01, WINDOW_S * 0.9)
    assert not Settling(max_s=30).settled(held, BASELINE, early, seen=400)
    long = readings((END, 100 * MB))
    slow = batches_every(WINDOW_S / (BATCHES - 1), END)  # fewer than BATCHES in the window
    assert not Settling(max_s=30).settled(long, BASELINE, slow, seen=400)
    caching = Settling(max_s=30, epoch_samples=1000)
    assert not caching.settled(long, BASELINE, batches_every(0.1, END), seen=999)
    assert caching.settled(long, BASELINE, batches_every(0.1, END), seen=1000)


def settled_run(strategy: str, tiny_root, cache_root, max_s: float):
    spec = spec_for(
        f"growing:{strategy}",
        tiny_root,
        cache_root,
        steps=2,
        warmup_steps=1,
        options=PipelineOptions(batch_size=2, prefetch=0, parallelism=1),
        settling=Settling(max_s=max_s),
    )
    return measured(spec)


@pytest.mark.slow
def test_memory_that_climbs_then_holds_is_measured_at_its_plateau(tiny_root, cache_root):
    found = settled_run("ClimbsThenHolds", tiny_root, cache_root, max_s=60)
    truth = growing.CLIMB_BATCHES * growing.CHUNK_BYTES
    assert found.memory.settled is True
    assert abs(found.memory.settled_peak_rss_bytes - truth) <= 0.05 * truth
    assert abs(found.memory.peak_rss_bytes - truth) <= 0.05 * truth
    # It went on past the climb by the window, not to the cap.
    assert growing.CLIMB_BATCHES * growing.PERIOD_S < found.memory.settle_s < 60


@pytest.mark.slow
def test_memory_that_never_stops_growing_ends_at_the_cap_unsettled(tiny_root, cache_root):
    found = settled_run("NeverStops", tiny_root, cache_root, max_s=4)
    assert found.memory.settled is False
    assert found.memory.settle_s >= 4
    assert found.memory.settled_peak_rss_bytes is None


@pytest.mark.slow
def test_without_settling_a_run_stops_after_its_steps(tiny_root, cache_root):
    spec = spec_for(
        "growing:NeverStops",
        tiny_root,
        cache_root,
        steps=2,
        warmup_steps=1,
        options=PipelineOptions(batch_size=2, prefetch=0, parallelism=1),
    )
    found = measured(spec)
    assert found.throughput.steps == 2
    assert found.memory.settled is None


CACHED_PAIRS, CACHED_SIZE = 1000, 64  # 28.7 MB of uint8 samples to cache


@pytest.fixture(scope="module")
def to_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("cached")
    synthesize(root, SynthParams(pairs=CACHED_PAIRS, size=CACHED_SIZE, splits={"train": 1.0}))
    return root


def cached_run(root, cache_root, settling: Settling | None):
    spec = spec_for(
        "generator",
        root,
        cache_root,
        steps=2,
        warmup_steps=1,
        options=PipelineOptions(batch_size=20, cache="memory", prefetch=1, parallelism=1),
        settling=settling,
    )
    return measured(spec, timeout_s=300)


@pytest.mark.slow
def test_a_strategy_that_caches_its_split_holds_the_cache_in_its_settled_peak(to_cache, cache_root):
    data = describe(to_cache, "train")
    # As the plan sets it where the options cache: a whole epoch before it may settle.
    found = cached_run(to_cache, cache_root, Settling(max_s=60, epoch_samples=data.pairs))
    assert found.memory.settled is True
    assert (found.throughput.steps + 1) * 20 >= data.pairs  # the warm-up's batch too
    assert found.memory.peak_rss_bytes >= data.total_bytes, (found.memory, data.total_bytes)
    # Stopped after its steps, the same pipeline had cached a sliver of it.
    ramp = cached_run(to_cache, cache_root, None)
    assert ramp.memory.peak_rss_bytes < data.total_bytes / 2
