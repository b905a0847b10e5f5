"""``loadbench tune``: the settings that keep the accelerator busiest within a memory
budget, found by measuring them (``search``: coordinate ascent, each change confirmed).

A trial is one point of the space (a value for every setting searched) measured in its
own child as a training run under the accelerator, until its memory settles: its AU
over the settle window (``settled_busy_share``: a pipeline that caches is judged after
its first epoch), samples a second, the tree's peak PSS above its baseline and the
graph's bytes. A trial whose RSS passes the budget stops there and is recorded
``over_budget``. The space: for a built-in strategy, the shared pipeline options; for a
user's ``MODULE:FUNCTION``, the keyword arguments ``--space`` names and the
``tf.data.Options`` any dataset takes (``loadbench.harness.child.tuning.KNOBS``).
Baselines, measured in the same run: the settings as given, everything AUTOTUNE, and
parallelism equal to the core count (Plumber's protocol).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from loadbench.harness.child.settle import SHORT_WINDOW_S, Settling
from loadbench.harness.child.tuning import ALGORITHMS, KNOBS
from loadbench.harness.commands import search
from loadbench.harness.commands.profile import ProfileSpec
from loadbench.harness.commands.profile import options_fields as profile_options
from loadbench.harness.parent.builder import options_fields, run_record
from loadbench.harness.parent.session import Done, Job
from loadbench.harness.spec import RunSpec
from loadbench.loaders.errors import OptionsError
from loadbench.loaders.options import AUTOTUNE, CACHE_MODES
from loadbench.reports.records import Record
from loadbench.reports.units import format_bytes, parse_bytes

# A built-in strategy's settings (the shared pipeline options) and the default space.
PIPELINE_SETTINGS = ("prefetch", "parallelism", "cache", "shuffle_buffer", "batch_size")
DEFAULT_BUILTIN_SPACE: dict[str, list[Any]] = {
    "cache": ["none", "memory"],
    "parallelism": [1, 2, 3, 4, 8, AUTOTUNE],
    "prefetch": [0, 1, 2, 4, 8, AUTOTUNE],
}
DEFAULT_OPTIONS_SPACE: dict[str, list[Any]] = {
    "map_parallelization": [True, False],
    "inject_prefetch": [True, False],
}
MAX_TIME_S = 20.0  # a trial's cap on waiting for its memory to settle
TRIAL_STEPS, TRIAL_WARMUP, TRIAL_MIN_S = 10, 2, 1.0
DEFAULT_TRIALS = 24


@dataclass(frozen=True, kw_only=True)
class Setting:
    """One setting searched: its name, its values in the order given, and where it goes
    (a pipeline option, a keyword argument, a ``tf.data.Options`` knob)."""

    name: str
    values: list[Any]
    kind: str  # "pipeline", "kwarg", "option"


def parse_value(text: str, name: str, kind: str) -> Any:
    """A value as ``--space`` gives it: 'autotune' (AUTOTUNE, -1), a bool, an int, a
    float, a size (a knob of bytes) or a string."""
    word = text.strip()
    if word.lower() in {"auto", "autotune"}:
        return AUTOTUNE
    if word.lower() in {"true", "false"}:
        return word.lower() == "true"
    if kind == "bytes":
        return parse_bytes(word, f"--space {name}")
    for convert in (int, float):
        try:
            return convert(word)
        except ValueError:
            pass
    return word


def parse_space(texts: list[str], builtin: bool) -> list[Setting]:
    """``--space NAME=V1,V2,...`` each, checked: a built-in strategy's names are its
    pipeline options; a function's are its keyword arguments (checked in a child, where
    the function is imported) or ``tf.data.Options`` knobs."""
    found: dict[str, Setting] = {}
    for text in texts:
        name, sep, listed = text.partition("=")
        name = name.strip()
        values_text = [v for v in listed.split(",") if v.strip()]
        if not sep or not name or not values_text:
            raise OptionsError(
                f"--space {text!r}: expected NAME=V1,V2,... (e.g. --space prefetch=1,2,autotune)"
            )
        kind = _kind_of(name, builtin)
        knob = KNOBS.get(name, ("", ""))[1]
        values = list(dict.fromkeys(parse_value(v, name, knob) for v in values_text))
        _check_values(name, kind, values)
        found[name] = Setting(name=name, values=values, kind=kind)
    return list(found.values())


def _kind_of(name: str, builtin: bool) -> str:
    if builtin:
        if name not in PIPELINE_SETTINGS:
            raise OptionsError(
                f"--space {name}: a built-in strategy's settings are {', '.join(PIPELINE_SETTINGS)}"
            )
        return "pipeline"
    return "option" if name in KNOBS else "kwarg"


def _check_values(name: str, kind: str, values: list[Any]) -> None:
    check = _pipeline_value if kind == "pipeline" else _knob_value if kind == "option" else None
    bad = [f"{value!r} ({why})" for value in values if check and (why := check(name, value))]
    if bad:
        raise OptionsError(f"--space {name}: {'; '.join(bad)}")


def _pipeline_value(name: str, value: Any) -> str | None:
    """What is wrong with a pipeline option's value (None: nothing)."""
    if name == "cache":
        return None if value in CACHE_MODES else f"one of {', '.join(CACHE_MODES)}"
    if not isinstance(value, int) or isinstance(value, bool):
        return "a whole number or autotune"
    if name in ("shuffle_buffer", "batch_size") and value == AUTOTUNE:
        return "tf.data has no autotune for it: give counts"
    if name in ("parallelism", "batch_size") and value == 0:
        return "at least 1"
    return None if value >= AUTOTUNE else "a count, or autotune"


