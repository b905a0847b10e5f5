"""One registry of strategies: built-ins, the ``loadbench.loaders`` entry points, and
``package.module:Name`` references given on the command line.

Built-ins are listed as import strings so that listing them does not import TensorFlow.
A name registered twice is an error naming both places.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points

from loadbench.loaders.errors import StrategyError
from loadbench.loaders.protocol import BatchStrategy, Strategy

ENTRY_POINT_GROUP = "loadbench.loaders"
BUILTIN = {
    "tensor_slices": "loadbench.loaders.strategies.tensor_slices:TensorSlices",
    "generator": "loadbench.loaders.strategies.generator:Generator",
    "sequence": "loadbench.loaders.strategies.sequence:Sequence",
    "files": "loadbench.loaders.strategies.files:Files",
    "tfrecord": "loadbench.loaders.strategies.tfrecord:TFRecord",
    "tfrecord_png": "loadbench.loaders.strategies.tfrecord_png:TFRecordPNG",
    "memmap": "loadbench.loaders.strategies.memmap:Memmap",
    "fixed_length": "loadbench.loaders.strategies.fixed_length:FixedLength",
}
# The machine's ceilings (loaders/ceilings.py): created by name like strategies, but
# not listed by names(); ``loadbench run`` measures them beside the strategies.
CEILINGS = {
    "ceiling_decode": "loadbench.loaders.strategies.ceilings:DecodeCeiling",
    "ceiling_copy": "loadbench.loaders.strategies.ceilings:CopyCeiling",
}


# A preset's own strategies: created by name, not listed, not in the default run.
PRESET_STRATEGIES = {"article": "loadbench.loaders.strategies.article:Article"}


@dataclass(frozen=True)
class Registration:
    """Where a strategy comes from: ``target`` is ``module:attribute``."""

    name: str
    target: str
    origin: str


def registrations() -> dict[str, Registration]:
    """Every registered strategy by name: built-ins first, then installed entry points."""
    found = {n: Registration(n, t, "built-in") for n, t in BUILTIN.items()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "unknown distribution"
        new = Registration(ep.name, ep.value, f"entry point of {dist}")
        if ep.name in found:
            old = found[ep.name]
            raise StrategyError(
                f"strategy {ep.name!r} is registered twice: {old.target} ({old.origin}) and "
                f"{new.target} ({new.origin}); rename one of them"
            )
        found[ep.name] = new
    return found


def names() -> list[str]:
    return list(registrations())


def check(name: str) -> None:
    """Raise StrategyError unless ``name`` is registered or its module can be found.

    Does not import the strategy (nor TensorFlow): the parent of the runs stays light.
    """
    if ":" not in name:
        table = registrations()
        if name not in table and name not in PRESET_STRATEGIES:
            raise StrategyError(
                f"unknown strategy {name!r}; registered: {', '.join(table)} "
                "(or give package.module:Name)"
            )
        return
    module_name = name.partition(":")[0]
    try:
        found = importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise StrategyError(f"--loaders {name}: no module {module_name!r} on the Python path")


def create(name: str) -> Strategy | BatchStrategy:
    """A fresh strategy from a registered name or a ``package.module:Name`` reference."""
    if ":" in name:
        return _instantiate(Registration(name, name, "--loader reference"))
    if name in CEILINGS:
        return _instantiate(Registration(name, CEILINGS[name], "built-in ceiling"))
    if name in PRESET_STRATEGIES:
        return _instantiate(Registration(name, PRESET_STRATEGIES[name], "a preset's strategy"))
    table = registrations()
    if name not in table:
        raise StrategyError(
            f"unknown strategy {name!r}; registered: {', '.join(table)} "
            "(or give package.module:Name)"
        )
    return _instantiate(table[name])


def _instantiate(reg: Registration) -> Strategy | BatchStrategy:
    module_name, _, attribute = reg.target.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise StrategyError(
            f"strategy {reg.name!r} ({reg.origin}) cannot be loaded from {reg.target}: {exc}"
        ) from exc
    try:
        strategy = factory()
    except TypeError as exc:  # an abstract method left out, or arguments it needs
        raise StrategyError(f"strategy {reg.name!r} ({reg.target}) cannot be made: {exc}") from exc
    if not isinstance(strategy, Strategy | BatchStrategy):
        raise StrategyError(
            f"{reg.target} ({reg.origin}) is not a strategy: subclass loadbench.Strategy "
            "(it yields samples: samples()) or loadbench.BatchStrategy (batches()) and give "
            "it a name (docs/strategies.md)"
        )
    return strategy
