"""What ``loadbench tune`` checks in a child before and after its trials: that the
settings ``--space`` names are keyword arguments the function takes and that each
value can be passed (before), and what the recommended pipeline would change of the
training (after: a cache after a random transformation, an order not kept)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from loadbench.harness.child.stages import Stage
from loadbench.harness.child.tuning import KNOBS

# What TensorFlow does with a knob the pipeline leaves unset (``tf.data.Options`` reads
# None there): its documented defaults. The others have none to name (a shared thread
# pool, half the RAM, every core, the default algorithm): left "as given".
TF_DEFAULTS = {
    "map_parallelization": True,
    "inject_prefetch": True,
    "parallel_batch": True,
    "deterministic": True,
}


@dataclass(frozen=True, kw_only=True)
class SpaceCheck:
    """A function's keyword arguments to check: each (name, values), at ``kwargs``; and
    the ``tf.data.Options`` knobs searched, whose values as given are read."""

    target: str
    kwargs: dict[str, Any]
    settings: tuple[tuple[str, tuple[Any, ...]], ...]
    knobs: tuple[str, ...] = ()
    log_path: str | None = None


@dataclass(frozen=True)
class Checked:
    """What the check found: what is wrong, one line each (empty: nothing), and the
    defaults of the keyword arguments searched (a value the function would take when not
    given: the "as given" point then names it)."""

    problems: list[str]
    defaults: dict[str, Any]


def check_space(check: SpaceCheck) -> Checked:
    """The child's work."""
    from loadbench.harness.commands import pipelines

    make = pipelines.resolve(check.target)
    signature = inspect.signature(make)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    named = [n for n, p in signature.parameters.items() if p.kind is not p.VAR_KEYWORD]
    problems = []
    try:  # as given: a dataset at all?
        made = pipelines.call(check.target, make, dict(check.kwargs))
    except Exception as exc:
        return Checked([str(exc)], {})
    given = {name: _knob(made.options(), name) for name in check.knobs}
    defaults = {
        name: parameter.default
        for name, parameter in signature.parameters.items()
        if isinstance(parameter.default, bool | int | float | str)
    }
    for name, values in check.settings:
        if name not in signature.parameters and not takes_any:
            problems.append(
                f"--space {name}: {check.target} takes no keyword {name!r} (it takes: "
                f"{', '.join(named) or 'none'}); a tf.data option is one of the knobs "
                "listed in docs/tune.md"
            )
            continue
        for value in values:
            try:
                pipelines.call(check.target, make, {**check.kwargs, name: value})
            except Exception as exc:  # the user's function refused the value
                problems.append(f"--space {name}={value}: {exc}")
    searched = {name for name, _ in check.settings}
    found = {n: v for n, v in defaults.items() if n in searched}
    found.update({n: v for n, v in given.items() if v is not None})
    return Checked(problems, found)


def _knob(options: Any, name: str) -> Any:
    """A knob's value on the dataset as given: its own, else TensorFlow's default."""
    holder = options
    for part in KNOBS[name][0].split("."):
        holder = getattr(holder, part, None)
    if holder is not None and KNOBS[name][1] == "algorithm":
        return getattr(holder, "name", holder)
    return TF_DEFAULTS.get(name) if holder is None else holder


def warnings_for(
    stages: list[Stage], knobs: dict[str, Any], given_knobs: dict[str, Any]
) -> list[str]:
    """What the recommended pipeline changes of the training, in words."""
    found = []
    randomised = [s for s in stages if s.random]
    for stage in stages:
        if stage.name == "cache" and any(r.index < stage.index for r in randomised):
            before = ", ".join(r.call for r in randomised if r.index < stage.index)
            found.append(
                f"{stage.call} (stage {stage.index}) sits after a random transformation "
                f"({before}): every epoch after the first repeats the first's draws "
                "(augmentations frozen); move the cache before it"
            )
    if knobs.get("deterministic") is False and given_knobs.get("deterministic") is not False:
        found.append(
            "deterministic=False: elements may come in another order from run to run "
            "(parallel stages hand over whichever is ready first)"
        )
    return found