def _knob_value(name: str, value: Any) -> str | None:
    """What is wrong with a ``tf.data.Options`` knob's value (None: nothing)."""
    want = KNOBS[name][1]
    if want == "bool" and not isinstance(value, bool):
        return "true or false"
    if want in ("int", "bytes") and (not isinstance(value, int) or value < 0):
        return "a count, 0 for TensorFlow's default"
    if want == "algorithm" and value not in ALGORITHMS:
        return f"one of {', '.join(ALGORITHMS)}"
    return None


def default_space(builtin: bool, given: list[Setting]) -> list[Setting]:
    """The space searched: what ``--space`` gives, else the default's settings."""
    if given:
        return given
    table: dict[str, list[Any]] = DEFAULT_BUILTIN_SPACE if builtin else DEFAULT_OPTIONS_SPACE
    kind = "pipeline" if builtin else "option"
    return [Setting(name=n, values=list(v), kind=kind) for n, v in table.items()]


@dataclass(frozen=True, kw_only=True)
class Plan:
    """One tune: the spec of the pipeline as given (a strategy's train run, or a user's
    under ``--step-time``), the space, the budget, and where records go."""

    spec: RunSpec | ProfileSpec
    space: list[Setting]
    budget_bytes: int
    max_trials: int = DEFAULT_TRIALS
    out: Path
    dataset: dict[str, Any] = field(default_factory=dict)
    epoch_samples: int = 0  # a strategy's split: a point that caches settles after one
    # As given where the command line does not say: the function's keyword defaults, the
    # dataset's own tf.data options (or TensorFlow's defaults for them).
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> list[str]:
        return [s.name for s in self.space]

    def given(self) -> dict[str, Any]:
        """Every setting's value as the pipeline is given."""
        return {s.name: self._given(s) for s in self.space}

    def _given(self, setting: Setting) -> Any:
        if setting.kind == "pipeline":
            assert isinstance(self.spec, RunSpec)
            return getattr(self.spec.options, setting.name)
        if setting.kind == "kwarg":
            assert isinstance(self.spec, ProfileSpec)
            return self.spec.kwargs.get(
                setting.name, self.defaults.get(setting.name, GIVEN_DEFAULT)
            )
        given = dict(self.spec.tf_options)
        return given.get(setting.name, self.defaults.get(setting.name, GIVEN_DEFAULT))

    def baselines(self) -> list[tuple[str, search.Point]]:
        """As given; everything AUTOTUNE; parallelism equal to the cores."""
        given = self.given()
        autotuned = {
            s.name: AUTOTUNE
            if AUTOTUNE in s.values or s.name in ("prefetch", "parallelism")
            else given[s.name]
            for s in self.space
        }
        cores = os.cpu_count() or 1
        by_cores = {s.name: cores if _parallel(s) else given[s.name] for s in self.space}
        named = [
            ("as given", given),
            ("everything AUTOTUNE", autotuned),
            ("parallelism = cores", by_cores),
        ]
        return [(label, search.point_of(values, self.order)) for label, values in named]

    def spec_for(self, point: search.Point) -> RunSpec | ProfileSpec:
        """The trial's spec: the point's settings applied to the pipeline as given."""
        values = dict(point)
        pipeline = {n: v for n, v in values.items() if self._kind(n) == "pipeline"}
        kwargs = {
            n: v for n, v in values.items() if self._kind(n) == "kwarg" and v is not GIVEN_DEFAULT
        }
        knobs = {
            n: v for n, v in values.items() if self._kind(n) == "option" and v is not GIVEN_DEFAULT
        }
        base = self.spec
        options = {**dict(base.tf_options), **knobs}
        caches = pipeline.get("cache", "none") != "none"
        settling = Settling(
            max_s=MAX_TIME_S,
            epoch_samples=self.epoch_samples if caches else 0,
            window_s=SHORT_WINDOW_S,
        )
        knobs_all = tuple(options.items())
        budget = self.budget_bytes
        if isinstance(base, RunSpec):
            return replace(
                base,
                options=replace(base.options, **pipeline),
                tf_options=knobs_all,
                settling=settling,
                memory_budget_bytes=budget,
                fed_search=False,
            )
        return replace(
            base,
            kwargs={**base.kwargs, **kwargs},
            tf_options=knobs_all,
            settling=settling,
            memory_budget_bytes=budget,
            fed_search=False,
        )

    def _kind(self, name: str) -> str:
        return next(s.kind for s in self.space if s.name == name)

    def options_of(self, spec: RunSpec | ProfileSpec) -> dict[str, Any]:
        found = profile_options(spec) if isinstance(spec, ProfileSpec) else options_fields(spec)
        if spec.tf_options:
            found["tf_options"] = dict(spec.tf_options)
        return found


