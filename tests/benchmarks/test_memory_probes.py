"""The memory probes against known truths: shared pages counted once by PSS, and the RSS
sampler against GNU time's high-water mark."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from loadbench.harness import procs
from loadbench.harness.child.sampler import TreeMemorySampler

SHARED_MB = 200


def _forked_tree() -> subprocess.Popen:
    """A process that touches 200 MB, then forks two children that only sleep: the three
    map the same 200 MB of copy-on-write pages."""
    code = f"""
import os, time
block = bytearray({SHARED_MB} * 2**20)
for i in range(0, len(block), 4096):
    block[i] = 1
for _ in range(2):
    if os.fork() == 0:
        time.sleep(30)
        os._exit(0)
print("ready", flush=True)
time.sleep(30)
"""
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_pss_counts_pages_shared_by_forked_children_once():
    parent = _forked_tree()
    try:
        assert parent.stdout.readline().strip() == "ready"  # printed once both were forked
        members = procs.descendant_pids(parent.pid)
        assert len(members) == 3
        with TreeMemorySampler(0.05, root_pid=parent.pid) as sampler:
            time.sleep(0.5)
        if not sampler.pss_available:
            pytest.skip("this kernel does not expose /proc/PID/smaps_rollup")
        one = SHARED_MB * 2**20
        pss, rss = sampler.peak_pss_bytes(), sampler.peak_bytes()
        # The tree holds the block once (plus three small interpreters' private pages).
        assert abs(pss - one) / one < 0.10, (pss, one)
        # Summed RSS counts it once per process.
        assert rss > 2.7 * one, (rss, one)
        assert len(sampler.members()) == 2  # the two children, each with its own peaks
        assert all(m["peak_pss_bytes"] < m["peak_rss_bytes"] for m in sampler.members())
    finally:
        parent.kill()
        parent.wait()


@pytest.mark.skipif(not shutil.which("/usr/bin/time"), reason="GNU time is not installed")
def test_rss_sampler_agrees_with_gnu_time():
    code = """
import time
block = bytearray(300 * 2**20)
for i in range(0, len(block), 4096):
    block[i] = 1
time.sleep(1.0)
"""
    timed = subprocess.Popen(
        ["/usr/bin/time", "-v", sys.executable, "-c", code], stderr=subprocess.PIPE, text=True
    )
    with TreeMemorySampler(0.05, root_pid=timed.pid) as sampler:
        _, report = timed.communicate(timeout=60)
    assert timed.returncode == 0, report
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
    assert found, report
    gnu = int(found.group(1)) * 1024
    python = max(
        (peak for pid, peak in sampler.process_peaks.items() if pid != timed.pid), default=0
    )
    assert abs(python - gnu) / gnu < 0.10, (python, gnu)


def test_an_exiting_process_reads_as_no_memory_not_as_pss_unavailable():
    # A zombie's smaps_rollup is empty: were that "unavailable", one worker exiting during
    # a run would void the whole run's PSS.
    child = os.fork()
    if child == 0:
        os._exit(0)
    try:
        os.waitid(os.P_PID, child, os.WEXITED | os.WNOWAIT)  # it has exited, not reaped
        assert _state(child) == "Z"
        assert procs.pss_bytes(child) == 0
    finally:
        os.waitpid(child, 0)
    assert procs.pss_bytes(child) == 0  # gone
    assert procs.pss_bytes(os.getpid()) > 0


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()[0]


def _copying_tree() -> subprocess.Popen:
    """A process that touches 200 MB and forks a child; once told (a line on stdin), the
    child writes to every page, copying them all: the tree's PSS doubles and its summed
    RSS does not move."""
    code = f"""
import os, sys, time
block = bytearray({SHARED_MB} * 2**20)
for i in range(0, len(block), 4096):
    block[i] = 1
if os.fork() == 0:
    sys.stdin.readline()
    for i in range(0, len(block), 4096):
        block[i] = 2
    print("copied", flush=True)
    time.sleep(30)
    os._exit(0)
print("ready", flush=True)
time.sleep(30)
"""
    return subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def test_the_sampler_sees_copy_on_write_that_rss_does_not_show():
    """PSS is read sparingly, on RSS climbs; pages a forked child copies raise PSS alone,
    so the sampler keeps reading it every PSS_EVERY_S while the tree shares pages."""
    parent = _copying_tree()
    try:
        assert parent.stdout.readline().strip() == "ready"  # printed once it had forked
        assert len(procs.descendant_pids(parent.pid)) == 2
        before = procs.tree_pss_bytes(parent.pid)  # the two share the block
        with TreeMemorySampler(0.05, root_pid=parent.pid) as sampler:
            time.sleep(0.3)
            parent.stdin.write("copy\n")
            parent.stdin.flush()
            assert parent.stdout.readline().strip() == "copied"  # the child's copy is done
            time.sleep(TreeMemorySampler.PSS_EVERY_S + 1.0)  # the sampler's next PSS read
            copied = [b for _, b in sampler.pss_samples]
        if not sampler.pss_available:
            pytest.skip("this kernel does not expose /proc/PID/smaps_rollup")
        one = SHARED_MB * 2**20
        assert before is not None and abs(before - one) / one < 0.10
        # Read while the sampler ran (not only at its end): the copies are in its samples.
        assert max(copied) > 1.8 * one, (copied, one)
        assert max(b for _, b in sampler.samples) < 2.3 * one  # summed RSS barely moved
    finally:
        parent.kill()
        parent.wait()


def test_a_lone_process_shares_no_anonymous_memory_and_a_forked_one_does():
    assert not procs.shares_anonymous_memory(procs.rollup(os.getpid()) or {})
    parent = _copying_tree()
    try:
        assert parent.stdout.readline().strip() == "ready"
        assert procs.shares_anonymous_memory(procs.rollup(parent.pid) or {})
    finally:
        parent.kill()
        parent.wait()


ALONE = """
from loadbench.harness.child.sampler import TreeMemorySampler
with TreeMemorySampler(0.02) as alone:
    block = bytearray(100 * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    del block  # freed before a sample need see it: the kernel's mark is the peak
print(alone.kernel_agreement(), alone.most_processes)
"""


def test_kernel_agreement_is_one_where_every_peak_was_seen_and_none_once_a_process_went():
    # A tree of one process, in a fresh interpreter: the suite's own process has
    # children (the fork server of the isolated runs), so its tree is not one process.
    done = subprocess.run([sys.executable, "-c", ALONE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1.0", "1"]

    tree = _forked_tree()  # three processes holding 200 MB, sampled at their peaks
    try:
        assert tree.stdout.readline().strip() == "ready"
        with TreeMemorySampler(0.02, root_pid=tree.pid) as sampled:
            time.sleep(0.5)
        assert 0.95 <= sampled.kernel_agreement() <= 1.0
    finally:
        for pid in procs.descendant_pids(tree.pid):
            if pid != tree.pid:
                os.kill(pid, 9)
        tree.kill()
        tree.wait()
    assert sampled.kernel_agreement() is None  # its marks went with it
