"""The machine's own speed, read between runs: a fixed loop of pure Python, timed.

A shared machine's CPU does not run at one speed. On the 2-core VM loadbench is built
on, a plain Python loop (no loadbench, no TensorFlow) ran 1 s at a time in fresh
processes, three at a time as a row's repeats are: 11 of 18 such triples had a CV of
10% or more, where the loop itself has no variance to have. A pipeline's throughput
follows that speed, so its repeats differ as much with nothing in the pipeline moving.

``machine_speed`` is read by the parent just before each child starts (nothing of
loadbench runs then: the last child has gone, the fork server waits): ``READ_S`` of
the loop, about 1 s over the default run's 54 children. Each record carries its
reading; ``loadbench.reports.summary`` sets a row's throughput spread against the spread of every
reading in the results, to tell the machine's variance from the pipeline's.
"""

from __future__ import annotations

import time

READ_S = 0.02
UNIT_ITERATIONS = 2000  # about 50 microseconds of the loop on the 2-core VM


def machine_speed(seconds: float = READ_S) -> float:
    """Units of the fixed loop run per second, over ``seconds`` of it (one or more)."""
    units = 0
    began = time.perf_counter()
    while True:
        for _ in range(UNIT_ITERATIONS):
            pass
        units += 1
        took = time.perf_counter() - began
        if took >= seconds:
            return round(units / took, 1)
