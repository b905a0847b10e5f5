"""Fixtures of the pytest-benchmark suite: the dataset, and runs in isolated children.

The suite measures on the built-in synthetic dataset, made once under the cache directory
(``$LOADBENCH_CACHE``, else ``~/.cache/loadbench``) and shared with ``loadbench run``.
Size it with LOADBENCH_BENCH_PAIRS and LOADBENCH_BENCH_SIZE (default 1,000 pairs of
128x128, 115 MB as uint8: a few minutes for the whole suite on 2 cores).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from loadbench.pytest_plugin import feed_times
from loadbench.reports.record_json import to_json
from loadbench.reports.records import Record

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RUN_TIMEOUT_S = 600
SPREAD_FIELDS = (
    "samples_per_s",
    "peak_pss_bytes",
    "peak_rss_bytes",
    "dataset_graph_bytes",
    "input_bound_share",
)


@pytest.fixture(scope="session")
def bench_cache() -> Path:
    from loadbench.loaders.dataset.converted import default_cache_root

    return default_cache_root()


@pytest.fixture(scope="session")
def bench_data(bench_cache: Path):
    from loadbench.loaders.dataset.layout import describe
    from loadbench.loaders.dataset.synth import builtin_dataset

    pairs = int(os.environ.get("LOADBENCH_BENCH_PAIRS", "1000"))
    size = int(os.environ.get("LOADBENCH_BENCH_SIZE", "128"))
    return describe(builtin_dataset(bench_cache, pairs, size), "train")


@pytest.fixture
def isolated(benchmark, bench_data, bench_cache, tmp_path) -> Callable[..., Record]:
    """Measure one strategy and mode in fresh spawned children, as ``loadbench run`` does
    (through the same session): ``LOADBENCH_BENCH_REPEATS`` of them (default 3).

    The benchmark's rounds are the children's steady-state steps (seconds per batch). Its
    ``extra_info`` is the last repeat's whole loadbench record (memory, graph sizes,
    timeline) with the earlier repeats' records under ``repeat_records`` and, under
    ``spread``, each figure's median, min, max and coefficient of variation over the
    repeats; ``--benchmark-json`` carries every figure and ``loadbench report`` reads it.
    """
    from loadbench.harness.parent.plan import DatasetChoice, RunConfig, plan
    from loadbench.harness.parent.session import Harness, run_jobs
    from loadbench.loaders.options import PipelineOptions
    from loadbench.reports.stats import spread

    repeats = int(os.environ.get("LOADBENCH_BENCH_REPEATS", "3"))

    def measure(strategy: str, mode: str, options: PipelineOptions | None = None) -> Record:
        config = RunConfig(
            datasets=(DatasetChoice(split=bench_data, synthetic=True),),
            strategies=(strategy,),
            modes=(mode,),
            variants=(options or PipelineOptions(),),
            batch_given=True,
            time_floor=False,
            repeats=repeats,
            ceilings=False,
            cache_root=bench_cache,
            out=tmp_path,
        )
        harness = Harness(results=None, timeout_s=RUN_TIMEOUT_S, quiet=True)
        done = run_jobs(plan(config), harness)
        made = [d.record for d in done if isinstance(d.record, Record)]
        times = [
            t for d in done if d.outcome and d.outcome.result for t in d.outcome.result.step_times_s
        ]
        ok = [r for r in made if r.status == "ok"]
        benchmark.group = mode
        benchmark.extra_info.update(to_json(made[-1]))
        benchmark.extra_info["repeat_records"] = [to_json(r) for r in made[:-1]]
        benchmark.extra_info["spread"] = {
            field: asdict(found)
            for field in SPREAD_FIELDS
            if (found := spread([r.figure(field) for r in ok]))
        }
        feed_times(benchmark, times)
        return made[-1]

    return measure
