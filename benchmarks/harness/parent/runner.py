"""The isolated runner: one fresh child process per measurement, watched from the parent.

Children are forked from a fork server (multiprocessing's ``forkserver``) that has
imported TensorFlow, Keras and the harness but never run them (``preload``): a fresh
process per measurement, with no TensorFlow runtime inherited, in about half a second.
``spawn`` (a new interpreter that imports everything itself, 3.5 s more) is the switch
back: ``--start-method spawn`` or ``LOADBENCH_START_METHOD=spawn``. Either way the child
starts with the parent's environment variables and ``sys.path`` as they are at that
run, not as they were when the server started.

The parent enforces the wall-clock timeout and the memory ceiling on the child's whole
process tree, classifies how the child ended, and always returns a Record: a crash,
an abort or the OOM killer is a result, never the end of the suite.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import forkserver, resource_tracker
from pathlib import Path
from typing import Any

import psutil

from loadbench.harness.child.entry import ChildFailure, Setting
from loadbench.harness.child.start import start as child_start
from loadbench.harness.parent.speed import machine_speed
from loadbench.harness.procs import become_subreaper, kill_tree, start_reaper, tree_rss_bytes
from loadbench.loaders.errors import OptionsError

POLL_S = 0.05
START_METHODS = ("forkserver", "spawn")
PRELOAD = "loadbench.harness.child.preload"


def default_start_method() -> str:
    """``LOADBENCH_START_METHOD`` where set, else the fork server."""
    method = os.environ.get("LOADBENCH_START_METHOD", "forkserver")
    if method not in START_METHODS:
        raise OptionsError(
            f"LOADBENCH_START_METHOD={method!r}: must be one of {', '.join(START_METHODS)}"
        )
    return method


def start_server(method: str | None = None) -> None:
    """Start the fork server now (where ``method`` is it), so that it is not taken for
    a process a run left behind."""
    _context(method or default_start_method())


def _context(method: str) -> multiprocessing.context.BaseContext:
    """The multiprocessing context of ``method``; the fork server started, preloaded."""
    if method not in START_METHODS:
        raise OptionsError(f"start method {method!r}: must be one of {', '.join(START_METHODS)}")
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload([PRELOAD])
        forkserver.ensure_running()  # before the run's strays are listed: not a stray
    return context


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
    # Highest process-tree RSS the parent saw while enforcing --kill-above (None without
    # a budget): a figure even for a child that crashed before reporting its own.
    watched_peak_bytes: int | None = None
    # The machine's own speed just before the child started (``speed.machine_speed``).
    machine_speed: float | None = None


def run_isolated(
    spec: Any,
    timeout_s: float,
    max_memory_bytes: int | None = None,
    work: Callable[[Any], object] | None = None,
    start_method: str | None = None,
) -> Outcome:
    """Run ``spec`` in a fresh child; kill its tree on timeout or over budget.

    ``work`` is the module-level function the child calls with ``spec`` (default: the
    measurement); any frozen spec with a ``log_path`` works. ``start_method``: the fork
    server or spawn (default: ``default_start_method()``).
    """
    method = start_method or default_start_method()
    become_subreaper()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="loadbench-run-") as scratch:
        result_path = str(Path(scratch) / "result.json")
        resource_tracker.ensure_running()  # shared by every run: not a stray
        context = _context(method)
        before = _own_children()
        setting = Setting(dict(os.environ), list(sys.path), forked=method == "forkserver")
        speed = machine_speed()  # nothing of ours runs now: the server waits
        child = context.Process(  # type: ignore[attr-defined]
            target=child_start, args=(spec, result_path, work, setting), name="loadbench"
        )
        start = time.perf_counter()
        try:
            with _main_left_out(work):
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
                        f"process tree reached {used / 1e6:,.0f} MB, over --kill-above "
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
        machine_speed=speed,
    )


@contextmanager
def _main_left_out(work: Callable[[Any], object] | None) -> Iterator[None]:
    """Start the child without the parent's ``__main__``: multiprocessing imports the
    parent's main script again in every child (as ``__mp_main__``), so a user's script
    calling ``loadbench.profile`` at its top level, with no ``if __name__ ==
    "__main__"`` guard, would run again in the child and fail there. The child needs
    nothing from it (its entry and every strategy live in importable modules), unless
    ``work`` itself was defined in the script: then it is left as it is."""
    if getattr(work, "__module__", None) == "__main__":
        yield
        return
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


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


def stop_fork_server() -> None:
    """Stop the fork server, if one was started, so nothing of ours outlives the run.
    Killed, not asked: one still importing TensorFlow would read the request to stop only
    once it had finished (about 3 s), and a command that refused its arguments would wait
    that long to exit; by the end of a run it idles, with nothing of its own to lose."""
    server = forkserver._forkserver
    pid = getattr(server, "_forkserver_pid", None)
    if pid is not None:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        server._stop()  # type: ignore[attr-defined]


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
