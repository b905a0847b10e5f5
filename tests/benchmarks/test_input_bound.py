"""The input-bound share: a reader that takes a known time per batch is measured as such."""

from __future__ import annotations

import pytest
import slow_reader
from runs import spec_for

from loadbench.harness.parent.runner import run_isolated
from loadbench.loaders.options import PipelineOptions
from loadbench.workload.accelerators import Choice

BATCH = 4
STEPS = 12


@pytest.mark.slow
def test_a_reader_that_sleeps_is_input_bound_by_its_sleep(tiny_root, cache_root, tmp_path):
    # Nothing runs ahead of the training step (no prefetch, a plain conversion map), so
    # the loop waits the whole sleep for each batch: the truth is sleep / (sleep + step).
    spec = spec_for(
        "slow_reader:SleepsBeforeEachBatch",
        tiny_root,
        cache_root,
        mode="train",
        accelerator=Choice(name="cpu"),  # the real step, timed against itself alone
        width=2,
        steps=STEPS,
        warmup_steps=2,
        options=PipelineOptions(batch_size=BATCH, prefetch=0, parallelism=1),
        log_path=str(tmp_path / "run.log"),
    )
    outcome = run_isolated(spec, timeout_s=180)
    assert outcome.status == "ok", outcome.error
    result = outcome.result.measurement
    slept = STEPS * slow_reader.SLEEP_S
    assert result.training.input_wait_s >= slept  # each batch's wait holds its sleep
    assert result.training.compute_only_samples_per_s > 0  # the step alone, on a held batch
    truth = slept / (slept + result.training.compute_s)
    measured = result.training.input_bound_share
    assert abs(measured - truth) <= 0.05, (measured, truth, result.training.input_wait_s, slept)
    assert measured == pytest.approx(
        result.training.input_wait_s / (result.training.input_wait_s + result.training.compute_s)
    )


@pytest.mark.slow
def test_iterating_has_no_input_bound_share(tiny_root, cache_root):
    outcome = run_isolated(spec_for("generator", tiny_root, cache_root), timeout_s=120)
    assert outcome.status == "ok", outcome.error
    assert outcome.result.measurement.training.input_bound_share is None
    assert outcome.result.measurement.training.compute_only_samples_per_s is None
    assert outcome.result.measurement.ceiling == "ceiling_decode"  # it decodes PNG as it reads


@pytest.mark.slow
def test_a_time_floor_extends_the_run_past_its_steps(tiny_root, cache_root):
    spec = spec_for(
        "slow_reader:SleepsBeforeEachBatch",
        tiny_root,
        cache_root,
        steps=2,
        min_measured_s=0.4,
        options=PipelineOptions(batch_size=BATCH, prefetch=0, parallelism=1),
    )
    outcome = run_isolated(spec, timeout_s=120)
    assert outcome.status == "ok", outcome.error
    result = outcome.result.measurement
    times = outcome.result.step_times_s
    assert sum(times) >= 0.4 and len(times) == result.throughput.steps
    # Extended while the span was short, and by no batch more: at least 30 ms a batch
    # (its sleep), so at most 0.4 / 0.03 + 1 = 14 of them.
    assert result.throughput.steps <= 0.4 / slow_reader.SLEEP_S + 1
    if sum(times[:2]) < 0.4:  # the two steps asked for were short: extended
        assert result.throughput.steps > 2 and sum(times[:-1]) < 0.4
    assert len(result.throughput.batch_ends_s) == result.throughput.steps + spec.warmup_steps


@pytest.mark.slow
def test_cpu_time_per_sample_counts_a_spin_and_not_a_sleep(tiny_root, cache_root):
    """The tree's CPU seconds per 1,000 samples: at least the spin's own CPU time where
    each batch spins SLEEP_S on the CPU; far less where each sleeps as long."""
    found = {}
    for reader in ("SleepsBeforeEachBatch", "SpinsBeforeEachBatch"):
        spec = spec_for(
            f"slow_reader:{reader}",
            tiny_root,
            cache_root,
            steps=10,
            options=PipelineOptions(batch_size=BATCH, prefetch=0, parallelism=1),
        )
        outcome = run_isolated(spec, timeout_s=120)
        assert outcome.status == "ok", outcome.error
        found[reader] = outcome.result.measurement.throughput.cpu_s_per_1000_samples
    spun = 1000 * slow_reader.SLEEP_S / BATCH  # CPU seconds of spinning per 1,000 samples
    assert found["SpinsBeforeEachBatch"] >= 0.95 * spun, found
    assert found["SleepsBeforeEachBatch"] < 0.5 * found["SpinsBeforeEachBatch"], found
