"""Would this pipeline keep an accelerator busy, and how many of them?

The emulated step stands for an accelerator's compute with a wait that holds no core
(DLIO's and MLPerf Storage's method), so that iterating, prefetching and handing batches
over run as they would beside a real device. Accelerator utilisation (AU) is the
accelerator's busy time over the wall time of the measured steps; MLPerf Storage passes a
system at AU >= 90% and calls the most emulated accelerators kept at 90% its figure.
``search`` finds that figure for one pipeline: each candidate count k is a demand of one
batch every step/k seconds, measured over enough batches to be steady; the answer is a
count measured at the line with its next count measured below it, never extrapolated
from a throughput (a guess from the one-accelerator loop only says where to start).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from loadbench.reports.metrics import BUSY_LINE

MOST_FED = 128  # the search stops here and says "at least"
# A trial first takes batches as fast as they come (the prefetch buffer a slower demand
# filled would otherwise flatter it, whichever trial came before), then a few at its
# demand unmeasured (a pipeline that outpaces it refills some), then at least this many
# batches and this long: the drift of AUTOTUNE's buffers is inside it, not after it.
DRAIN_BATCHES = 8
SETTLE_BATCHES = 4
TRIAL_BATCHES = 16
TRIAL_MIN_S = 0.4
# ... and it goes on until its AU is known to within a point: the 95% half-width of the
# batch-means estimate (blocks of BLOCK batches, their AU's standard error) at most
# HALF_WIDTH, or until that interval lies wholly on one side of the line (the trial has
# decided: a count at AU 0.53 need not be known to a point), or TRIAL_MAX_S passes (the
# record's fed_trials keep each half-width).
HALF_WIDTH = 0.01
BLOCK = 8
TRIAL_MAX_S = 4.0
# The supply: batches taken as fast as they come, after the buffer is drained, at least
# this many and this long.
SUPPLY_BATCHES = 16
SUPPLY_MIN_S = 0.5


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


def busy_share(waits: Sequence[float], computes: Sequence[float]) -> float | None:
    """AU: the step's time over the wall time of the steps (waits for input and steps)."""
    busy, total = sum(computes), sum(waits) + sum(computes)
    return busy / total if total > 0 else None


def half_width(
    waits: Sequence[float], computes: Sequence[float], block: int = BLOCK
) -> float | None:
    """The 95% half-width of AU over these batches, by batch means: the AU of each block
    of ``block`` batches in turn, their standard error (consecutive batches share a
    buffer's state, so single batches are not independent; blocks nearly are) times
    Student's t; None with fewer than 4 blocks."""
    blocks = len(waits) // block
    if blocks < 4:
        return None
    shares = []
    for i in range(blocks):
        busy = sum(computes[i * block : (i + 1) * block])
        shares.append(busy / (busy + sum(waits[i * block : (i + 1) * block])))
    t = _T95.get(blocks - 1, 1.96)
    return t * statistics.stdev(shares) / math.sqrt(blocks)


# Student's t at 95%, two-sided, by degrees of freedom 3 to 30 (scipy.stats.t.ppf(0.975,
# df), written out: the measuring child imports no scipy); past 30, the normal's 1.96.
_T95 = dict(
    enumerate(
        (
            *(3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160),
            *(2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064),
            *(2.060, 2.056, 2.052, 2.048, 2.045, 2.042),
        ),
        start=3,
    )
)


@dataclass(frozen=True)
class Trial:
    """One candidate count, measured: AU at a demand of one batch every step/k seconds,
    and the 95% half-width of that AU (None: too few batches to say)."""

    accelerators: int
    busy_share: float
    batches: int
    seconds: float
    half_width: float | None = None

    def as_list(self) -> list[float]:
        found = [self.accelerators, round(self.busy_share, 4), self.batches, round(self.seconds, 3)]
        return found + ([round(self.half_width, 4)] if self.half_width is not None else [])


