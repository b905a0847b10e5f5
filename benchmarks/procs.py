"""Process trees: summed resident memory of a process and its descendants, and killing
a whole tree so no worker outlives a run."""

from __future__ import annotations

import contextlib
import ctypes
import signal

import psutil

PR_SET_PDEATHSIG = 1


def tree(pid: int) -> list[psutil.Process]:
    """The process and all of its descendants that still exist."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss_bytes(pid: int) -> int:
    """Sum of resident memory over the tree, sampled now (0 when it is gone)."""
    total = 0
    for process in tree(pid):
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def kill_tree(pid: int, timeout_s: float = 5.0) -> None:
    """SIGKILL the process and every descendant, and wait for the descendants to go.

    The root itself is not waited for here: its owner (multiprocessing) must reap it to
    learn its exit code, and a wait here would take that status away.
    """
    processes = tree(pid)
    for process in reversed(processes):  # children first, so none is re-parented and missed
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs([p for p in processes if p.pid != pid], timeout=timeout_s)


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies, however the parent dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: the parent's own cleanup is all there is
        pass


def peak_rss_self_bytes() -> int | None:
    """The kernel's high-water mark of this process's RSS (VmHWM), exact between samples."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_peak_rss_self() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Orphaned descendants of our children re-parent to us, not to init, so we can
    find and kill a worker whose parent already died."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
