"""--preset seed: the article's pipeline as it wrote it (float32 made per sample before
the cache, zip(sorted) pairing), then the variants loadbench recommends; its cache holds
float32 in proportion to the dataset, its peak is its own code's, and its pairing goes
wrong on a folder that misses a file."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

import pytest
from kernel_rss import max_rss_of

from loadbench.harness.parent import presets
from loadbench.harness.parent.plan import DatasetChoice, RunConfig, plan
from loadbench.harness.parent.runner import run_isolated
from loadbench.loaders.dataset.layout import describe
from loadbench.loaders.dataset.synth import SynthParams, synthesize, synthesize_from
from loadbench.loaders.errors import OptionsError

SIZE = 64  # 28,672 bytes a pair
SMALL, LARGE = 1000, 3000  # 2,000 pairs apart: 57 MB more to cache as uint8, 229 MB as float32
BATCH = 20  # small batches, so allocator noise stays well under the cache's growth
REPO = Path(__file__).resolve().parents[2]


def config(data, tmp_path, **overrides) -> RunConfig:
    """A plain configuration of the seed preset's strategy and mode on ``data``."""
    values = dict(
        datasets=(DatasetChoice(split=data, synthetic=True),),
        strategies=(presets.SEED_STRATEGY,),
        modes=("iterate",),
        cache_root=tmp_path / "cache",
        out=tmp_path / "out",
    )
    values.update(overrides)
    return RunConfig(**values)


def test_preset_runs_the_article_first_then_the_variants(tiny_spec, tmp_path):
    seeded = presets.seed(config(tiny_spec, tmp_path), epochs=2, batch_size=None)
    runs = [(name, o.cache, o.normalize) for name, o in seeded.runs]
    assert runs == [
        ("article", "memory", "host"),
        ("generator", "memory", "device"),
        ("generator", "none", "device"),
        ("files", "none", "device"),
        ("fixed_length", "none", "device"),
    ]
    for _, options in seeded.runs:
        assert (options.batch_size, options.shuffle_buffer, options.prefetch) == (200, 1000, -1)
    assert seeded.modes == ("iterate",) and seeded.warmup == 0
    assert seeded.steps == 2  # two epochs of one (partial) batch of the 23 pairs
    assert seeded.preset == "seed" and not seeded.runs_ceilings
    jobs = plan(seeded)
    assert [(j.spec.strategy, j.spec.options.cache) for j in jobs] == [r[:2] for r in runs] * 3
    assert {job.spec.min_measured_s for job in jobs} == {0.0}  # whole epochs, no time floor
    assert all(job.spec.skip_unpaired for job in jobs)


@pytest.mark.parametrize(
    "overrides", [{"epochs": 1}, {"strategies": ("tfrecord",)}, {"modes": ("train",)}]
)
def test_preset_refuses_what_would_not_be_the_seed_pipeline(tiny_spec, tmp_path, overrides):
    epochs = overrides.pop("epochs", 2)
    with pytest.raises(OptionsError, match=r"epochs|--preset seed runs the article's"):
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


@pytest.mark.slow
@pytest.mark.parametrize(("strategy", "element_bytes"), [("article", 4), ("generator", 1)])
def test_in_memory_cache_grows_with_the_dataset_as_what_it_holds(
    two_sizes, tmp_path, strategy, element_bytes
):
    """The article's cache holds float32 (4 bytes a value), the uint8 variant's 1."""
    plateaus = {}
    for pairs, data in two_sizes.items():
        seeded = presets.seed(config(data, tmp_path, repeats=1), epochs=2, batch_size=BATCH)
        spec = next(j.spec for j in plan(seeded) if j.spec.strategy == strategy)
        assert spec.options.cache == "memory"
        outcome = run_isolated(spec, timeout_s=300)
        assert outcome.status == "ok", outcome.error
        plateaus[pairs] = late_plateau(outcome.result.measurement.memory.rss_timeline)
    grown = plateaus[LARGE] - plateaus[SMALL]
    expected = (LARGE - SMALL) * data.bytes_per_sample * element_bytes
    assert grown == pytest.approx(expected, rel=0.35), (plateaus, expected)


def own_code_max_rss_bytes(root: Path, batches: int) -> int:
    """The article's code alone in its own process (no loadbench in the loop), its
    maximum RSS as the kernel counted it: the instrument GNU time reads."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "loadbench.loaders.strategies.article", str(root)]
    return max_rss_of([*command, "--batches", str(batches)], env=env)


@pytest.mark.slow
def test_article_run_peaks_within_15_percent_of_its_own_code(two_sizes, tmp_path):
    data = two_sizes[LARGE]  # 344 MB of float32 cached, over a TensorFlow process's ~0.6 GB
    seeded = presets.seed(config(data, tmp_path, repeats=1), epochs=2, batch_size=None)
    spec = plan(seeded)[0].spec
    assert (spec.strategy, spec.options.batch_size) == ("article", 200)
    outcome = run_isolated(spec, timeout_s=300)
    assert outcome.status == "ok", outcome.error
    measured = outcome.result.measurement
    absolute = measured.memory.baseline_rss_bytes + measured.memory.peak_rss_bytes
    own = own_code_max_rss_bytes(data.root, spec.steps)
    assert absolute == pytest.approx(own, rel=0.15), (absolute, own)
    assert measured.memory.peak_rss_bytes > LARGE * data.bytes_per_sample * 4  # the float cache


def test_article_pairing_goes_wrong_on_a_folder_missing_a_file(tmp_path):
    root = tmp_path / "missing"
    synthesize(root, SynthParams(pairs=12, size=32, splits={"train": 1.0}))
    names = sorted(p.name for p in (root / "train" / "time2").iterdir())
    (root / "train" / "time2" / names[4]).unlink()  # the fifth: 000004.png
    data = describe(root, "train", skip_unpaired=True)
    assert data.pairs == 11 and data.unpaired == (f"label/{names[4]}", f"time1/{names[4]}")
    seeded = presets.seed(config(data, tmp_path, repeats=1), epochs=2, batch_size=None)
    jobs = {j.spec.strategy: j.spec for j in plan(seeded)}
    outcome = run_isolated(jobs["article"], timeout_s=300)
    assert outcome.status == "ok", outcome.error
    pairing = outcome.result.measurement.pipeline.pairing
    # zip pairs time1's 000004 with time2's 000005 and so on: the last 7 of 11 triples
    assert (pairing["triples"], pairing["mispaired"]) == (11, 7)
    assert pairing["first_mispaired"][0] == [names[4], names[5], names[4]]
    assert pairing["dropped"] == [f"time1/{names[11]}", f"label/{names[11]}"]
    # loadbench's own strategies pair by name: the 11 whole samples, none mispaired
    outcome = run_isolated(jobs["files"], timeout_s=300)
    assert outcome.status == "ok", outcome.error
    assert outcome.result.measurement.pipeline.pairing is None
