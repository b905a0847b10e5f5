"""Would this pipeline keep an accelerator busy, and how many of them?

The emulated step stands for an accelerator's compute with a wait that holds no core
(DLIO's and MLPerf Storage's method), so that iterating, prefetching and handing batches
over run as they would beside a real device. Accelerator utilisation (AU) is the
accelerator's busy time over the wall time of the measured steps; MLPerf Storage passes a
system at AU >= 90% and calls the most emulated accelerators kept at 90% its figure.
``search`` finds that figure for one pipeline: each candidate count k is a demand of one
batch every step/k seconds, measured over enough batches to be steady, and the answer is
confirmed by a measurement of its own, never extrapolated from a throughput.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

BUSY_LINE = 0.90  # MLPerf Storage's pass mark for ResNet-50 and U-Net3D
MOST_FED = 128  # the search stops here and says "at least"
# A trial first takes a few batches at its demand unmeasured (the prefetch buffer filled
# at the previous, slower demand would otherwise flatter it), then at least this many
# batches and this long: the drift of AUTOTUNE's buffers is inside it, not after it.
SETTLE_BATCHES = 4
TRIAL_BATCHES = 16
TRIAL_MIN_S = 0.4


class EmulatedStep:
    """An accelerator's step as a wait of ``step_s`` seconds: ``time.sleep`` releases the
    interpreter and holds no core, so the pipeline's threads have the whole CPU, as they
    would beside a real device. Returns the seconds it waited (a little over ``step_s``:
    the scheduler's wake-up), which is the busy time AU counts."""

    def __init__(self, step_s: float) -> None:
        self.step_s = step_s

    def __call__(self, *batch: Any) -> float:
        began = time.perf_counter()
        time.sleep(self.step_s)
        return time.perf_counter() - began


def busy_share(waits: list[float], computes: list[float]) -> float | None:
    """AU: the step's time over the wall time of the steps (waits for input and steps)."""
    busy, total = sum(computes), sum(waits) + sum(computes)
    return busy / total if total > 0 else None


@dataclass(frozen=True)
class Trial:
    """One candidate count, measured: AU at a demand of one batch every step/k seconds."""

    accelerators: int
    busy_share: float
    batches: int
    seconds: float

    def as_list(self) -> list[float]:
        return [self.accelerators, round(self.busy_share, 4), self.batches, round(self.seconds, 3)]


def trial(batches: Iterator[Any], step_s: float, accelerators: int) -> Trial:
    """AU of ``accelerators`` emulated accelerators sharing the pipeline: each batch is
    followed by a wait of ``step_s / accelerators``."""
    step = EmulatedStep(step_s / accelerators)
    for _ in range(SETTLE_BATCHES):
        next(batches)
        step()
    waits: list[float] = []
    computes: list[float] = []
    began = time.perf_counter()
    while len(waits) < TRIAL_BATCHES or time.perf_counter() - began < TRIAL_MIN_S:
        asked = time.perf_counter()
        next(batches)
        waits.append(time.perf_counter() - asked)
        computes.append(step())
    share = busy_share(waits, computes) or 0.0
    return Trial(accelerators, share, len(waits), time.perf_counter() - began)


@dataclass(frozen=True)
class Fed:
    """The search's answer: ``count`` accelerators kept at AU >= 90% (``capped``: at least
    that many, the search's limit), every trial it measured, in order."""

    count: int
    trials: list[Trial]
    capped: bool = False


def search(measure: Callable[[int], Trial], one: Trial, most: int = MOST_FED) -> Fed:
    """The most accelerators kept at AU >= ``BUSY_LINE``. ``one`` is the run's own measured
    loop (one accelerator): below the line, none is fed. Otherwise double until a count
    fails, halve the gap to the last that passed, then measure the answer again; while
    that confirmation fails, step down."""
    trials = [one]
    if one.busy_share < BUSY_LINE:
        return Fed(0, trials)

    def passes(count: int) -> bool:
        trials.append(measure(count))
        return trials[-1].busy_share >= BUSY_LINE

    fed, failed = 1, None
    while failed is None and fed < most:
        candidate = min(fed * 2, most)
        if passes(candidate):
            fed = candidate
        else:
            failed = candidate
    if failed is None:
        return Fed(fed, trials, capped=True)
    while failed - fed > 1:
        middle = (fed + failed) // 2
        if passes(middle):
            fed = middle
        else:
            failed = middle
    while fed > 1 and not passes(fed):  # confirmed by a measurement of its own
        fed -= 1
    return Fed(fed, trials)
