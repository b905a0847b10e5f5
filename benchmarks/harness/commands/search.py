"""The search ``loadbench tune`` runs: coordinate ascent over the space, each change
confirmed by a repeat; no TensorFlow, no children (``tune`` measures what it yields).

Why coordinate ascent: tf.data's settings act on different stages (parallelism on the
maps, prefetch at the end, a cache at the source, the batch's size on every stage after
it), so their effects on AU and memory are close to separable; one value of a setting
at a time, the others held at the best so far, measures each setting's range in a few
trials and needs no model of the pipeline. A pass goes over every setting; passes repeat
until one changes nothing or the trials run out. How close it lands to the best of the
whole grid is measured (``loadbench tune --grid``), not assumed.

What is better: a point whose peak passes the budget never is. Otherwise the busier,
where it beats the incumbent by more than the noise (the spread of the first point's
two runs, at least ``MIN_BUSY`` of AU); within the noise, the smaller, by more than
``MIN_PEAK`` of its peak (or the runs' spread). A change must also keep AU within the
noise of the busiest point measured, so that small memory savings cannot walk AU down.
A point that beats the incumbent is measured again before it is taken (both runs count),
unless its AU is higher by more than twice the noise.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

MIN_BUSY = 0.01  # AU: a point of the share is the least a change must buy
MIN_PEAK = 0.05  # peak memory: 5%, the summary's "differs"

Point = tuple[tuple[str, Any], ...]  # (setting, value) in the space's order


def point_of(values: dict[str, Any], order: list[str]) -> Point:
    return tuple((name, values[name]) for name in order)


def changed(point: Point, name: str, value: Any) -> Point:
    return tuple((n, value if n == name else v) for n, v in point)


@dataclass(frozen=True)
class Run:
    """One trial's figures: AU (settled), peak PSS above baseline, samples a second;
    ``ok`` False: it failed (``error``) or passed the budget (``over``)."""

    busy: float | None
    peak: int | None
    rate: float | None = None
    ok: bool = True
    over: bool = False
    error: str | None = None


@dataclass
class Measured:
    """A point and its runs."""

    point: Point
    runs: list[Run] = field(default_factory=list)
    label: str = ""  # a baseline's name

    @property
    def good(self) -> list[Run]:
        return [r for r in self.runs if r.ok and r.busy is not None and r.peak is not None]

    @property
    def over(self) -> bool:
        return any(r.over for r in self.runs)

    @property
    def usable(self) -> bool:
        return bool(self.good) and not self.over

    @property
    def busy(self) -> float:
        """The lowest AU of its runs: what a user plans with, as the peak is the largest.
        A point that read 98.2% and then 95.7% is not as busy as one that held 97.7-98.1%
        (files at parallelism 1 against AUTOTUNE: the mean took it)."""
        return min((r.busy for r in self.good if r.busy is not None), default=0.0)

    @property
    def peak(self) -> int:
        """The largest of its runs: what a user plans with."""
        return max((r.peak for r in self.good if r.peak is not None), default=0)

    def spread(self) -> tuple[float, float]:
        """AU and peak (relative) between its runs: 0 with one."""
        good = self.good
        if len(good) < 2:
            return 0.0, 0.0
        busy = [r.busy or 0.0 for r in good]
        peaks = [r.peak or 0 for r in good]
        return max(busy) - min(busy), (max(peaks) - min(peaks)) / max(max(peaks), 1)


@dataclass(frozen=True)
class Noise:
    busy: float = MIN_BUSY
    peak: float = MIN_PEAK


@dataclass
class Change:
    setting: str
    before: Any
    after: Any
    busy: tuple[float, float]
    peak: tuple[int, int]


@dataclass
class Outcome:
    """What the search found: every point it measured (in order), the baselines, the
    recommended point (None: nothing within the budget), the changes that led to it."""

    measured: list[Measured]
    baselines: list[Measured]
    best: Measured | None
    changes: list[Change]
    noise: Noise
    trials: int
    stopped: str = ""  # why it stopped early, where it did


def better(candidate: Measured, incumbent: Measured | None, noise: Noise, top: float) -> bool:
    """Whether ``candidate`` should replace ``incumbent`` (module docstring)."""
    if not candidate.usable:
        return False
    if incumbent is None or not incumbent.usable:
        return True
    if candidate.busy < top - noise.busy:
        return False
    if candidate.busy > incumbent.busy + noise.busy:
        return True
    close = abs(candidate.busy - incumbent.busy) <= noise.busy
    return close and candidate.peak < incumbent.peak * (1 - noise.peak)


def best_of(points: list[Measured], noise: Noise) -> Measured | None:
    """The busiest within the budget; among those within the noise of it, the smallest."""
    usable = [m for m in points if m.usable]
    if not usable:
        return None
    top = max(m.busy for m in usable)
    return min((m for m in usable if m.busy >= top - noise.busy), key=lambda m: m.peak)


Search = Generator[Point, Run, Outcome]
Step = Generator[Point, Run, Any]


class _Trials:
    """What the search has measured: each point once in ``order``, its runs together."""

    def __init__(self, max_trials: int) -> None:
        self.seen: dict[Point, Measured] = {}
        self.order: list[Measured] = []
        self.count = 0
        self.max_trials = max_trials
        self.stopped = ""

    def measure(self, point: Point, label: str = "", again: bool = False) -> Step:
        """The point measured (from before, unless ``again``); None once the trials are
        spent."""
        if point in self.seen and not again:
            return self.seen[point]
        if self.count >= self.max_trials:
            self.stopped = f"the trial budget ({self.max_trials}) was spent"
            return None
        run = yield point
        self.count += 1
        found = self.seen.get(point)
        if found is None:
            found = self.seen[point] = Measured(point, label=label)
            self.order.append(found)
        found.runs.append(run)
        return found

    def top(self) -> float:
        """The busiest AU measured within the budget."""
        return max((m.busy for m in self.order if m.usable), default=0.0)


def coordinate_ascent(
    space: dict[str, list[Any]],
    baselines: list[tuple[str, Point]],
    max_trials: int,
    passes: int = 1,
) -> Search:
    """Yield the points to measure, receive each one's run; return the ``Outcome``.
    ``baselines`` (name, point): measured first, the first of them twice (the noise).
    ``passes``: over every setting, at most; a pass that changes nothing ends it."""
    trials = _Trials(max_trials)
    based: list[Measured] = []
    for label, point in baselines:
        if point in trials.seen:
            trials.seen[point].label += f", {label}"
            continue
        based.append((yield from trials.measure(point, label)))
        if based[0].over:  # the budget is below the pipeline's own peak as given
            stopped = "the pipeline as given passed the budget"
            return Outcome(trials.order, based, None, [], Noise(), trials.count, stopped)
    yield from trials.measure(based[0].point, again=True)
    busy_spread, peak_spread = based[0].spread()
    noise = Noise(max(MIN_BUSY, busy_spread), max(MIN_PEAK, peak_spread))
    incumbent = best_of(based, noise) or min(based, key=lambda m: m.peak)
    changes: list[Change] = []
    for _ in range(passes):
        moved = False
        for setting, values in space.items():
            tried = yield from _setting(trials, incumbent, setting, values, noise)
            chosen = yield from _judged(trials, incumbent, tried, noise)
            if chosen is not incumbent:
                before, after = dict(incumbent.point)[setting], dict(chosen.point)[setting]
                busy, peak = (incumbent.busy, chosen.busy), (incumbent.peak, chosen.peak)
                changes.append(Change(setting, before, after, busy, peak))
                incumbent, moved = chosen, True
            if trials.stopped:
                break
        if not moved or trials.stopped:
            break
    if incumbent.usable and len(incumbent.good) < 2:
        trials.max_trials += 1  # its range, from two runs
        yield from trials.measure(incumbent.point, again=True)
    # The recommendation is measured twice: the best of the points that were (the first
    # baseline always is), should its second run have fallen back.
    best = best_of([m for m in trials.order if len(m.good) >= 2], noise)
    return Outcome(trials.order, based, best, changes, noise, trials.count, trials.stopped)


def _setting(
    trials: _Trials, incumbent: Measured, setting: str, values: list[Any], noise: Noise
) -> Step:
    """One setting's values measured, the others at the incumbent's: every value, or
    for counts, AUTOTUNE and the largest, then halving down to the smallest count as
    busy as the best of them (AU grows with a count, and so does memory)."""
    tried: list[Measured] = []
    for value in _first_values(values, dict(incumbent.point)[setting]):
        found = yield from trials.measure(changed(incumbent.point, setting, value))
        if found is None:
            return tried
        tried.append(found)
    numbers = _ordered(values)
    reference = best_of([incumbent, *tried], noise)
    low, high = 0, len(numbers) - 1
    while reference is not None and low < high:
        middle = (low + high) // 2
        found = yield from trials.measure(changed(incumbent.point, setting, numbers[middle]))
        if found is None:
            break
        tried.append(found)
        if found.usable and found.busy >= reference.busy - noise.busy:
            high = middle
        else:
            low = middle + 1
    return [m for m in tried if m.point != incumbent.point]


def _judged(trials: _Trials, incumbent: Measured, tried: list[Measured], noise: Noise) -> Step:
    """The incumbent, or the best of ``tried`` where it beats it: a win close to the
    noise is measured again first, and must still beat it."""
    choice = best_of([m for m in tried if better(m, incumbent, noise, trials.top())], noise)
    if choice is None:
        return incumbent
    if _marginal(choice, incumbent, noise) and len(choice.good) < 2:
        yield from trials.measure(choice.point, again=True)
    return choice if better(choice, incumbent, noise, trials.top()) else incumbent


def _ordered(values: list[Any]) -> list[Any]:
    """A setting's counts in order, where it has three or more (AUTOTUNE, -1, apart):
    searched by halving. Fewer, or not counts: every value is tried."""
    numbers = sorted(
        v for v in values if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
    )
    return numbers if len(numbers) >= 3 else []


def _first_values(values: list[Any], current: Any) -> list[Any]:
    """What a pass tries of a setting before halving: every value where it is not
    searched by halving; else AUTOTUNE (where listed) and the largest count."""
    numbers = _ordered(values)
    if not numbers:
        return [v for v in values if v != current]
    ends = [v for v in values if v == -1] + [numbers[-1]]
    return [v for v in ends if v != current]


def _marginal(candidate: Measured, incumbent: Measured, noise: Noise) -> bool:
    """Whether a win needs a repeat before it is taken: unless its AU is higher by more
    than twice the noise. A win on memory alone always does: its AU was only within the
    noise of the incumbent's (files at parallelism 1: 97.2% in one run, 92.4% in the
    next, where AUTOTUNE held 96.9%)."""
    if not incumbent.usable:
        return False
    return candidate.busy <= incumbent.busy + 2 * noise.busy


def pareto(points: list[Measured]) -> list[Measured]:
    """The points no other beats on both AU and peak (usable ones), by peak."""
    usable = sorted((m for m in points if m.usable), key=lambda m: (m.peak, -m.busy))
    front: list[Measured] = []
    for m in usable:
        if not front or m.busy > front[-1].busy:
            front.append(m)
    return front


def grid(space: dict[str, list[Any]], start: Point) -> list[Point]:
    """Every point of the space (the settings ``start`` has and the space does not keep
    ``start``'s value)."""
    points = [start]
    for setting, values in space.items():
        points = [changed(p, setting, v) for p in points for v in values]
    return list(dict.fromkeys(points))
