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
    assert result.input_wait_s >= slept  # each batch's wait holds its sleep
    assert result.compute_only_samples_per_s > 0  # the step alone, on a held batch
    truth = slept / (slept + result.compute_s)
    measured = result.input_bound_share
    assert abs(measured - truth) <= 0.05, (measured, truth, result.input_wait_s, slept)
    assert measured == pytest.approx(result.input_wait_s / (result.input_wait_s + result.compute_s))


@pytest.mark.slow
def test_iterating_has_no_input_bound_share(tiny_root, cache_root):
    outcome = run_isolated(spec_for("generator", tiny_root, cache_root), timeout_s=120)
    assert outcome.status == "ok", outcome.error
    assert outcome.result.measurement.input_bound_share is None
    assert outcome.result.measurement.compute_only_samples_per_s is None
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
    assert sum(times) >= 0.4 and len(times) == result.steps
    # Extended while the span was short, and by no batch more: at least 30 ms a batch
    # (its sleep), so at most 0.4 / 0.03 + 1 = 14 of them.
    assert result.steps <= 0.4 / slow_reader.SLEEP_S + 1
    if sum(times[:2]) < 0.4:  # the two steps asked for were short: extended
        assert result.steps > 2 and sum(times[:-1]) < 0.4
    assert len(result.batch_ends_s) == result.steps + spec.warmup_steps
