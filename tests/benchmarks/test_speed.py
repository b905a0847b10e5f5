"""The machine's own speed, read between runs (loadbench.harness.parent.speed)."""

from __future__ import annotations

import time

from loadbench.harness.parent.speed import UNIT_ITERATIONS, machine_speed


def test_a_reading_runs_its_time_and_counts_the_units_done_in_it():
    began = time.perf_counter()
    speed = machine_speed(0.05)
    took = time.perf_counter() - began
    assert took >= 0.05  # it runs for at least the time asked
    assert speed * took >= 1  # at least one unit was done and counted
    # The same loop, timed here unit by unit: the reading is its rate, within the
    # machine's own noise (a factor of 3 on a loaded 2-core machine).
    units, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < 0.05:
        for _ in range(UNIT_ITERATIONS):
            pass
        units += 1
    assert 1 / 3 < speed / (units / elapsed) < 3
