"""Fixtures of the pytest-benchmark suite: the dataset, and runs in isolated children.

The suite measures on the built-in synthetic dataset, made once under the cache directory
(``$LOADBENCH_CACHE``, else ``~/.cache/loadbench``) and shared with ``loadbench run``.
Size it with LOADBENCH_BENCH_PAIRS and LOADBENCH_BENCH_SIZE (default 1,000 pairs of
128x128, 115 MB as uint8: a few minutes for the whole suite on 2 cores).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

import pytest

from benchmarks import records
from benchmarks.records import Record

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RUN_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def bench_cache() -> Path:
    from loaders.converted import default_cache_root

    return default_cache_root()


@pytest.fixture(scope="session")
def bench_data(bench_cache: Path):
    from benchmarks.commands.run import builtin_dataset
    from loaders.layout import describe

    pairs = int(os.environ.get("LOADBENCH_BENCH_PAIRS", "1000"))
    size = int(os.environ.get("LOADBENCH_BENCH_SIZE", "128"))
    return describe(builtin_dataset(bench_cache, pairs, size), "train")


def feed_times(benchmark, seconds: Iterable[float]) -> None:
    """Give pytest-benchmark durations timed elsewhere (in a child, or interleaved A/B).

    pytest-benchmark times callables in its own process and has no public way to accept
    outside timings; this uses the two members its own ``pedantic`` uses (stable through
    pytest-benchmark 4 and 5), so the durations land in its tables, comparisons and JSON.
    """
    if benchmark.disabled:
        return
    benchmark._mode = "loadbench (timed outside pytest-benchmark)"
    stats = benchmark._make_stats(1)
    for duration in seconds:
        stats.update(duration)


@pytest.fixture
def isolated(benchmark, bench_data, bench_cache, tmp_path) -> Callable[..., Record]:
    """Measure one strategy and mode in a fresh spawned child, as ``loadbench run`` does.

    The benchmark's rounds are the child's steady-state steps (seconds per batch), and its
    ``extra_info`` is the run's whole loadbench record (memory, graph sizes, timeline), so
    ``--benchmark-json`` carries every figure and ``loadbench report`` can read it.
    """
    from benchmarks.commands.run import run_spec
    from benchmarks.runner import run_isolated
    from loaders.options import PipelineOptions

    def measure(strategy: str, mode: str, options: PipelineOptions | None = None) -> Record:
        spec = run_spec(
            bench_data,
            True,
            mode,
            strategy,
            options or PipelineOptions(),
            bench_cache,
            log_path=str(tmp_path / "child.log"),
        )
        outcome = run_isolated(spec, RUN_TIMEOUT_S)
        dataset = records.dataset_fields(bench_data, synthetic=True)
        record = records.from_outcome(spec, outcome, dataset, records.options_fields(spec))
        benchmark.group = mode
        benchmark.extra_info.update(asdict(record))
        feed_times(benchmark, outcome.result.get("step_times_s") or [])
        return record

    return measure