def trial(batches: Iterator[Any], step_s: float, accelerators: int) -> Trial:
    """AU of ``accelerators`` emulated accelerators sharing the pipeline: each batch is
    followed by a wait of ``step_s / accelerators``."""
    step = EmulatedStep(step_s / accelerators)
    for _ in range(DRAIN_BATCHES):
        next(batches)
    for _ in range(SETTLE_BATCHES):
        next(batches)
        step()
    waits: list[float] = []
    computes: list[float] = []
    began = time.perf_counter()
    known: float | None = None
    share = 0.0
    while _more(len(waits), time.perf_counter() - began, share, known):
        asked = time.perf_counter()
        next(batches)
        waits.append(time.perf_counter() - asked)
        computes.append(step())
        if len(waits) % BLOCK == 0:
            known, share = half_width(waits, computes), busy_share(waits, computes) or 0.0
    share = busy_share(waits, computes) or 0.0
    return Trial(accelerators, share, len(waits), time.perf_counter() - began, known)


def _more(taken: int, elapsed: float, share: float, known: float | None) -> bool:
    """Whether a trial takes another batch: until it has TRIAL_BATCHES over TRIAL_MIN_S
    and its AU is known to within HALF_WIDTH or its interval is clear of the line, or
    TRIAL_MAX_S has passed. Asked after whole blocks only."""
    if taken < TRIAL_BATCHES or elapsed < TRIAL_MIN_S or taken % BLOCK:
        return True
    if elapsed >= TRIAL_MAX_S:
        return False
    return known is None or (known > HALF_WIDTH and abs(share - BUSY_LINE) <= known)


def supply(batches: Iterator[Any]) -> float:
    """Batches a second the pipeline hands over when nothing waits on it: the buffer a
    slower demand filled drained first, then as fast as they come."""
    for _ in range(DRAIN_BATCHES):
        next(batches)
    taken = 0
    began = time.perf_counter()
    while taken < SUPPLY_BATCHES or time.perf_counter() - began < SUPPLY_MIN_S:
        next(batches)
        taken += 1
    return taken / (time.perf_counter() - began)


def predicted(step_s: float, supply_per_s: float, handover_s: float, most: int = MOST_FED) -> int:
    """The count the measured supply predicts: each of k accelerators waits step/k between
    batches, so AU = (step/k) / max(1 / supply, step/k + hand-over). AU >= 90% needs
    k <= supply x step / 90% (the pipeline makes enough batches) and k <= step x (1 - 90%)
    / (90% x hand-over) (handing one over is a tenth of the time at most)."""
    made = supply_per_s * step_s / BUSY_LINE
    handed = step_s * (1 - BUSY_LINE) / (BUSY_LINE * handover_s) if handover_s > 0 else most
    return max(0, min(most, int(min(made, handed))))


@dataclass(frozen=True)
class Fed:
    """The search's answer: ``count`` accelerators kept at AU >= 90% (``capped``: at least
    that many, the search's limit), every trial it measured, in order."""

    count: int
    trials: list[Trial]
    capped: bool = False
    supply_per_s: float | None = None  # batches a second when nothing waits on it
    handover_s: float | None = None  # the one-accelerator loop's mean wait for a batch
    predicted: int | None = None  # the count those two predicted, where the search began


def _most_at_the_line(trial: Trial) -> float:
    """The count a trial says is the most at the line, by the model that fits it.

    A trial that passed waited for its hand-over, a fixed time a batch (AU = step/k over
    step/k + wait): k x AU (1 - 90%) / (90% (1 - AU)) share the step out until that wait
    is a tenth of the time. A trial that failed waited for batches it could not get: the
    pipeline supplies AU x k accelerators' worth, so AU x k / 90% is the most it feeds.
    """
    k, share = trial.accelerators, trial.busy_share
    if share < BUSY_LINE:
        return share * k / BUSY_LINE
    if share >= 1:
        return float("inf")
    return k * share * (1 - BUSY_LINE) / (BUSY_LINE * (1 - share))


