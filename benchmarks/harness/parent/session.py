"""The one loop that runs children: every measurement of ``run``, ``sweep``,
``prove-limit`` and the pytest-benchmark suite goes through ``run_jobs``.

A job is one child to run and how its outcome becomes a record. The loop skips what a
resumed results file already holds, runs each job in its own isolated child (and its
memray-tracked rerun), appends each record the moment it exists, and on Ctrl-C says
what was kept and how to go on.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadbench.harness.parent.runner import (
    Outcome,
    memray_flamegraph,
    run_isolated,
    stop_fork_server,
    stop_resource_tracker,
)
from loadbench.loaders.errors import OptionsError
from loadbench.reports import jsonl
from loadbench.reports.records import LimitRecord, Record
from loadbench.reports.units import first_line

RESULTS = "results.jsonl"


@dataclass(frozen=True, kw_only=True)
class Harness:
    """How the session runs its children and where their records go.

    results: the JSON Lines file each record is appended to as it ends; None keeps the
        records in memory only (the pytest-benchmark suite puts them in its JSON).
    timeout_s: wall-clock limit of one child; its whole tree is killed past it.
    max_memory_bytes: a run whose process tree passes this is killed (None: no limit).
    memray_dir: where memray-tracked reruns write their captures and flame graphs;
        None: no reruns.
    resume: skip the runs (identity and repeat) ``results`` already holds.
    quiet: print nothing (the suite's own output is pytest's).
    start_method: how each child starts, "forkserver" or "spawn" (``runner``); None:
        ``LOADBENCH_START_METHOD``, else the fork server.
    """

    results: Path | None
    timeout_s: float = 600.0
    max_memory_bytes: int | None = None
    memray_dir: Path | None = None
    resume: bool = False
    quiet: bool = False
    start_method: str | None = None

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise OptionsError(f"--timeout {self.timeout_s:g}: must be above 0 seconds")
        if self.max_memory_bytes is not None and self.max_memory_bytes <= 0:
            raise OptionsError(f"--kill-above {self.max_memory_bytes}: must be above 0")
        if self.resume and self.results is None:
            raise OptionsError("resume needs a results file to resume from")


AnyRecord = Record | LimitRecord


@dataclass(frozen=True, kw_only=True)
class Job:
    """One child: its spec and the function it runs (None: the measurement), a label
    for the progress line, its identity for --resume, and how its outcome becomes a
    record. ``memray`` is the spec of a tracked rerun, whose peak joins the record."""

    spec: Any
    label: str
    to_record: Callable[[Outcome], AnyRecord]
    work: Callable[[Any], object] | None = None
    identity: str | None = None
    repeat: int = 0
    memray: Any = None
    # A job that runs only where what ended before it asks for it: None where it is not
    # needed, else why it runs (a repeat past the first ones, where they disagree).
    wanted: Callable[[list[Done]], str | None] | None = None
    # The spec to run, from what ended before it (a repeat that confirms the earlier
    # repeats' accelerators fed); None: ``spec`` as it is.
    adapted: Callable[[Any, list[Done]], Any] | None = None


@dataclass(frozen=True)
class Done:
    """A job that ended (``outcome`` None: already recorded, skipped by --resume)."""

    job: Job
    outcome: Outcome | None
    record: AnyRecord | None


def run_jobs(jobs: Iterable[Job], harness: Harness, done: list[Done] | None = None) -> list[Done]:
    """Run each job in its own child, in order; append each record to the results file
    and to ``done`` (given, it holds what ended even when Ctrl-C ends the loop). ``jobs``
    may be a generator that reads ``done`` to choose its next job (an adaptive search):
    it is drawn one job at a time, after the one before it ended."""
    total = f"/{len(jobs)}" if isinstance(jobs, list | tuple) else ""
    done = [] if done is None else done
    earlier = jsonl.read(harness.results) if harness.resume and harness.results else []
    recorded = {(r.key(), r.repeat) for r in earlier}
    say = _printer(harness.quiet)
    if harness.results is not None:
        say(f"records to {harness.results}")
    try:
        for number, job in enumerate(jobs, start=1):
            label = f"  [{number}{total}]{job.label}"
            if job.identity is not None and (job.identity, job.repeat) in recorded:
                say(f"{label} already recorded, skipped (--resume)")
                done.append(Done(job, None, None))
                continue
            if job.wanted is not None and job.wanted(done) is None:
                say(f"{label} not needed: the earlier repeats agree")
                continue
            say(f"{label} ...", end="", flush=True)
            outcome = run_isolated(
                job.spec if job.adapted is None else job.adapted(job.spec, done),
                harness.timeout_s,
                harness.max_memory_bytes,
                job.work,
                start_method=harness.start_method,
            )
            record = job.to_record(outcome)
            if job.memray is not None and harness.memray_dir is not None:
                record = _with_memray(record, job, harness)
            if harness.results is not None:
                jsonl.append(harness.results, record)
            done.append(Done(job, outcome, record))
            say(f" {record.status} in {outcome.wall_s:.1f} s{_why(record)}")
    except KeyboardInterrupt:
        kept = sum(d.outcome is not None for d in done)
        where = f"are in {harness.results}" if harness.results else "are kept"
        print(
            f"\ninterrupted: the {kept} run(s) finished so far {where}; "
            "run the same command with --resume to go on",
            file=sys.stderr,
        )
        raise
    finally:
        stop_fork_server()
        stop_resource_tracker()
    return done


def none_started(done: list[Done]) -> bool:
    """Whether jobs ran and not one child could be started (the command exits 1)."""
    ran = [d.outcome for d in done if d.outcome is not None]
    return bool(ran) and not any(outcome.started for outcome in ran)


def records_of(done: list[Done]) -> list[Record]:
    """The run records among ``done`` (not the skipped, not prove-limit's)."""
    return [d.record for d in done if isinstance(d.record, Record)]


def _with_memray(record: AnyRecord, job: Job, harness: Harness) -> AnyRecord:
    """``record`` with the peak and flame graph of the job's memray-tracked rerun."""
    assert harness.memray_dir is not None and isinstance(record, Record)
    capture = Path(job.memray.memray_path)
    outcome = run_isolated(
        job.memray,
        harness.timeout_s,
        harness.max_memory_bytes,
        job.work,
        start_method=harness.start_method,
    )
    if outcome.status != "ok":
        return record
    return record.updated(
        memray_peak_bytes=outcome.result.measurement.memory.memray_peak_bytes,
        memray_flamegraph=memray_flamegraph(capture, capture.with_suffix(".html")),
    )


def _why(record: AnyRecord) -> str:
    """': reason' for a run that did not end ok, in a line (a service's worker buries it)."""
    if isinstance(record, LimitRecord):
        return f": {first_line(record.outcome)[:100]}"
    if not record.error:
        return ""
    if record.options.get("service"):
        from loadbench.reports.data_service import reason

        return f": {reason(record)}"
    return f": {first_line(record.error)}"


def _printer(quiet: bool) -> Callable[..., None]:
    def say(*args: Any, **kwargs: Any) -> None:
        if not quiet:
            print(*args, **kwargs)

    return say
