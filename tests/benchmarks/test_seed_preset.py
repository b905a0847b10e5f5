"""--preset seed: the original pipeline's options, and its in-memory cache bringing the
split back into RAM in proportion to the dataset."""

from __future__ import annotations

import statistics

import pytest

from benchmarks.harness import presets
from benchmarks.harness.plan import DatasetChoice, RunConfig, plan
from benchmarks.harness.runner import run_isolated
from loaders.dataset.layout import describe
from loaders.dataset.synth import SynthParams, synthesize, synthesize_from
from loaders.errors import OptionsError

SIZE = 64  # 28,672 bytes a pair
SMALL, LARGE = 1000, 3000  # 2,000 pairs apart: 57 MB more to cache
BATCH = 20  # small float batches, so allocator noise stays well under the cache's growth


def config(data, tmp_path, **overrides) -> RunConfig:
    """A plain configuration of the seed preset's strategy and mode on ``data``."""
    values = dict(
        datasets=(DatasetChoice(split=data, synthetic=True),),
        strategies=("generator",),
        modes=("iterate",),
        cache_root=tmp_path / "cache",
        out=tmp_path / "out",
    )
    values.update(overrides)
    return RunConfig(**values)


def test_preset_is_the_original_pipeline_with_each_cache(tiny_spec, tmp_path):
    seeded = presets.seed(config(tiny_spec, tmp_path), epochs=2, batch_size=None)
    assert [v.cache for v in seeded.variants] == ["memory", "file", "none"]
    for options in seeded.variants:
        assert (options.batch_size, options.shuffle_buffer, options.prefetch) == (200, 1000, -1)
    assert (seeded.strategies, seeded.modes, seeded.warmup) == (("generator",), ("iterate",), 0)
    assert seeded.steps == 2  # two epochs of one (partial) batch of the 23 pairs
    assert seeded.preset == "seed" and not seeded.runs_ceilings
    jobs = plan(seeded)
    assert [job.spec.options.cache for job in jobs] == ["memory", "file", "none"] * 3
    assert {job.spec.min_measured_s for job in jobs} == {0.0}  # whole epochs, no time floor


@pytest.mark.parametrize(
    "overrides", [{"epochs": 1}, {"strategies": ("tfrecord",)}, {"modes": ("train",)}]
)
def test_preset_refuses_what_would_not_be_the_seed_pipeline(tiny_spec, tmp_path, overrides):
    epochs = overrides.pop("epochs", 2)
    with pytest.raises(OptionsError, match=r"epochs|--preset seed runs generator"):
        presets.seed(config(tiny_spec, tmp_path, **overrides), epochs=epochs, batch_size=None)


@pytest.fixture(scope="module")
def two_sizes(tmp_path_factory):
    root = tmp_path_factory.mktemp("seed")
    large = root / "large"
    synthesize(large, SynthParams(pairs=LARGE, size=SIZE, splits={"train": 1.0}))
    small = root / "small"
    synthesize_from(large, small, SynthParams(pairs=SMALL, size=SIZE, splits={"train": 1.0}))
    return {SMALL: describe(small, "train"), LARGE: describe(large, "train")}


def late_plateau(timeline: list[list[float]]) -> float:
    """Memory in the second epoch: the median of the timeline's last quarter."""
    return statistics.median(value for _, value in timeline[len(timeline) * 3 // 4 :])


def test_in_memory_cache_grows_with_the_dataset(two_sizes, tmp_path):
    plateaus = {}
    for pairs, data in two_sizes.items():
        seeded = presets.seed(config(data, tmp_path, repeats=1), epochs=2, batch_size=BATCH)
        spec = plan(seeded)[0].spec
        assert spec.options.cache == "memory"
        outcome = run_isolated(spec, timeout_s=300)
        assert outcome.status == "ok", outcome.error
        plateaus[pairs] = late_plateau(outcome.result.measurement.rss_timeline)
    grown = plateaus[LARGE] - plateaus[SMALL]
    expected = (LARGE - SMALL) * data.bytes_per_sample
    assert grown == pytest.approx(expected, rel=0.35), (plateaus, expected)
