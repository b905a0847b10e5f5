"""The input-bound share: a reader that takes a known time per batch is measured as such."""

from __future__ import annotations

import pytest
import slow_reader
from test_runner import spec_for

from loadbench.harness.runner import run_isolated
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
    # The step's own time in the loop: checked against the step alone on a held batch
    # (it runs slower in the loop, its threads having idled through the sleep).
    step_s = result.compute_s / STEPS
    alone_s = BATCH / result.compute_only_samples_per_s
    assert 0.5 * alone_s < step_s < 3 * alone_s, (step_s, alone_s)
    truth = slept / (slept + result.compute_s)
    measured = result.input_bound_share
    assert abs(measured - truth) <= 0.05, (measured, truth, result.input_wait_s, slept)
    assert slept <= result.input_wait_s < slept * 1.5  # the sleep, and little else
    assert measured == pytest.approx(result.input_wait_s / (result.input_wait_s + result.compute_s))


def test_iterating_has_no_input_bound_share(tiny_root, cache_root):
    outcome = run_isolated(spec_for("generator", tiny_root, cache_root), timeout_s=120)
    assert outcome.status == "ok", outcome.error
    assert outcome.result.measurement.input_bound_share is None
    assert outcome.result.measurement.compute_only_samples_per_s is None
    assert outcome.result.measurement.ceiling == "ceiling_decode"  # it decodes PNG as it reads


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
    assert sum(outcome.result.step_times_s) >= 0.4
    # 30 ms a batch: about 14 batches, where the steps alone would have been 2.
    assert 10 <= result.steps <= 20
    assert len(result.batch_ends_s) == result.steps + spec.warmup_steps
