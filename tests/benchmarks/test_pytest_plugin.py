"""The ``loadbench_profile`` fixture in a separate project's test suite (the plugin is
registered by installing loadbench): a memory assertion passes and fails as it should,
and the figures land in pytest-benchmark's JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from loadbench.loaders.errors import OptionsError
from loadbench.profiling import target_of

PROJECT_TEST = """
import tensorflow as tf

SAMPLES, SHAPE = 600, (128, 128, 4)  # 65,536 bytes a sample: 39 MB a pass


def make(cache=False):
    def sample(i):
        seed = tf.stack([i, tf.constant(0, tf.int64)])
        image = tf.random.stateless_uniform(SHAPE, seed=seed, maxval=256, dtype=tf.int32)
        return tf.cast(image, tf.uint8), tf.cast(i % 2, tf.float32)

    ds = tf.data.Dataset.range(SAMPLES).map(sample)
    return (ds.cache() if cache else ds).batch(20)


def test_the_uncached_pipeline_stays_under_500_mb(loadbench_profile):
    record = loadbench_profile(make, steps=35)
    assert record.memory.peak_pss_bytes < 500e6
    assert record.graph.dataset_graph_bytes < 1e6


def test_the_cached_pipeline_stays_under_30_mb(loadbench_profile):
    record = loadbench_profile(make, steps=35, kwargs={"cache": True})  # holds 39 MB
    assert record.memory.peak_pss_bytes < 30e6, record.memory.peak_pss_bytes
"""


@pytest.mark.slow
def test_the_fixture_passes_and_fails_a_memory_assertion_in_another_project(tmp_path):
    project = tmp_path / "their_project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_pipeline.py").write_text(PROJECT_TEST)
    output = tmp_path / "bench.json"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    done = subprocess.run(
        [*argv, "--benchmark-json", str(output)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 1, said  # one test failed
    assert "1 failed, 1 passed" in said, said
    assert "test_the_cached_pipeline_stays_under_30_mb" in said and "assert " in said
    passed = json.loads(output.read_text())["benchmarks"]
    info = {b["name"]: b["extra_info"] for b in passed}
    uncached = info["test_the_uncached_pipeline_stays_under_500_mb"]
    assert uncached["status"] == "ok" and uncached["memory"]["peak_pss_bytes"] < 500e6
    assert uncached["strategy"] == "test_pipeline:make"


def module_level():
    return None


def test_a_function_is_named_by_its_module_and_a_nested_one_is_refused():
    assert target_of(module_level) == f"{__name__}:module_level"
    assert target_of("pkg.mod:make") == "pkg.mod:make"

    def nested():
        return None

    with pytest.raises(OptionsError, match="not a module-level function"):
        target_of(nested)
    with pytest.raises(OptionsError, match="not a module-level function"):
        target_of(lambda: None)
