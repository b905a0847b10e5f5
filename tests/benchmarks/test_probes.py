"""The in-child probes: graph sizes (and the 2 GiB limit), GPU figures without a GPU,
the process-tree sampler."""

from __future__ import annotations

import subprocess
import sys

import tensorflow as tf

from loadbench.harness.child import probes
from loadbench.harness.child.sampler import TreeMemorySampler
from loadbench.loaders import pipeline, registry
from loadbench.loaders.options import PipelineOptions
from loadbench.reports.records import DEFAULT_WIDTH, PROTOBUF_LIMIT_BYTES
from loadbench.workload import device


class _DatasetWithGraph:
    """Stands in for a dataset whose graph TensorFlow serializes to ``data``."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def _as_serialized_graph(self):
        return tf.constant(self.data)  # a string tensor, as TensorFlow's is


def test_empty_serialization_means_over_the_limit_never_zero_bytes():
    # TensorFlow 2.21 returns b"" (and logs an error) past 2 GiB instead of raising.
    size, over = probes.dataset_graph_size(_DatasetWithGraph(b""), 3 * 2**30)
    assert over is True and size == 3 * 2**30
    size, over = probes.dataset_graph_size(_DatasetWithGraph(b""), 10)
    assert over is True and size == PROTOBUF_LIMIT_BYTES  # at least the limit


def test_a_real_graph_is_measured(tiny_spec, cache_root):
    strategy = registry.create("tensor_slices")
    strategy.prepare(tiny_spec, cache_root)
    ds = pipeline.build(strategy, tiny_spec, PipelineOptions(batch_size=4), cache_root)
    size, over = probes.dataset_graph_size(ds, tiny_spec.total_bytes)
    assert over is False
    assert size >= tiny_spec.total_bytes  # the decoded arrays are constants in the graph


def test_no_gpu_gives_null_not_zero():
    assert device.reset_gpu_peak() is False
    assert device.gpu_peak_bytes() is None
    assert device.gpu_name() is None
    assert device.device() == "/CPU:0" and device.default_width() == DEFAULT_WIDTH["cpu"]


SAMPLER_WITH_A_WORKER = """
import json, subprocess, sys, time
from loadbench.harness.child.sampler import TreeMemorySampler
worker_code = "b = bytearray(100_000_000)\\nfor i in range(0, len(b), 4096): b[i] = 1\\n"
worker_code += "print('ready', flush=True)\\nimport time; time.sleep(30)"
with TreeMemorySampler(0.05) as sampler:
    baseline = sampler.samples[0][1] if sampler.samples else 0
    worker = subprocess.Popen([sys.executable, "-c", worker_code], stdout=subprocess.PIPE)
    worker.stdout.readline()
    time.sleep(TreeMemorySampler.RESCAN_S + 0.3)  # a rescan finds the worker
    deadline = time.monotonic() + 10 * TreeMemorySampler.RESCAN_S
    while worker.pid not in sampler.process_peaks and time.monotonic() < deadline:
        time.sleep(0.05)  # later where each PSS read of a larger tree is slower
    time.sleep(1.5)  # the tree holds still: no PSS read is due
    worker.kill()
    worker.wait()
print(json.dumps({
    "grown": sampler.peak_bytes() - baseline,
    "pss_times": [t for t, _ in sampler.pss_samples],
    "samples": sampler.samples,
    "timeline": sampler.timeline(baseline),
}))
"""


def test_sampler_sees_a_worker_and_reads_pss_only_where_the_tree_climbed():
    """In a fresh interpreter: the suite's own process churns by tens of MB a sample
    after the in-process fits and pipelines of other tests, and every climb of the root
    past the margin is, rightly, a PSS read."""
    import json

    done = subprocess.run(
        [sys.executable, "-c", SAMPLER_WITH_A_WORKER], capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout)
    assert seen["grown"] >= 100e6
    # Its cost: a PSS read of a TensorFlow-laden process costs about 10 ms, so reading
    # PSS at every 50 ms sample would cost 20% of a core. It reads on the worker's climb
    # (one read a sample while the sum climbs past the margin: as many as the climb has
    # samples, more on a loaded machine) and at the end, never while the tree holds
    # still. The CPU share itself is timed in the benchmark suite
    # (benchmarks/suite/test_sampler.py): timed here, it failed on a loaded machine.
    samples, reads = seen["samples"], seen["pss_times"]
    peak = max(b for _, b in samples)
    plateau = next(t for t, b in samples if b >= peak - TreeMemorySampler.PSS_MARGIN_BYTES)
    still = [t for t, _ in samples if plateau < t < samples[-2][0]]  # before the kill
    assert len(still) >= 1.0 / 0.05  # a second and more of samples while it holds still
    assert reads and reads[-1] == samples[-1][0]  # the read at the end
    assert [t for t in reads[:-1] if t > plateau] == []
    assert len(reads) < len(samples) / 4
    times = [t for t, _ in seen["timeline"]]
    assert times == sorted(times)  # time goes forward (two samples may share a millisecond)
    assert max(b for _, b in seen["timeline"]) >= 100e6


def test_a_one_process_peak_between_pss_reads_is_in_its_pss_peak():
    """A transient copy between two samples: the RSS high-water mark has it, the PSS
    reads do not; the PSS peak of a one-process tree is derived from the former. In a
    fresh interpreter, so that the tree is that one process (the suite's has children)."""
    code = """
import os, time
import numpy as np
from loadbench.harness.procs import tree_pss_bytes
from loadbench.harness.child.sampler import TreeMemorySampler
baseline = tree_pss_bytes(os.getpid())
with TreeMemorySampler(5.0) as sampler:  # samples at the start and the end only
    time.sleep(0.1)
    spike = np.ones(200_000_000, np.uint8)  # every page written
    del spike
    time.sleep(0.1)
print(max(b for _, b in sampler.pss_samples) - baseline, sampler.peak_pss_bytes() - baseline)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    read, peak = (int(v) for v in done.stdout.split())
    assert read < 100e6  # the reads missed it
    assert peak >= 190e6
