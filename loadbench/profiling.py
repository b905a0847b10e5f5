"""``loadbench.profile``: a user's own pipeline measured in an isolated child, its record
returned. What ``loadbench profile`` does for one target, callable from a script, a
notebook or a test (the ``loadbench_profile`` fixture calls it)."""

from __future__ import annotations

import importlib.util
import inspect
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadbench.loaders.errors import LoadbenchError, OptionsError
from loadbench.reports.records import Record


class MeasurementError(LoadbenchError):
    """A profiled pipeline's run did not end ok; ``record`` holds what was measured."""

    exit_code = 1

    def __init__(self, message: str, record: Record) -> None:
        super().__init__(message)
        self.record = record


def target_of(function: Callable[..., Any] | str) -> str:
    """``MODULE:FUNCTION`` for a module-level function: its module's name where the child
    can import it so (the same ``sys.path``), else its file's path."""
    if isinstance(function, str):
        return function
    name = getattr(function, "__qualname__", "")
    if not callable(function) or not name.isidentifier():  # a lambda, a nested function
        raise OptionsError(
            f"{function!r} is not a module-level function; the measuring child imports it "
            "by name: define it at the top of a module, or pass 'MODULE:FUNCTION'"
        )
    module = function.__module__
    if module != "__main__" and importlib.util.find_spec(module) is not None:
        return f"{module}:{name}"
    return f"{inspect.getsourcefile(function)}:{name}"


def profile(
    make_dataset: Callable[..., Any] | str,
    *,
    steps: int = 20,
    warmup: int = 3,
    min_time_s: float = 0.0,
    kwargs: dict[str, Any] | None = None,
    batch_size: int | None = None,
    model: Callable[..., Any] | str | None = None,
    step_time_s: float | None = None,
    accelerator: str | None = None,
    timeout_s: float = 600.0,
    out: str | Path | None = None,
    check: bool = True,
) -> Record:
    """Measure ``make_dataset`` (a module-level function returning a ``tf.data.Dataset``
    or a Keras ``PyDataset``, or ``"MODULE:FUNCTION"``) in a fresh child process; return
    its ``Record``.

    steps: measured batches, after ``warmup`` excluded ones; min_time_s: go on until
    the measured batches span this long (0: exactly ``steps``); kwargs: make_dataset's
    keyword arguments; batch_size: batch an unbatched dataset by N; model: a function
    returning a compiled keras.Model (each batch through its train_step); step_time_s or
    accelerator (a name from ``loadbench list``): an emulated accelerator's step, with
    how many of them the pipeline keeps 90% busy; out: a folder for the child's log (a
    temporary one by default). A run that does not end ok raises ``MeasurementError``
    (its ``record`` attached) unless ``check`` is false.
    """
    record, _ = measure(
        make_dataset,
        steps=steps,
        warmup=warmup,
        min_time_s=min_time_s,
        kwargs=kwargs,
        batch_size=batch_size,
        model=model,
        step_time_s=step_time_s,
        accelerator=accelerator,
        timeout_s=timeout_s,
        out=out,
    )
    if check and record.status != "ok":
        raise MeasurementError(
            f"profile({record.strategy}) {record.status}: {record.error}", record
        )
    return record


def measure(
    make_dataset: Callable[..., Any] | str,
    *,
    steps: int,
    warmup: int,
    min_time_s: float,
    kwargs: dict[str, Any] | None,
    batch_size: int | None,
    model: Callable[..., Any] | str | None,
    step_time_s: float | None,
    accelerator: str | None,
    timeout_s: float,
    out: str | Path | None,
) -> tuple[Record, Any]:
    """``profile``'s run: the record and the child's outcome (its step times, for
    pytest-benchmark's statistics)."""
    from loadbench.harness.commands.profile import ProfileConfig, profile_jobs
    from loadbench.harness.parent.session import Harness, records_of, run_jobs
    from loadbench.workload.accelerators import choose

    target = target_of(make_dataset)
    with tempfile.TemporaryDirectory(prefix="loadbench-") as scratch:
        config = ProfileConfig(
            targets=(target,),
            kwargs=dict(kwargs or {}),
            steps=steps,
            warmup=warmup,
            min_time_s=min_time_s,
            batch=batch_size,
            model=target_of(model) if model is not None else None,
            accelerator=choose(accelerator, step_time_s),
            fed_search=step_time_s is not None or accelerator is not None,
            repeats=1,
            out=Path(out) if out is not None else Path(scratch),
        )
        harness = Harness(results=None, timeout_s=timeout_s, quiet=True)
        done = run_jobs(profile_jobs(config), harness)
    return records_of(done)[-1], done[-1].outcome