class _Given:
    """A setting left as the pipeline has it (a keyword the function was not given)."""

    def __repr__(self) -> str:
        return "as given"

    def __reduce__(self) -> str:
        return "GIVEN_DEFAULT"


GIVEN_DEFAULT = _Given()


def _parallel(setting: Setting) -> bool:
    """A count of parallel calls or threads (not a switch such as map_parallelization):
    the cores baseline sets it."""
    counts = all(isinstance(v, int) and not isinstance(v, bool) for v in setting.values)
    name = setting.name.lower()
    return counts and any(word in name for word in ("parallel", "threadpool", "workers", "calls"))


def run_of(record: Record, budget: int) -> search.Run:
    """What the search judges of one trial's record."""
    busy = record.training.settled_busy_share
    if busy is None:
        busy = record.training.accelerator_busy_share
    peak = record.memory.peak_pss_bytes
    over = record.status == "over_budget" or _passed(record, budget) is not None
    return search.Run(
        busy=busy,
        peak=peak,
        rate=record.throughput.samples_per_s,
        ok=record.status == "ok" and not over,
        over=over,
        error=record.error,
    )


def judged(record: Record, budget: int) -> Record:
    """The record as the search sees it: ``over_budget`` where its peak passed."""
    passed = _passed(record, budget)
    if record.status == "ok" and passed is not None:
        said = f"{passed} passed the budget of {format_bytes(budget)}"
        return replace(record, status="over_budget", error=said)
    return record


def _passed(record: Record, budget: int) -> str | None:
    """Which of the trial's peaks passed ``budget`` ('peak PSS 301.2 MB'), None where
    neither did. The child stops a trial as its tree's RSS passes the budget, and the PSS
    it last read can lag the climb that did it (a PSS read takes about 10 ms and follows
    a climb of the RSS): 299 MB PSS against 300 MB when a cache's RSS passed it."""
    for name, peak in (
        ("peak PSS", record.memory.peak_pss_bytes),
        ("peak RSS", record.memory.peak_rss_bytes),
    ):
        if peak is not None and peak > budget:
            return f"{name} {format_bytes(peak)}"
    return None


def describe_point(point: search.Point) -> str:
    return " ".join(f"{n}={shown(v)}" for n, v in point)


def shown(value: Any) -> str:
    if value is GIVEN_DEFAULT:
        return "as-given"
    if value == AUTOTUNE and not isinstance(value, bool):
        return "autotune"
    return str(value).lower() if isinstance(value, bool) else str(value)


def trial_jobs(plan: Plan, found: search.Search, done: list[Done], labels: dict) -> Iterator[Job]:
    """The search's points as jobs, drawn one at a time (``run_jobs`` appends each one's
    record to ``done`` before drawing the next); the search's outcome goes to ``labels``
    under "outcome" when it ends."""
    try:
        point = next(found)
        number = 0
        while True:
            number += 1
            yield job(plan, point, number, labels.get(point, ""))
            record = done[-1].record
            assert isinstance(record, Record)
            point = found.send(run_of(record, plan.budget_bytes))
    except StopIteration as stop:
        labels["outcome"] = stop.value


def job(plan: Plan, point: search.Point, number: int, baseline: str) -> Job:
    spec = replace(plan.spec_for(point), log_path=str(plan.out / "logs" / f"trial-{number}.log"))
    options = {
        **plan.options_of(spec),
        "tune": {n: shown(v) for n, v in point},
        **({"baseline": baseline} if baseline else {}),
    }
    work = None
    if isinstance(spec, ProfileSpec):
        from loadbench.harness.commands.profile import measure_profile

        work = measure_profile

    def to_record(outcome: Any) -> Record:
        return judged(run_record(spec, outcome, plan.dataset, options), plan.budget_bytes)

    return Job(spec=spec, label=f" {describe_point(point)}", to_record=to_record, work=work)
