"""A record's absolute peak (its baseline plus the larger of the loop's peak and the
graph serialization's) agrees with the kernel's maximum RSS of the whole command, what
GNU time reports, for a strategy with a small graph and one whose graph holds the data."""

from __future__ import annotations

import sys

import pytest
from kernel_rss import max_rss_of

from loadbench.loaders.dataset.synth import SynthParams, synthesize
from loadbench.reports import jsonl

# Every test here starts TensorFlow children: the developer's loop (-m 'not slow') skips them.
pytestmark = pytest.mark.slow

PAIRS, SIZE = 2000, 64  # 57 MB of uint8: tensor_slices's graph holds all of it


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("gnu-time") / "data"
    synthesize(root, SynthParams(pairs=PAIRS, size=SIZE, splits={"train": 1.0}))
    return root


def test_the_timer_reads_a_commands_own_peak_not_the_suites():
    held = bytearray(300 * 2**20)  # the suite's process is large
    for i in range(0, len(held), 4096):
        held[i] = 1
    small = max_rss_of([sys.executable, "-c", "pass"])
    assert small < 100 * 2**20, small  # an interpreter's, not this process's 300 MB
    del held


@pytest.mark.parametrize("strategy", ["generator", "tensor_slices"])
def test_the_records_absolute_peak_is_gnu_times(data_root, tmp_path, strategy):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "loadbench", "run", "--data", str(data_root)]
    argv += ["--loaders", strategy, "--mode", "iterate", "--repeats", "1", "--no-ceilings"]
    argv += ["--no-report", "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]
    kernel = max_rss_of(argv)
    [record] = jsonl.read(out / "results.jsonl")
    assert record.status == "ok", record.error
    peak = max(record.memory.peak_rss_bytes, record.graph.graph_serialize_peak_bytes)
    absolute = record.memory.baseline_rss_bytes + peak
    assert absolute == pytest.approx(kernel, rel=0.10), (
        absolute,
        kernel,
        record.memory.peak_rss_bytes,
    )
    if strategy == "tensor_slices":  # serializing the data costs more than reading it
        assert record.graph.graph_serialize_peak_bytes > record.memory.peak_rss_bytes
