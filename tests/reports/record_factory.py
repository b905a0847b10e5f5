"""Hand-written records for the report and compare tests: no TensorFlow, milliseconds."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from loadbench.reports import jsonl
from loadbench.reports.record_json import to_json
from loadbench.reports.records import FIELD_SECTION, SECTIONS, Record

MACHINE = {"hostname": "ci-1", "cpu_model": "AMD EPYC", "cpu_count": 2}


def make(strategy: str, mode: str = "iterate", **fields) -> Record:
    """A plausible ok record; override any field."""
    values = dict(
        strategy=strategy,
        role="ceiling" if strategy.startswith("ceiling_") else "strategy",
        mode=mode,
        status="ok",
        dataset={
            "root": "synthetic",
            "split": "train",
            "pairs": 100,
            "image_size": [64, 64],
            "bytes_per_sample": 28672,
        },
        options={"batch_size": 32, "cache": "none", "steps": 10, "warmup_steps": 2},
        samples_per_s=1000.0,
        first_batch_s=0.2,
        step_p50_s=0.03,
        step_p95_s=0.05,
        steps=10,
        baseline_rss_bytes=600_000_000,
        peak_rss_bytes=100_000_000,
        dataset_graph_bytes=6_000,
        graph_over_limit=False,
        rss_timeline=[[0.0, 0], [0.5, 50_000_000], [1.0, 100_000_000]],
        env={**MACHINE, "tensorflow": "2.21.0", "gpu": None, "commit": "abc123"},
        started_at="2026-11-25T10:00:00+00:00",
        wall_s=5.0,
        command="loadbench run --pairs 100 --size 64",
    )
    values.update(fields)
    return Record.of_figures(**values)


# What a training run against the emulated H100 carries beside its busy share.
H100 = {
    "accelerator": "h100",
    "accelerator_source": "derived",
    "accelerator_step_s": 0.049,
}


def trained(strategy: str, busy: float, **fields) -> Record:
    """A training run against an emulated H100 that kept it ``busy`` (AU, 0-1)."""
    return make(strategy, mode="train", accelerator_busy_share=busy, **{**H100, **fields})


def write(path: Path, rows: list[Record]) -> Path:
    """A results file holding exactly ``rows`` (one already there is replaced)."""
    path.unlink(missing_ok=True)
    for row in rows:
        jsonl.append(path, row)
    return path


def write_pytest_benchmark(path: Path, rows: list[Record]) -> Path:
    """A pytest-benchmark JSON file as ``--benchmark-json`` writes it, plus a benchmark
    without loadbench fields (the sampler's) that readers must skip."""
    benchmarks = [
        {
            "name": f"test_strategy[{r.strategy}-{r.mode}]",
            "stats": {"median": 0.03},
            "extra_info": asdict(r),
        }
        for r in rows
    ]
    benchmarks.append({"name": "test_sampler_overhead", "stats": {}, "extra_info": {"x": 1}})
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": benchmarks}, indent=4))
    return path


def five_strategies() -> list[Record]:
    """Five strategies iterating, like a small ``loadbench run --mode iterate``."""
    return [
        make(
            "tensor_slices",
            samples_per_s=5000.0,
            peak_rss_bytes=900_000_000,
            dataset_graph_bytes=460_000_000,
        ),
        make("generator", samples_per_s=250.0, peak_rss_bytes=200_000_000),
        make("sequence", samples_per_s=400.0, peak_rss_bytes=290_000_000),
        make("tfrecord", samples_per_s=2300.0, peak_rss_bytes=300_000_000),
        make("memmap", samples_per_s=2500.0, peak_rss_bytes=840_000_000),
    ]


def schema_8(made: Record) -> dict:
    """``made`` as schema 8 wrote it: every field at the top, the service's two in a dict."""
    data = to_json(made)
    for name in SECTIONS:
        data.update(data.pop(name, {}))
    for name in FIELD_SECTION:
        data.setdefault(name, made.figure(name))
    service = {k: data.pop(k) for k in ("target", "network")}
    data["service"] = service if any(service.values()) else None
    return {**data, "schema": 8}
