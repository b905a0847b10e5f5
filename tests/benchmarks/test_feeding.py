"""Would it keep an accelerator busy: the emulated step, AU, and the accelerators-fed search."""

from __future__ import annotations

import time

import pytest
import sleepy
from test_runner import spec_for

from benchmarks.harness import feeding
from benchmarks.harness.feeding import BUSY_LINE, EmulatedStep, Trial, search
from benchmarks.harness.runner import run_isolated
from benchmarks.workload.accelerators import Choice
from loaders.options import PipelineOptions


def test_the_emulated_step_waits_its_time_and_holds_no_core():
    step = EmulatedStep(0.01)
    wall, cpu = time.perf_counter(), time.thread_time()
    waited = sum(step() for _ in range(20))
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    assert 0.2 <= waited <= wall < 0.4
    assert cpu < 0.05 * wall, (cpu, wall)  # a sleep, not a spin


def fake(capacity: float, calls: list[int] | None = None):
    """A pipeline that makes ``capacity`` accelerators' worth of batches: AU = min(1, c/k)."""

    def measure(count: int) -> Trial:
        if calls is not None:
            calls.append(count)
        return Trial(count, min(1.0, capacity / count), 20, 0.4)

    return measure


@pytest.mark.parametrize("capacity", [0.5, 1.0, 1.5, 2.0, 6.9, 7.3, 40.0, 100.0])
def test_the_search_finds_the_most_accelerators_kept_at_the_line(capacity):
    fed = search(fake(capacity), fake(capacity)(1))
    want = int(capacity / BUSY_LINE + 1e-9) if capacity >= BUSY_LINE else 0
    assert fed.count == want and not fed.capped
    assert fed.trials[0].accelerators == 1  # the run's own loop is the first trial
    if want > 1:  # the answer measured again as the last trial, and its next one failed
        assert fed.trials[-1].accelerators == want
        assert any(t.accelerators == want + 1 and t.busy_share < BUSY_LINE for t in fed.trials)


def test_the_search_stops_at_its_limit_and_says_so():
    fed = search(fake(1000.0), fake(1000.0)(1), most=64)
    assert fed.count == 64 and fed.capped


def test_a_failed_confirmation_steps_down():
    answers = {1: 1.0, 2: 0.95, 4: 0.95, 8: 0.5, 6: 0.5, 5: 0.92}
    seen: dict[int, int] = {}

    def measure(count: int) -> Trial:  # 4 passes once, then fails; 3 passes
        seen[count] = seen.get(count, 0) + 1
        share = answers.get(count, 0.95) if not (count == 4 and seen[4] > 1) else 0.8
        if count == 5:
            share = 0.5
        return Trial(count, share, 20, 0.4)

    fed = search(measure, measure(1))
    assert fed.count == 3 and [t.accelerators for t in fed.trials][-2:] == [4, 3]


@pytest.mark.parametrize("step", [0.2, 0.1, 0.05, 0.02, 0.01])
def test_fewer_accelerators_are_fed_when_their_step_shrinks(step):
    capacity = 0.2 / 0.03  # a batch every 30 ms against a 200 ms step
    smaller = search(fake(capacity * step / 0.2), fake(capacity * step / 0.2)(1))
    larger = search(fake(capacity), fake(capacity)(1))
    assert smaller.count <= larger.count


def emulated_run(strategy, root, cache_root, step_s, **kwargs):
    spec = spec_for(
        strategy,
        root,
        cache_root,
        mode="train",
        steps=kwargs.pop("steps", 12),
        warmup_steps=2,
        options=PipelineOptions(batch_size=2, prefetch=2, parallelism=1),
        accelerator=Choice(step_time_s=step_s),
        **kwargs,
    )
    outcome = run_isolated(spec, timeout_s=180)
    assert outcome.status == "ok", outcome.error
    return outcome.result.measurement


@pytest.mark.slow
@pytest.mark.parametrize("step_s", [0.01, 0.06])
def test_au_under_an_emulated_step_is_within_5_points_of_the_truth(tiny_root, cache_root, step_s):
    # The producer runs beside the emulated step (prefetch 2): the truth is how much of
    # the slower of the two the step fills.
    result = emulated_run(
        "sleepy:MakesEachBatchSlowly", tiny_root, cache_root, step_s, fed_search=False
    )
    truth = step_s / max(step_s, sleepy.MAKE_S)
    assert abs(result.accelerator_busy_share - truth) <= 0.05, (result, truth)
    assert result.accelerator == "step-time" and result.accelerator_step_s == step_s
    assert result.train_graph_bytes is None and result.compute_only_samples_per_s is None
    assert result.accelerators_fed is None  # not asked


@pytest.mark.slow
def test_accelerators_fed_is_measured_and_shrinks_with_the_step(tiny_root, cache_root):
    strategy = "sleepy:MakesBatchesForTwoAndAHalf"
    full = emulated_run(strategy, tiny_root, cache_root, 0.1, steps=8)
    half = emulated_run(strategy, tiny_root, cache_root, 0.05, steps=8)
    assert full.accelerators_fed == 2, full.fed_trials  # truth: 2 (100%), not 3 (83.3%)
    assert half.accelerators_fed == 1, half.fed_trials  # truth: 1 (100%), not 2 (62.5%)
    confirmed = full.fed_trials[-1]  # the answer measured again as the last trial
    assert confirmed[0] == 2 and confirmed[1] >= BUSY_LINE, full.fed_trials
    assert [t[0] for t in half.fed_trials] == [1, 2], half.fed_trials  # 1 is the run's loop
    for result in (full, half):
        next_count = [t for t in result.fed_trials if t[0] == result.accelerators_fed + 1]
        assert next_count and all(t[1] < BUSY_LINE for t in next_count), result.fed_trials
        assert all(t[2] >= feeding.TRIAL_BATCHES for t in result.fed_trials[1:])
