"""Repeats of one measurement: median, spread, and when they disagree too much."""

from __future__ import annotations

import pytest
from record_factory import make

from loadbench.reports.summary import (
    BYTES_SPREAD,
    MACHINE_P,
    MACHINE_READINGS,
    UNSTABLE_CV,
    machine_share,
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


def _readings(cv_step: float, count: int) -> list[float]:
    """Machine readings alternating about 1000 by ``cv_step``: a CV of about it."""
    return [1000 * (1 + cv_step * (-1) ** i) for i in range(count)]


def test_a_throughput_spread_the_machine_speed_explains_varies_and_is_not_unstable():
    # The machine's own speed, read before each of 30 runs, had a CV of about 20%.
    speeds = iter(_readings(0.2, 30))
    noisy = [
        make(
            "tfrecord", samples_per_s=r, peak_rss_bytes=200e6, repeat=i, machine_speed=next(speeds)
        )
        for i, r in enumerate([100, 80, 122])  # CV 21%: as much as the machine's
    ]
    wild = [
        make("memmap", samples_per_s=r, peak_rss_bytes=200e6, repeat=i, machine_speed=next(speeds))
        for i, r in enumerate([100, 30, 190])  # CV 75%: far more than the machine's
    ]
    rest = [
        make("files", samples_per_s=100, peak_rss_bytes=200e6, repeat=i, machine_speed=s)
        for i, s in enumerate(speeds)
    ]
    table = summary(noisy + wild + rest).set_index("strategy")
    assert table.loc["tfrecord", "unstable"] == []
    (said,) = table.loc["tfrecord", "varies"]
    assert said.startswith("samples/s CV 21% (>= 10%), not more than the machine's own speed")
    assert "its CV 20% over 30 readings of a fixed loop between runs" in said
    assert table.loc["memmap", "unstable"] == ["samples/s CV 75% (>= 10%)"]
    assert table.loc["memmap", "varies"] == []


def test_the_machine_explains_nothing_from_few_readings_or_a_steady_machine():
    shaky = spread([100.0, 80.0, 122.0])  # CV 21%
    assert machine_share(shaky, spread(_readings(0.2, MACHINE_READINGS - 1))) is None
    assert machine_share(shaky, spread(_readings(0.02, 50))) is None  # a steady machine
    assert machine_share(shaky, spread([1000.0] * 50)) is None
    assert machine_share(shaky, None) is None  # records before schema 8: no readings
    p = machine_share(shaky, spread(_readings(0.2, 50)))
    assert p is not None and MACHINE_P <= p <= 1
    assert unstable({"samples_per_s": shaky}, machine=spread(_readings(0.02, 50)))
    assert not unstable({"samples_per_s": shaky}, machine=spread(_readings(0.2, 50)))
    assert (MACHINE_P, MACHINE_READINGS) == (0.05, 10)


def test_another_machines_readings_do_not_explain_a_rows_spread():
    # This row's machine held still (CV 2%); a noisy one's records share the report.
    steady = iter(_readings(0.02, 20))
    here = [
        make(
            "tfrecord", samples_per_s=r, peak_rss_bytes=200e6, repeat=i, machine_speed=next(steady)
        )
        for i, r in enumerate([100, 80, 122])
    ]
    here += [make("files", repeat=i, machine_speed=s) for i, s in enumerate(steady)]
    noisy = {"hostname": "laptop", "cpu_model": "Intel", "cpu_count": 8}
    there = [
        make("memmap", repeat=i, machine_speed=s, env=noisy)
        for i, s in enumerate(_readings(0.5, 40))
    ]
    table = summary(here + there).set_index("strategy")
    assert table.loc["tfrecord", "unstable"] == ["samples/s CV 21% (>= 10%)"]
    assert table.loc["tfrecord", "varies"] == []


def test_accelerators_fed_more_than_one_apart_varies_and_is_not_unstable():
    def fed(strategy, counts):
        return [
            make(
                strategy,
                mode="train",
                samples_per_s=100,
                peak_rss_bytes=200e6,
                repeat=i,
                accelerators_fed=count,
            )
            for i, count in enumerate(counts)
        ]

    table = summary(fed("tensor_slices", [12, 23, 22]) + fed("memmap", [3, 4, 3])).set_index(
        "strategy"
    )
    (said,) = table.loc["tensor_slices", "varies"]
    assert said.startswith("accelerators fed 12-23 between repeats (more than 1 apart)")
    assert "plan for the smallest" in said
    assert table.loc["tensor_slices", "unstable"] == []
    assert table.loc["memmap", "varies"] == []  # one apart: the search's own resolution
