"""Repeats of one measurement: median, spread, and when they disagree too much."""

from __future__ import annotations

import pytest
from record_factory import make

from reports.summary import (
    BYTES_SPREAD,
    KERNEL_AGREES,
    UNSTABLE_CV,
    spread,
    summary,
    unstable,
    with_spread,
)


def repeats(strategy: str, rates, peaks, **fields):
    return [
        make(strategy, samples_per_s=rate, peak_rss_bytes=peak, repeat=index, **fields)
        for index, (rate, peak) in enumerate(zip(rates, peaks, strict=True))
    ]


def test_spread_is_median_range_and_cv():
    found = spread([100.0, 90.0, 110.0])
    assert (found.median, found.low, found.high, found.count) == (100.0, 90.0, 110.0, 3)
    assert found.cv == pytest.approx(0.10)  # sample standard deviation 10 over mean 100
    assert spread([5.0]).cv is None and spread([]) is None


def test_throughput_cv_of_ten_percent_or_more_is_unstable():
    steady = repeats("generator", [100, 101, 99], [200e6] * 3)
    shaky = repeats("sequence", [100, 80, 122], [200e6] * 3)  # CV 21%
    table = summary(steady + shaky).set_index("strategy")
    assert table.loc["generator", "unstable"] == []
    reasons = table.loc["sequence", "unstable"]
    assert len(reasons) == 1 and reasons[0].startswith("samples/s CV 21%")
    assert table.loc["sequence", "samples_per_s"] == 100  # the median, not the mean
    assert with_spread(table.loc["sequence"], "samples_per_s") == ("100 samples/s (80-122, CV 21%)")


def test_bytes_more_than_five_percent_apart_are_unstable():
    close = repeats("tfrecord", [100] * 3, [200e6, 204e6, 208e6])  # 4% of the median
    apart = repeats("memmap", [100] * 3, [200e6, 215e6, 208e6])  # 7%
    table = summary(close + apart).set_index("strategy")
    assert table.loc["tfrecord", "unstable"] == []
    assert table.loc["memmap", "unstable"] == ["peak RSS differs 7% between repeats (> 5%)"]
    assert with_spread(table.loc["memmap"], "peak_rss_bytes") == "208.0 MB (200.0-215.0)"


def test_failed_repeats_are_left_out_of_the_spread():
    runs = repeats("generator", [100, 101], [200e6] * 2)
    runs.append(make("generator", status="crashed", error="crashed with SIGABRT", repeat=2))
    row = summary(runs).iloc[0]
    assert (row["runs"], row["ok_runs"]) == (3, 2)
    assert row["spreads"]["samples_per_s"].count == 2 and row["unstable"] == []


def test_thresholds_are_the_documented_ones():
    assert (UNSTABLE_CV, BYTES_SPREAD) == (0.10, 0.05)
    at_threshold = spread([90.0, 100.0, 110.0])  # CV exactly 10%: flagged
    assert unstable({"samples_per_s": at_threshold})


def test_peaks_apart_that_the_kernel_saw_in_every_repeat_vary_and_are_not_unstable():
    seen = repeats("files", [100] * 3, [200e6, 230e6, 208e6], kernel_agreement=1.0)
    one_missed = repeats("tfrecord", [100] * 3, [200e6, 230e6, 208e6], kernel_agreement=1.0)
    one_missed[1] = make(
        "tfrecord", samples_per_s=100, peak_rss_bytes=230e6, repeat=1, kernel_agreement=0.9
    )
    unread = repeats("memmap", [100] * 3, [200e6, 230e6, 208e6])  # an older record: null
    shaky = repeats("sequence", [100, 80, 122], [200e6, 230e6, 208e6], kernel_agreement=1.0)
    table = summary(seen + one_missed + unread + shaky).set_index("strategy")
    differs = "peak RSS differs 14% between repeats (> 5%)"
    assert table.loc["files", "unstable"] == [] and table.loc["files", "varies"] == [differs]
    for doubted in ("tfrecord", "memmap"):  # a peak the sampler may have missed
        assert table.loc[doubted, "unstable"] == [differs] and table.loc[doubted, "varies"] == []
    # the throughput's spread is the measurement's, whatever the kernel saw
    assert table.loc["sequence", "unstable"][0].startswith("samples/s CV 21%")
    assert table.loc["sequence", "varies"] == [differs]
    assert KERNEL_AGREES == 0.95
