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

from benchmarks.harness import records
from benchmarks.harness.records import Record

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RUN_TIMEOUT_S = 600
SPREAD_FIELDS = (
    "samples_per_s",
    "peak_pss_bytes",
    "peak_rss_bytes",
    "dataset_graph_bytes",
    "input_bound_share",
    "ceiling_fraction",
)


@pytest.fixture(scope="session")
def bench_cache() -> Path:
    from loaders.dataset.converted import default_cache_root

    return default_cache_root()


@pytest.fixture(scope="session")
def bench_data(bench_cache: Path):
    from benchmarks.cli.commands.run import builtin_dataset
    from loaders.dataset.layout import describe

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
    """Measure one strategy and mode in fresh spawned children, as ``loadbench run`` does:
    ``LOADBENCH_BENCH_REPEATS`` of them (default 3), each its own child.

    The benchmark's rounds are the children's steady-state steps (seconds per batch). Its
    ``extra_info`` is the last repeat's whole loadbench record (memory, graph sizes,
    timeline) with the earlier repeats' records under ``repeat_records`` and, under
    ``spread``, each figure's median, min, max and coefficient of variation over the
    repeats; ``--benchmark-json`` carries every figure and ``loadbench report`` reads it.
    """
    from benchmarks.cli.commands.run import run_spec
    from benchmarks.harness.runner import run_isolated
    from loaders.options import PipelineOptions
    from reports.summary import spread

    repeats = int(os.environ.get("LOADBENCH_BENCH_REPEATS", "3"))

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
        dataset = records.dataset_fields(bench_data, synthetic=True)
        options_fields = records.options_fields(spec)
        made: list[Record] = []
        times: list[float] = []
        for repeat in range(repeats):
            outcome = run_isolated(spec, RUN_TIMEOUT_S)
            made.append(
                records.from_outcome(spec, outcome, dataset, options_fields, {"repeat": repeat})
            )
            times.extend(outcome.result.get("step_times_s") or [])
        ok = [r for r in made if r.status == "ok"]
        benchmark.group = mode
        benchmark.extra_info.update(asdict(made[-1]))
        benchmark.extra_info["repeat_records"] = [asdict(r) for r in made[:-1]]
        benchmark.extra_info["spread"] = {
            field: asdict(found)
            for field in SPREAD_FIELDS
            if (found := spread([getattr(r, field) for r in ok]))
        }
        feed_times(benchmark, times)
        return made[-1]

    return measure
