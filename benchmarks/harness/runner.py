"""The isolated runner: one spawned child per measurement, watched from the parent.

The parent enforces the wall-clock timeout and the memory ceiling on the child's whole
process tree, classifies how the child ended, and always returns a Record: a crash,
an abort or the OOM killer is a result, never the end of the suite.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

import psutil

from benchmarks.harness.child import ChildFailure, child_main
from benchmarks.harness.procs import become_subreaper, kill_tree, start_reaper, tree_rss_bytes

POLL_S = 0.05


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """How a child ended and what its work returned (None when it returned nothing: it
    failed, crashed or was killed)."""

    status: str
    error: str | None
    result: Any
    wall_s: float
    started_at: str
    started: bool = True  # False: no child process could be started at all
    # Highest process-tree RSS the parent saw while enforcing --max-memory (None without
    # a budget): a figure even for a child that crashed before reporting its own.
    watched_peak_bytes: int | None = None


def run_isolated(
    spec: Any,
    timeout_s: float,
    max_memory_bytes: int | None = None,
    work: Callable[[Any], object] | None = None,
) -> Outcome:
    """Run ``spec`` in a fresh spawned child; kill its tree on timeout or over budget.

    ``work`` is the module-level function the child calls with ``spec`` (default: the
    measurement); any frozen spec with a ``log_path`` works.
    """
    context = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
    become_subreaper()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="loadbench-run-") as scratch:
        result_path = str(Path(scratch) / "result.json")
        resource_tracker.ensure_running()  # shared by every run: not a stray
        before = _own_children()
        child = context.Process(target=child_main, args=(spec, result_path, work), name="loadbench")
        start = time.perf_counter()
        try:
            child.start()
        except OSError as exc:  # out of processes or memory before the run began
            refused = f"could not start the child process: {exc}"
            return Outcome(
                status="error",
                error=refused,
                result=None,
                wall_s=0.0,
                started_at=started_at,
                started=False,
            )
        pid = child.pid
        assert pid is not None  # started
        reaper = start_reaper(pid)  # the child leads its own process group
        verdict: tuple[str, str | None] | None = None
        watched = 0
        try:
            while child.exitcode is None:
                child.join(POLL_S)
                if child.exitcode is not None:
                    break
                elapsed = time.perf_counter() - start
                used = tree_rss_bytes(pid) if max_memory_bytes else 0
                watched = max(watched, used)
                if elapsed > timeout_s:
                    verdict = ("timeout", f"no result after {timeout_s:g} s; child tree killed")
                elif max_memory_bytes and used > max_memory_bytes:
                    verdict = (
                        "over_budget",
                        f"process tree reached {used / 1e6:,.0f} MB, over --max-memory "
                        f"{max_memory_bytes / 1e6:,.0f} MB; child tree killed",
                    )
                if verdict:
                    kill_tree(pid)
                    child.join()
        except BaseException:  # Ctrl-C or a kill of the parent: take the children with us
            kill_tree(pid)
            raise
        finally:
            if reaper is not None:
                reaper.kill()
                reaper.wait()
            _kill_strays(before)
        wall_s = time.perf_counter() - start
        result = _read(result_path)
    status, error = verdict if verdict else _classify(child.exitcode, result)
    if status == "crashed" and spec.log_path and (last := _last_line(spec.log_path)):
        error = f"{error}; last output: {last}"
    return Outcome(
        status=status,
        error=error,
        result=None if isinstance(result, ChildFailure) else result,
        wall_s=wall_s,
        started_at=started_at,
        watched_peak_bytes=watched or None,
    )


def _classify(exitcode: int | None, result: object) -> tuple[str, str | None]:
    if isinstance(result, ChildFailure):
        return "error", result.error
    if exitcode == 0 and result is not None:
        return "ok", None
    if exitcode is not None and exitcode < 0:
        signum = -exitcode
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        if signum == signal.SIGKILL:
            return "killed", "killed by SIGKILL (likely the out-of-memory killer)"
        return "crashed", f"crashed with {name}"
    return "crashed", f"exited with status {exitcode} without a result"


def _read(path: str) -> object:
    """What the child pickled, or None when it wrote nothing (it crashed or was killed)."""
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError):
        return None


def _last_line(path: str, limit: int = 300) -> str | None:
    """The last non-blank line the child wrote (a C++ check failure says why it aborted)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - 8192))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    last = next((line.strip() for line in reversed(lines) if line.strip()), None)
    return last[:limit] if last else None


def _own_children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _kill_strays(before: set[int]) -> None:
    """Kill any process this run left behind (orphaned workers, the resource tracker)."""
    strays = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    for process in strays:
        kill_tree(process.pid)
    psutil.wait_procs(strays, timeout=5)  # reap them: they re-parented to us


def stop_resource_tracker() -> None:
    """Stop multiprocessing's resource tracker and wait for it, so that nothing the suite
    started is still running when ``loadbench run`` returns (it would otherwise exit a
    moment later, on its own, when it sees our end of its pipe close)."""
    stop = getattr(resource_tracker._resource_tracker, "_stop", None)  # Python 3.8 and up
    if stop is not None:
        stop()


def memray_flamegraph(capture: Path, html: Path) -> str | None:
    """Write memray's flame graph for a capture file; None if memray could not."""
    done = subprocess.run(
        [sys.executable, "-m", "memray", "flamegraph", "-f", "-o", str(html), str(capture)],
        capture_output=True,
        text=True,
    )
    return str(html.resolve()) if done.returncode == 0 else None
