"""The memory sampler that runs inside the measured child: RSS and PSS of the process
tree on a thread, with each member's own peak and a timeline."""

from __future__ import annotations

import os
import threading
import time

from loadbench.harness.procs import (
    descendant_pids,
    peak_rss_of,
    peak_rss_self_bytes,
    process_name,
    reset_peak_rss_self,
    rollup,
    rss_bytes,
    shares_anonymous_memory,
)

TIMELINE_POINTS = 400


class TreeMemorySampler:
    """Samples the memory of a process and its descendants on a thread.

    RSS: every ``interval_s``, one small /proc file per member; the tree's RSS peak is
    the largest sample, backed up by the root's exact high-water mark (VmHWM, reset at
    start) when the root is this process. The membership itself (a read per thread of
    every member) is refreshed every ``RESCAN_S``.

    PSS (``procs.pss_bytes``): summed over the members read together, so pages shared
    between them (TensorFlow's libraries in forked workers, copy-on-write pages) count
    once. A read costs about 10 ms per TensorFlow process, against 10 microseconds for
    RSS, so PSS is read only where it can have moved:
    - when the RSS sum climbs ``PSS_MARGIN_BYTES`` past the highest sum at which PSS was
      read: a process's PSS grows by no more than its RSS does, so the tree's PSS peak
      is missed by about that margin at most (measured: ``benchmarks/suite/test_sampler``);
    - every ``PSS_EVERY_S`` while some process of the tree shares anonymous pages with
      another (a forked worker): writing to such a page copies it, which raises the
      tree's PSS and not its RSS. A process new to the tree is checked on its own;
    - once at the end. Not at the start: there it is the baseline the caller reads.
    """

    RESCAN_S = 0.5
    PSS_EVERY_S = 1.0
    PSS_MARGIN_BYTES = 4 * 2**20

    def __init__(self, interval_s: float, root_pid: int | None = None) -> None:
        self.interval_s = interval_s
        self.pid = root_pid or os.getpid()
        self.samples: list[tuple[float, int]] = []
        self.pss_samples: list[tuple[float, int]] = []
        self.pss_available = True
        self._members: list[int] = []
        self._rescan_every = max(1, round(self.RESCAN_S / interval_s))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loadbench-rss", daemon=True)
        self._start = 0.0
        self._last_pss = -float("inf")
        self._pss_at_rss = -1  # the highest RSS sum at which PSS was read
        self._rss_less_pss: int | None = None  # RSS less PSS at the read of the highest RSS
        self._copy_on_write = False  # some member shares anonymous pages with another
        self._known: set[int] = set()  # the members already checked for shared pages
        self.cpu_s = 0.0  # CPU time the sampling thread itself used: its cost
        self.process_peaks: dict[int, int] = {}  # each member's own highest RSS seen
        self.pss_peaks: dict[int, int] = {}  # each member's own highest PSS seen
        self.names: dict[int, str] = {}
        self.most_processes = 0

    def __enter__(self) -> TreeMemorySampler:
        if self.pid == os.getpid():
            reset_peak_rss_self()
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._members = descendant_pids(self.pid)
        self._sample(final=True)

    def _sample(self, final: bool = False) -> None:
        if len(self.samples) % self._rescan_every == 0:
            self._members = descendant_pids(self.pid)
            for member in self._members:
                if member not in self.names:
                    self.names[member] = process_name(member)
        now = time.perf_counter() - self._start
        used = 0
        for member in self._members:
            rss = rss_bytes(member)
            used += rss
            if rss > self.process_peaks.get(member, 0):
                self.process_peaks[member] = rss
        self.samples.append((now, used))
        self.most_processes = max(self.most_processes, len(self._members))
        if not self._known.issuperset(self._members):
            self._meet(self._members)
        if self._pss_at_rss < 0:  # the first sample: PSS is the caller's baseline here
            self._pss_at_rss, self._last_pss = used, now
        elif self.pss_available and self._pss_due(now, used, final):
            self._sample_pss(now, used)
            self._pss_at_rss = max(self._pss_at_rss, used)

    def _meet(self, members: list[int]) -> None:
        """Whether a process new to the tree shares anonymous pages (a forked worker
        does, with its parent; a spawned helper does not): read its own rollup only."""
        for member in members:
            if member not in self._known and member != self.pid:
                fields = rollup(member)
                if fields is None or shares_anonymous_memory(fields):
                    self._copy_on_write = True
        self._known.update(members)

    def _pss_due(self, now: float, used: int, final: bool) -> bool:
        """Whether this sample reads PSS too (see the class's docstring)."""
        since = now - self._last_pss
        if final:
            return True
        if self._copy_on_write and since >= self.PSS_EVERY_S:
            return True
        return used > self._pss_at_rss + self.PSS_MARGIN_BYTES

    def _sample_pss(self, now: float, used: int) -> None:
        self._last_pss = now
        total = 0
        shared = False
        for member in self._members:
            fields = rollup(member)
            if fields is None:
                self.pss_available = False
                return
            pss = fields.get("Pss", 0)
            total += pss
            shared = shared or shares_anonymous_memory(fields)
            if pss > self.pss_peaks.get(member, 0):
                self.pss_peaks[member] = pss
        self.pss_samples.append((now, total))
        if self._rss_less_pss is None or used >= self._pss_at_rss:  # nearest the peak's
            self._rss_less_pss = used - total
        self._copy_on_write = shared and len(self._members) > 1

    def _run(self) -> None:
        began = time.thread_time()
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)
        self.cpu_s = time.thread_time() - began

    def peak_bytes(self) -> int:
        sampled = max((b for _, b in self.samples), default=0)
        if self.pid != os.getpid():
            return sampled
        return max(sampled, peak_rss_self_bytes() or 0)

    def root_peak_bytes(self) -> int:
        """The highest RSS of the sampled process itself (not its workers) seen."""
        return self.process_peaks.get(self.pid, 0)

    def peak_pss_bytes(self) -> int | None:
        """The tree's PSS peak; None where PSS could not be read.

        The largest PSS sum read; and where the tree was this one process all along, no
        less than its exact RSS high-water mark less the RSS its PSS discounts (pages it
        shares: its libraries' file pages), as read at the PSS read of the highest RSS.
        That difference moves only as shared pages are mapped, while a peak between two
        reads (a transient copy of tens of milliseconds) would be missed by reads alone:
        tensor_slices's PSS peaks were 7-11% apart between repeats where its RSS high-
        water marks were equal to the megabyte."""
        if not self.pss_available or not self.pss_samples:
            return None
        read = max(b for _, b in self.pss_samples)
        if self.pid != os.getpid() or self.most_processes > 1 or self._rss_less_pss is None:
            return read
        return max(read, (peak_rss_self_bytes() or 0) - self._rss_less_pss)

    def kernel_agreement(self) -> float | None:
        """How close the sampled peaks came to the kernel's own: the smallest ratio, over
        the processes of the tree, of a process's highest RSS sampled to its high-water
        mark (VmHWM), read now, while the tree still runs (1.0: every peak was seen).
        A tree that was this process alone agrees by construction: its peak is the
        kernel's mark (``peak_bytes``). None where a process the sampler saw has gone
        (its mark went with it) or a mark cannot be read; a member older than the
        sampler can read below 1 (its mark is from before)."""
        ratios = []
        for pid, sampled in self.process_peaks.items():
            if pid == self.pid == os.getpid() and self.most_processes <= 1:
                continue
            mark = peak_rss_of(pid)
            if not mark:
                return None
            ratios.append(min(1.0, sampled / mark))
        return round(min(ratios, default=1.0), 4)

    def members(self) -> list[dict]:
        """Each process of the tree but the root: its name and its own peaks (absolute)."""
        return [
            {
                "pid": pid,
                "name": self.names.get(pid, ""),
                "peak_rss_bytes": peak,
                "peak_pss_bytes": self.pss_peaks.get(pid) if self.pss_available else None,
            }
            for pid, peak in sorted(self.process_peaks.items())
            if pid != self.pid
        ]

    def timeline(self, baseline: int) -> list[list[float]]:
        """(seconds, bytes above baseline), thinned to at most TIMELINE_POINTS points."""
        step = max(1, len(self.samples) // TIMELINE_POINTS)
        return [[round(t, 3), b - baseline] for t, b in self.samples[::step]]
