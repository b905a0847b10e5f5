"""The record builder: what the child returned and how the run ended, with how it was
asked for (the dataset, the options, the command line), made into one ``Record``. The
parent's side; every command's plan (``run``, ``profile``, ``prove-limit``) uses it."""

from __future__ import annotations

import shlex
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from loadbench.harness.parent.environment import environment
from loadbench.harness.parent.runner import Outcome
from loadbench.harness.spec import RunSpec
from loadbench.loaders.dataset.layout import Split
from loadbench.reports.records import Measurement, Record


class Asked(Protocol):
    """What the builder reads of a run's spec (a strategy's ``RunSpec``, a user's
    pipeline's ``ProfileSpec``)."""

    @property
    def strategy(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def log_path(self) -> str | None: ...


def run_record(
    spec: Asked,
    outcome: Outcome,
    dataset: dict[str, Any],
    options: dict[str, Any],
    *,
    role: str = "strategy",
    repeat: int = 0,
) -> Record:
    """The record of one isolated run: what the child measured, field by field, and how
    the run was asked for and ended. A child that reported nothing measured nothing."""
    report = outcome.result
    measured = report.measurement if report is not None else Measurement(role=role)
    return Record.of(
        measured,
        strategy=spec.strategy,
        mode=spec.mode,
        status=outcome.status,
        error=outcome.error,
        dataset=dataset,
        options=options,
        repeat=repeat,
        env=environment(report.gpu_name if report else None, report.tf_version if report else None),
        started_at=outcome.started_at,
        wall_s=round(outcome.wall_s, 3),
        machine_speed=outcome.machine_speed,
        log=str(Path(spec.log_path).resolve()) if spec.log_path else None,
        command=command_line(),
    )


def stem(mode: str, strategy: str) -> str:
    """A file name for a run: 'train-generator', 'iterate-my_pkg.readers_Reader'."""
    return f"{mode}-{strategy.replace(':', '_').replace('/', '_')}"


def command_line() -> str:
    """The command that is running, as a user would type it again."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("loadbench", "__main__.py")):
        argv[0] = "loadbench"
    elif argv and Path(argv[0]).name in {"pytest", "py.test", "pytest.py"}:
        argv[0] = "pytest"
    return shlex.join(argv)


def dataset_fields(data: Split, synthetic: bool) -> dict[str, Any]:
    """The record's ``dataset``: where, which split, how many pairs, how big."""
    return {
        "root": "synthetic" if synthetic else str(data.root.resolve()),
        "split": data.split,
        "pairs": data.pairs,
        "image_size": list(data.image_size),
        "bytes_per_sample": data.bytes_per_sample,
        **({"unpaired": list(data.unpaired)} if data.unpaired else {}),
    }


def options_fields(spec: RunSpec) -> dict[str, Any]:
    """The record's ``options``: pipeline options, the run length, and in train mode the
    width asked for (None: the machine's default; the record's ``width`` says which)."""
    found = asdict(spec.options)
    found.update(steps=spec.steps, warmup_steps=spec.warmup_steps)
    if spec.min_measured_s:
        found["min_measured_s"] = spec.min_measured_s
    if spec.distributed:
        found.update(service=spec.service, processing_mode=spec.processing_mode)
    if spec.mode == "train":
        found["width"] = spec.width
        found["accelerator"] = spec.accelerator.asked  # None: left to the machine
        if spec.accelerator.step_time_s is not None:
            found["step_time_s"] = spec.accelerator.step_time_s
    if spec.preset:
        found["preset"] = spec.preset
    return found
