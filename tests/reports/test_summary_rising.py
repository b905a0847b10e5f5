"""A flagged peak says it was still rising when the run's timeline was."""

from __future__ import annotations

from loadbench.reports.stats import Spread, late_rise, spread
from loadbench.reports.summary import unstable


def test_late_rise_reads_the_last_third_against_the_rest():
    flat = [[t, 100.0] for t in range(9)]
    assert late_rise(flat) == 0
    climbing = [[t, 100.0 + 10 * t] for t in range(9)]  # 150 before the last third, 180 in it
    assert abs(late_rise(climbing) - 0.2) < 1e-9
    assert late_rise(flat[:5]) is None


def test_a_differing_peak_says_still_rising_once_and_only_when_it_was():
    peaks: Spread = spread([100e6, 130e6, 115e6])
    spreads = {"peak_pss_bytes": peaks, "peak_rss_bytes": peaks}
    said = unstable(spreads, [0.3, 0.01, 0.2])
    assert len(said) == 2 and "still rising as 2 of 3 runs ended (up 30%" in said[0]
    assert "still rising" not in said[1]
    assert not any("still rising" in reason for reason in unstable(spreads, [0.0, 0.01, -0.2]))
    assert unstable({"peak_pss_bytes": spread([100e6, 101e6])}, [0.5, 0.5]) == []
