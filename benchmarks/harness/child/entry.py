"""The child's entry and exit: one fresh process per measurement.

TensorFlow is not fork-safe once it has run anything and a run may abort or exhaust
memory, so each run gets a fresh process, forked from a server that has imported
TensorFlow but never run it (``preload``), or spawned (``loadbench.harness.parent.runner``);
the parent reads back the one object the child's work returned. What the fork server
knows (the file pages it had mapped) reaches ``child_main`` as its ``startup`` argument.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pickle
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadbench.harness.procs import die_with_parent, lead_own_group
from loadbench.loaders.files import atomic_write

ERROR_LIMIT = 4000  # TensorFlow's errors can carry whole arrays; the log has the rest
# Seconds the child's exit gives Python's clean-up (atexit) before leaving without it.
CLEAN_UP_S = 5.0


@dataclass(frozen=True)
class Startup:
    """What the fork server leaves its children: the file pages it had mapped once it
    had imported everything, which each child maps again before its baseline
    (``loadbench.harness.child.pages``)."""

    resident: Any  # numpy array of page addresses


@dataclass(frozen=True)
class Setting:
    """The parent's environment variables and ``sys.path`` at the run: a forked child
    takes them on first, so it sees what a spawned one would (the fork server's are
    those of the moment it started)."""

    environ: dict[str, str]
    path: list[str]
    forked: bool = False  # from the fork server: map its resident file pages first


@dataclass(frozen=True)
class ChildFailure:
    """The exception a child's work raised, as one line (the log has the traceback)."""

    error: str


def child_main(
    spec: Any,
    result_path: str,
    work: Callable[[Any], object] | None = None,
    setting: Setting | None = None,
    startup: Startup | None = None,
) -> None:
    """Entry point of the child: ``work(spec)`` (default: ``measure``) under the harness's
    set-up; pickles what it returned, or a ChildFailure, to ``result_path``. ``spec`` is
    any frozen spec with a ``log_path``; ``startup``: the fork server's, for a forked child."""
    if setting is not None:
        os.environ.clear()
        os.environ.update(setting.environ)
        sys.path[:] = setting.path
    if startup is not None:
        from loadbench.harness.child import pages

        # Memory as a spawned child's, before any baseline (loadbench.harness.child.pages).
        pages.map_pages(startup.resident)
        pages.unshare_anonymous()
    die_with_parent()
    lead_own_group()
    if spec.log_path:
        _redirect_output(spec.log_path)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    # A spawned interpreter would spawn its own subprocesses too, each importing
    # TensorFlow again; the strategy's worker processes start as in a user's own script.
    multiprocessing.set_start_method(None, force=True)
    try:
        if work is None:
            from loadbench.harness.child.measure import measure

            work = measure
        result = work(spec)
    except Exception as exc:  # a failing measurement is a result, never a lost run
        traceback.print_exc()  # to the run's log
        error = f"{type(exc).__name__}: {exc}"
        atomic_write(result_path, pickle.dumps(ChildFailure(error[:ERROR_LIMIT])))
        _leave(spec, 1)
    atomic_write(result_path, pickle.dumps(result))
    _leave(spec, 0)


def _leave(spec: Any, code: int) -> None:
    """Exit once the result is on disk: Python's own clean-up (temporary files, worker
    pools) for at most ``CLEAN_UP_S``, then no TensorFlow teardown (about 1 s of every
    run's wall time; a spec's ``hard_exit`` says even the clean-up can hang). A
    PyDataset's worker pool hung in its terminate in 1 of 15 training runs of
    ``sequence``, its result written: the run then timed out."""
    if not getattr(spec, "hard_exit", False):
        cleaning = threading.Thread(target=atexit._run_exitfuncs, daemon=True)
        cleaning.start()
        cleaning.join(CLEAN_UP_S)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # what is still running is the parent's to kill, with the tree


def _redirect_output(log_path: str) -> None:
    """Send file descriptors 1 and 2 (Python's and TensorFlow's C++ logging) to the log."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
