"""Process trees: summed resident memory of a process and its descendants, and killing
a whole tree so no worker outlives a run."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys

import psutil

PR_SET_PDEATHSIG = 1
_HAS_CHILDREN_FILES = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def descendant_pids(pid: int) -> list[int]:
    """``pid`` and every descendant, read from /proc/PID/task/TID/children.

    About 30 microseconds for a TensorFlow process, against about 1 ms for psutil's
    ``children(recursive=True)``, which reads every process's stat file: cheap enough to
    sample every 50 ms without taking CPU from the measured pipeline. Falls back to psutil
    where the kernel has no ``children`` files.
    """
    if not _HAS_CHILDREN_FILES:
        return [p.pid for p in tree(pid)]
    found = [pid]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:  # gone since its parent listed it
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children", "rb") as handle:
                    found.extend(int(child) for child in handle.read().split())
            except OSError:
                continue
    return found


def tree(pid: int) -> list[psutil.Process]:
    """The process and all of its descendants that still exist."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 when it is gone), from /proc/PID/statm."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        try:
            return psutil.Process(pid).memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return 0


def pss_bytes(pid: int) -> int | None:
    """Proportional set size of one process (Linux ``/proc/PID/smaps_rollup``): each
    resident page divided by the number of processes that map it, so pages shared with
    other processes (a library, copy-on-write pages after a fork) count once over all of
    them. 0 when the process is gone; None where the kernel has no smaps_rollup (before
    4.14) or does not let us read it. About 10 ms for a TensorFlow process (1,200
    mappings), against 10 microseconds for ``rss_bytes``: sample it less often. A process
    that is exiting (a zombie: no address space left) reads as an empty file, 0 bytes."""
    found = rollup(pid)
    return None if found is None else found.get("Pss", 0)


def shares_anonymous_memory(fields: dict[str, int]) -> bool:
    """Whether a process (its ``rollup``) maps anonymous pages another process maps too
    (copy-on-write pages after a fork): its ``Pss_Anon`` is below its ``Anonymous``.
    True where the kernel does not say (no ``Pss_Anon`` before Linux 5.9); False for a
    process that is gone."""
    if not fields:
        return False
    if "Pss_Anon" not in fields or "Anonymous" not in fields:
        return True
    return fields["Anonymous"] - fields["Pss_Anon"] > SHARED_ANON_SLACK_BYTES


SHARED_ANON_SLACK_BYTES = 2**20  # a few shared pages are no copy-on-write to watch


def rollup(pid: int) -> dict[str, int] | None:
    """The byte fields of ``/proc/PID/smaps_rollup`` ({} for a process that is gone or
    exiting); None where it cannot be read at all."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            text = handle.read()
    except FileNotFoundError:
        return {} if not os.path.exists(f"/proc/{pid}") else None
    except ProcessLookupError:
        return {}  # gone while we read it
    except OSError:  # not ours to read
        return None
    found = {}
    for line in text.splitlines()[1:]:
        name, _, rest = line.partition(b":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == b"kB" and parts[0].isdigit():
            found[name.decode()] = int(parts[0]) * 1024
    return found


def tree_pss_bytes(pid: int) -> int | None:
    """Sum of PSS over the tree, sampled now; None when PSS cannot be read."""
    total = 0
    for member in descendant_pids(pid):
        pss = pss_bytes(member)
        if pss is None:
            return None
        total += pss
    return total


def process_name(pid: int) -> str:
    """The process's command name (``/proc/PID/comm``), '' when it is gone."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def tree_rss_bytes(pid: int) -> int:
    """Sum of resident memory over the tree, sampled now (0 when it is gone)."""
    return sum(rss_bytes(member) for member in descendant_pids(pid))


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) the tree has used so far: the live processes' own,
    and what each has reaped of its children's."""
    total = 0.0
    for process in tree(pid):
        try:
            used = process.cpu_times()
        except psutil.Error:  # gone since it was listed: its parent's children_* have it
            continue
        total += used.user + used.system + used.children_user + used.children_system
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
    return peak_rss_of("self")


def peak_rss_of(pid: int | str) -> int | None:
    """The kernel's high-water mark of a process's RSS (VmHWM of ``/proc/PID/status``);
    None when it is gone or cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as status:
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

# Runs as ``python -c REAPER PGID PARENT``: waits, and when PARENT dies, however it dies
# (SIGKILL included), kills process group PGID, so a run's workers die with the suite.
REAPER = """
import ctypes, os, signal, sys
group, parent = int(sys.argv[1]), int(sys.argv[2])
def reap(*_):
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
    os._exit(0)
signal.signal(signal.SIGTERM, reap)
signal.signal(signal.SIGINT, signal.SIG_IGN)
try:
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)
except OSError:
    pass
if os.getppid() != parent:
    reap()
while True:
    signal.pause()
"""


def start_reaper(group: int) -> subprocess.Popen | None:
    """A watcher that kills process group ``group`` if this process dies first.

    Needed because nothing in a process killed with SIGKILL runs: its direct child has a
    parent-death signal, but that child's own workers would be orphaned and live on.
    Stop it with ``.kill()`` once the group is gone. None where this is not Linux.
    """
    if not sys.platform.startswith("linux"):
        return None
    return subprocess.Popen(
        [sys.executable, "-c", REAPER, str(group), str(os.getpid())],
        stdin=subprocess.DEVNULL,
        close_fds=True,
    )


def lead_own_group() -> None:
    """Make this process the leader of a new process group (for the reaper to kill, and
    so that Ctrl-C at the terminal reaches the parent, which stops the run cleanly)."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)


def become_subreaper() -> None:
    """Orphaned descendants of our children re-parent to us, not to init, so we can
    find and kill a worker whose parent already died."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
