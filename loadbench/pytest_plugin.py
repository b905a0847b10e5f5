"""The ``loadbench_profile`` fixture, for users' own test suites: their pipeline run in
an isolated child with loadbench's probes, its record returned for assertions.

Registered as a pytest plugin (entry point ``pytest11``: installing loadbench is enough)::

    def make_dataset():
        return tf.data.Dataset.range(1000).map(...).batch(32)

    def test_the_pipeline_stays_small(loadbench_profile):
        record = loadbench_profile(make_dataset, steps=50)
        assert record.memory.peak_pss_bytes < 500e6
        assert record.graph.dataset_graph_bytes < 1e6

``make_dataset`` is a module-level function (the child imports it by name), or a
``"MODULE:FUNCTION"`` string. With pytest-benchmark installed (and not
``--benchmark-skip``), the record goes into the benchmark's ``extra_info`` and its
steps' times into its statistics, so ``--benchmark-json`` carries every figure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from loadbench.loaders.errors import LoadbenchError
from loadbench.reports.record_json import to_json
from loadbench.reports.records import Record


def feed_times(benchmark: Any, seconds: Iterable[float]) -> None:
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
def loadbench_profile(request: pytest.FixtureRequest, tmp_path: Any) -> Callable[..., Record]:
    """``loadbench_profile(make_dataset, steps=20, ...)``: the run's ``Record``.

    Keywords: steps, warmup (batches excluded first, default 3), min_time_s (default 0:
    exactly ``steps``), kwargs (make_dataset's keyword arguments), batch_size (batch an
    unbatched dataset by N), model (a function returning a compiled keras.Model: each
    batch through its train_step), step_time_s (an emulated accelerator's step),
    timeout_s. A run that does not end ok fails the test with its error.
    """
    from loadbench.profiling import measure

    def profile(
        make_dataset: Callable[..., Any] | str,
        *,
        steps: int = 20,
        warmup: int = 3,
        min_time_s: float = 0.0,
        kwargs: dict[str, Any] | None = None,
        batch_size: int | None = None,
        model: Callable[..., Any] | str | None = None,
        step_time_s: float | None = None,
        timeout_s: float = 600.0,
    ) -> Record:
        try:
            record, outcome = measure(
                make_dataset,
                steps=steps,
                warmup=warmup,
                min_time_s=min_time_s,
                kwargs=kwargs,
                batch_size=batch_size,
                model=model,
                step_time_s=step_time_s,
                accelerator=None,
                timeout_s=timeout_s,
                out=tmp_path / "loadbench",
            )
        except LoadbenchError as exc:
            raise pytest.UsageError(f"loadbench_profile: {exc}") from exc
        if record.status != "ok":
            pytest.fail(
                f"loadbench_profile({record.strategy}) {record.status}: {record.error}", False
            )
        _to_benchmark(request, record, outcome)
        return record

    return profile


def _to_benchmark(request: pytest.FixtureRequest, record: Record, outcome: Any) -> None:
    """Put ``record`` in pytest-benchmark's JSON where pytest-benchmark runs."""
    config = request.config
    if not config.pluginmanager.hasplugin("benchmark") or config.getoption("benchmark_skip"):
        return
    benchmark = request.getfixturevalue("benchmark")
    benchmark.extra_info.update(to_json(record))
    report = outcome.result if outcome is not None else None
    feed_times(benchmark, report.step_times_s if report is not None else [])