def search(
    measure: Callable[[int], Trial], one: Trial, most: int = MOST_FED, start: int = 2
) -> Fed:
    """The most accelerators kept at AU >= ``BUSY_LINE``: a count measured at or above
    the line whose next count was measured below it (or ``most``, capped). ``one`` is the
    run's own measured loop (one accelerator): below the line, none is fed.

    The first candidate is ``start`` (``predicted`` from the measured supply), then the
    count after it, which the prediction says fails. Until a count fails, each pass
    doubles the count: real pipelines often hold AU just over the line as the count grows
    and then fall off (tensor_slices: 0.90-0.92 from 2 to 6 accelerators, 0.87 at 7), so
    a pass says little about how far the line is. Then each next candidate is what the
    last trial says (``_most_at_the_line``: a fail shows the supply; after a pass, no
    more than the fewest that failed showed), kept between the most that passed and the
    fewest that failed, until a model is measured wrong (a count it said would pass
    failed, or the other way: fixed_length held 0.80-0.89 from 9 to 16); from there the
    bracket is halved. A model picks where to measure, and only measurements decide."""
    trials = [one]
    if one.busy_share < BUSY_LINE:
        return Fed(0, trials)
    fed, failed = 1, None  # the most that passed, the fewest that failed
    supplied = float("inf")  # what the fewest that failed says the pipeline supplies
    doubted = False  # a model's prediction was measured wrong
    expected: bool | None = None  # whether the model says the candidate passes
    candidate = max(1, min(start, most))
    while failed is None or failed - fed > 1:
        if candidate > fed:
            trials.append(measure(candidate))
            passed = trials[-1].busy_share >= BUSY_LINE
            doubted = doubted or (expected is not None and passed != expected)
            if passed:
                fed = candidate
            else:
                failed, supplied = candidate, _most_at_the_line(trials[-1])
        if failed is None and fed >= most:
            return Fed(fed, trials, capped=True)
        if failed is None and fed == start:  # the predicted count held: is it the most?
            candidate, expected = start + 1, False
            continue
        highest = min(2 * fed, most) if failed is None else failed - 1
        if doubted and failed is not None:  # (a model is measured only once one failed)
            candidate = (fed + failed) // 2  # halve the bracket
            expected = None
            continue
        said = _most_at_the_line(trials[-1])
        if trials[-1].busy_share >= BUSY_LINE:
            if failed is None:  # nothing has failed: double
                candidate, expected = highest, None
                continue
            said = min(said, supplied)
        candidate = max(fed + 1, min(int(said) if said < highest else highest, highest))
        expected = candidate <= said
    return Fed(fed, trials)


def confirm(measure: Callable[[int], Trial], one: Trial, start: int, most: int = MOST_FED) -> Fed:
    """The count a repeat confirms: ``start`` (the earlier repeats' count) and the next
    are measured; where ``start`` fails the count walks down by one until one passes,
    where the next passes too it walks up by one until one fails. One at a time, not
    doubling: near the line AU falls slowly with the count, and a count that held in one
    child is most likely near the line in the next. ``one`` (the run's own loop, which
    passed) is the trial at one accelerator: it is not measured again."""
    trials = [one]
    if one.busy_share < BUSY_LINE:
        return Fed(0, trials)
    count = max(1, min(start, most))
    if count > 1:
        trials.append(measure(count))
        if trials[-1].busy_share < BUSY_LINE:
            while count > 2:
                count -= 1
                trials.append(measure(count))
                if trials[-1].busy_share >= BUSY_LINE:
                    return Fed(count, trials)
            return Fed(1, trials)  # the run's own loop is the one that passed
    while count < most:
        trials.append(measure(count + 1))
        if trials[-1].busy_share < BUSY_LINE:
            return Fed(count, trials)
        count += 1
    return Fed(count, trials, capped=True)
