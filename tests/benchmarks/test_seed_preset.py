"""--preset seed: the original pipeline's options, and its in-memory cache bringing the
split back into RAM in proportion to the dataset."""

from __future__ import annotations

import argparse
import statistics

import pytest

from benchmarks.cli.commands import run as run_command
from benchmarks.harness.runner import run_isolated
from loaders.errors import OptionsError
from loaders.dataset.layout import describe
from loaders.dataset.synth import SynthParams, synthesize, synthesize_from

SIZE = 64  # 28,672 bytes a pair
SMALL, LARGE = 1000, 3000  # 2,000 pairs apart: 57 MB more to cache
BATCH = 20  # small float batches, so allocator noise stays well under the cache's growth


def preset_args(**overrides) -> argparse.Namespace:
    values = dict(epochs=2, loaders=None, mode="both", seed=0, parallelism="auto", batch_size=None)
    values.update(overrides)
    return argparse.Namespace(**values)


def test_preset_is_the_original_pipeline_with_each_cache(tiny_spec):
    args = preset_args()
    variants = run_command.seed_preset(args, tiny_spec)
    assert [v.cache for v in variants] == ["memory", "file", "none"]
    for options in variants:
        assert (options.batch_size, options.shuffle_buffer, options.prefetch) == (200, 1000, -1)
    assert (args.loaders, args.mode, args.warmup) == ("generator", "iterate", 0)
    assert args.steps == 2  # two epochs of one (partial) batch of the 23 pairs


@pytest.mark.parametrize("overrides", [{"epochs": 1}, {"loaders": "tfrecord"}, {"mode": "train"}])
def test_preset_refuses_what_would_not_be_the_seed_pipeline(tiny_spec, overrides):
    with pytest.raises(OptionsError, match=r"epochs|--preset seed runs generator"):
        run_command.seed_preset(preset_args(**overrides), tiny_spec)


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
        args = preset_args(batch_size=BATCH)
        memory = run_command.seed_preset(args, data)[0]
        assert memory.cache == "memory"
        spec = run_command.run_spec(
            data, True, "iterate", "generator", memory, tmp_path, steps=args.steps, warmup=0
        )
        outcome = run_isolated(spec, timeout_s=300)
        assert outcome.status == "ok", outcome.error
        plateaus[pairs] = late_plateau(outcome.result["rss_timeline"])
    grown = plateaus[LARGE] - plateaus[SMALL]
    expected = (LARGE - SMALL) * data.bytes_per_sample
    assert grown == pytest.approx(expected, rel=0.35), (plateaus, expected)
