"""Probes that run inside the measured child: memory sampler, GPU peak, graph sizes."""

from __future__ import annotations

import os
import threading
import time

from benchmarks.procs import descendant_pids, peak_rss_self_bytes, reset_peak_rss_self, rss_bytes

PROTOBUF_LIMIT_BYTES = 2**31  # GraphDef protos cannot serialize past 2 GiB
TIMELINE_POINTS = 400


class TreeMemorySampler:
    """Samples the RSS of this process and its descendants on a thread at a fixed period.

    The tree's peak is the largest sample; this process's own exact high-water mark
    (VmHWM, reset at start) backs it up between samples. Each sample reads one small
    /proc file per member; the membership itself (a read per thread of every member) is
    refreshed every ``RESCAN_S``, which keeps the thread's CPU time well under 1% of a core.
    """

    RESCAN_S = 0.5

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.pid = os.getpid()
        self.samples: list[tuple[float, int]] = []
        self._members: list[int] = []
        self._rescan_every = max(1, round(self.RESCAN_S / interval_s))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loadbench-rss", daemon=True)
        self._start = 0.0
        self.cpu_s = 0.0  # CPU time the sampling thread itself used: its cost
        self.process_peaks: dict[int, int] = {}  # each member's own highest RSS seen

    def __enter__(self) -> TreeMemorySampler:
        reset_peak_rss_self()
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._members = descendant_pids(self.pid)
        self._sample()

    def _sample(self) -> None:
        if len(self.samples) % self._rescan_every == 0:
            self._members = descendant_pids(self.pid)
        used = 0
        for member in self._members:
            rss = rss_bytes(member)
            used += rss
            if rss > self.process_peaks.get(member, 0):
                self.process_peaks[member] = rss
        self.samples.append((time.perf_counter() - self._start, used))

    def _run(self) -> None:
        began = time.thread_time()
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)
        self.cpu_s = time.thread_time() - began

    def peak_bytes(self) -> int:
        sampled = max((b for _, b in self.samples), default=0)
        return max(sampled, peak_rss_self_bytes() or 0)

    def timeline(self, baseline: int) -> list[list[float]]:
        """(seconds, bytes above baseline), thinned to at most TIMELINE_POINTS points."""
        step = max(1, len(self.samples) // TIMELINE_POINTS)
        return [[round(t, 3), b - baseline] for t, b in self.samples[::step]]


def gpu_reset() -> bool:
    """Reset GPU:0's peak counter; False when TensorFlow sees no GPU."""
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return False
    tf.config.experimental.reset_memory_stats("GPU:0")
    return True


def gpu_peak_bytes() -> int | None:
    """Peak bytes on GPU:0 since the reset; None (not 0) without a GPU."""
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return None
    return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])


def gpu_name() -> str | None:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    return tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)


def dataset_graph_size(ds, estimate_bytes: int) -> tuple[int, bool]:
    """(bytes of the serialized dataset graph, whether it exceeds the protobuf limit).

    Past 2 GiB, TensorFlow 2.21 logs "GraphDef exceeded maximum protobuf size of 2GB" and
    returns an empty string instead of raising; a real graph is never empty, so empty
    means over the limit, and the size is then the caller's estimate, never 0.
    """
    serialized = ds._as_serialized_graph().numpy()
    if not serialized:
        return max(estimate_bytes, PROTOBUF_LIMIT_BYTES), True
    return len(serialized), len(serialized) >= PROTOBUF_LIMIT_BYTES
