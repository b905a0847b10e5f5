"""What ``loadbench tune`` may set on any dataset without touching its code: the
``tf.data.Options`` it searches, by the name ``--space`` takes, and how a trial's child
applies them. The table is read by the parent too (names and values checked before any
child starts); TensorFlow is imported only to apply them."""

from __future__ import annotations

from typing import Any

# name: (the attribute path under tf.data.Options, the kind of value)
KNOBS: dict[str, tuple[str, str]] = {
    "map_parallelization": ("experimental_optimization.map_parallelization", "bool"),
    "inject_prefetch": ("experimental_optimization.inject_prefetch", "bool"),
    "parallel_batch": ("experimental_optimization.parallel_batch", "bool"),
    "deterministic": ("deterministic", "bool"),
    "private_threadpool_size": ("threading.private_threadpool_size", "int"),
    "autotune_ram_budget": ("autotune.ram_budget", "bytes"),
    "autotune_cpu_budget": ("autotune.cpu_budget", "int"),
    "autotune_algorithm": ("autotune.autotune_algorithm", "algorithm"),
}
ALGORITHMS = ("DEFAULT", "HILL_CLIMB", "GRADIENT_DESCENT", "MAX_PARALLELISM", "STAGE_BASED")


def options_of(knobs: tuple[tuple[str, Any], ...]) -> Any:
    """A ``tf.data.Options`` with each knob set."""
    import tensorflow as tf

    options = tf.data.Options()
    for name, value in knobs:
        path, kind = KNOBS[name]
        *parents, leaf = path.split(".")
        holder = options
        for parent in parents:
            holder = getattr(holder, parent)
        if kind == "algorithm":
            value = getattr(tf.data.experimental.AutotuneAlgorithm, str(value))
        setattr(holder, leaf, value)
    return options


def applied(ds: Any, knobs: tuple[tuple[str, Any], ...]) -> Any:
    """``ds`` with the knobs set over its own options (theirs win)."""
    return ds.with_options(options_of(knobs)) if knobs else ds


def code_lines(knobs: dict[str, Any]) -> list[str]:
    """The lines that set these knobs, as a user writes them."""
    lines = ["options = tf.data.Options()"]
    for name, value in knobs.items():
        path, kind = KNOBS[name]
        if kind == "algorithm":
            shown = f"tf.data.experimental.AutotuneAlgorithm.{value}"
        else:
            shown = repr(value)
        lines.append(f"options.{path} = {shown}")
    lines.append("ds = ds.with_options(options)")
    return lines
