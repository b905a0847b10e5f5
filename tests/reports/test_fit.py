"""Fits of memory and graph bytes against dataset bytes, and the predicted break points."""

from __future__ import annotations

import random

import pytest
from record_factory import make

from loadbench.reports.fit import Fit, fit_line, fits

PER_SAMPLE = 28672  # bytes per sample of the factory's 64x64 dataset


def sized(strategy: str, pairs: int, **fields):
    dataset = {
        "root": "synthetic",
        "split": "train",
        "pairs": pairs,
        "image_size": [64, 64],
        "bytes_per_sample": PER_SAMPLE,
    }
    return make(strategy, dataset=dataset, **fields)


def test_fit_recovers_a_known_slope_from_records():
    noise = random.Random(0)
    records = []
    for pairs in (250, 500, 1000, 2000):
        data = pairs * PER_SAMPLE
        for _ in range(3):  # repeats: the fit takes their median
            peak = 3 * data + 50_000_000 + noise.uniform(-1e6, 1e6)
            records.append(
                sized(
                    "tensor_slices",
                    pairs,
                    peak_rss_bytes=int(peak),
                    dataset_graph_bytes=data + 3_000,
                )
            )
    table = fits(records)
    by_metric = {row.metric: row.fit for row in table.itertuples()}
    memory, graph = by_metric["peak_rss_bytes"], by_metric["dataset_graph_bytes"]
    assert memory.slope == pytest.approx(3, rel=0.01) and memory.r2 > 0.99
    assert memory.intercept == pytest.approx(50e6, rel=0.05)
    assert graph.slope == pytest.approx(1) and graph.intercept == pytest.approx(3000, abs=1)
    assert memory.points == graph.points == 4


def test_break_points_are_predicted_from_the_line():
    graph = fit_line([1e6, 2e6, 4e6], [1e6 + 3000, 2e6 + 3000, 4e6 + 3000])
    assert graph.crossing(2**31) == pytest.approx(2**31 - 3000)
    memory = Fit(slope=2.0, intercept=1e9, r2=0.99, points=4)
    assert memory.crossing(16e9) == pytest.approx(7.5e9)  # 16 GB of RAM at 7.5 GB of data
    assert memory.has_trend


def test_flat_and_already_over():
    flat = fit_line([1e6, 2e6, 4e6], [5800, 5800, 5800])
    assert flat.crossing(2**31) is None and not flat.has_trend
    over = Fit(slope=1.0, intercept=3e9, r2=1.0, points=3)
    assert over.crossing(2**31) == 0.0
    noisy = Fit(slope=0.8, intercept=1.8e7, r2=0.3, points=4)
    assert not noisy.has_trend  # points that do not follow a line predict nothing


def test_too_few_sizes_give_no_fit():
    assert fit_line([1e6], [2e6]) is None
    assert fit_line([1e6, 1e6], [2e6, 3e6]) is None
    records = [sized("generator", 100), sized("generator", 100)]
    assert fits(records).empty


def test_break_points_from_records_name_the_limit_and_the_data_size():
    from loadbench.reports.fit import break_points

    records = [
        sized(
            "tensor_slices",
            pairs,
            peak_rss_bytes=2 * pairs * PER_SAMPLE + 100_000_000,
            dataset_graph_bytes=pairs * PER_SAMPLE + 3_000,
        )
        for pairs in (250, 500, 1000)
    ] + [
        sized("generator", pairs, peak_rss_bytes=60_000_000, dataset_graph_bytes=5_800)
        for pairs in (250, 500, 1000)
    ]
    table = break_points(records, ram_bytes=16_000_000_000)
    row = {(r.strategy, r.metric): r for r in table.itertuples()}
    graph = row[("tensor_slices", "dataset_graph_bytes")]
    assert graph.at == pytest.approx(2**31 - 3_000) and "2 GiB graph limit" in graph.where
    memory = row[("tensor_slices", "peak_rss_bytes")]
    assert memory.at == pytest.approx((16e9 - 1e8) / 2) and "16.0 GB of RAM" in memory.where
    assert row[("generator", "dataset_graph_bytes")].at is None
    assert row[("generator", "peak_rss_bytes")].where == "never: does not grow with the data"


def test_runs_with_other_options_are_other_lines():
    records = [
        sized("generator", pairs, options={"batch_size": batch}, peak_rss_bytes=batch * 1_000_000)
        for pairs in (250, 500)
        for batch in (8, 32)
    ]
    table = fits(records)
    memory = table[table["metric"] == "peak_rss_bytes"]
    assert sorted(row.fit.intercept for row in memory.itertuples()) == pytest.approx([8e6, 32e6])
