"""The settle rule replayed on long runs' recorded timelines: for each window, where each
run would have stopped and the peak it would have reported, against the long runs' own
peaks. This is how the default window (``settle.WINDOW_S``) was chosen.

    loadbench run -l files,tfrecord,fixed_length,memmap --steps 200 --min-time 30 \\
        --max-time 30 -r 3 --no-ceilings --no-fed-search -o long
    python docs/probes/settle_replay.py long/results.jsonl [--windows 2,5,8]

Each record keeps its tree's RSS above the baseline every 50 ms (``rss_timeline``) and
each batch's end (``batch_ends_s``), on one clock. The replay asks the rule itself
(``Settling.settled``) every 0.1 s of a timeline, as the measured loop does, with the
measured span counted from the last warm-up batch, and takes the peak so far where it
first holds (or the run's whole peak, where it never does). A measurement is "within"
where the median of its replayed peaks lies within the range of its runs' whole peaks, or
within 5% of their median: the issue's test of a default run against 30 s runs.
"""

from __future__ import annotations

import argparse
import bisect
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from loadbench.harness.child.settle import Settling  # noqa: E402
from loadbench.reports import jsonl  # noqa: E402
from loadbench.reports.records import Record  # noqa: E402

CHECK_EVERY_S = 0.1


def replayed(record: Record, window_s: float) -> tuple[float | None, int]:
    """Where the rule would have stopped this run (seconds measured; None: never) and the
    peak above the baseline it would have reported then."""
    timeline = [(t, int(b)) for t, b in record.memory.rss_timeline]
    ends = record.throughput.batch_ends_s
    warmup = int(record.options.get("warmup_steps") or 0)
    began = ends[warmup - 1] if warmup else 0.0
    rule = Settling(max_s=float("inf"), window_s=window_s)
    times = [t for t, _ in timeline]
    now = began + CHECK_EVERY_S
    while now <= timeline[-1][0]:
        seen = timeline[: bisect.bisect_right(times, now)]
        if rule.settled(seen, 0, ends[: bisect.bisect_right(ends, now)], seen=0):
            return now - began, max(b for _, b in seen)
        now += CHECK_EVERY_S
    return None, max(b for _, b in timeline)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="results.jsonl of runs of 30 s or so")
    parser.add_argument("--windows", default="2,3,4,5,6,8", help="seconds, comma-separated")
    args = parser.parse_args()
    records = [r for r in jsonl.read(args.results) if r.status == "ok" and not r.is_ceiling]
    groups: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        groups.setdefault((record.mode, record.strategy), []).append(record)
    for window in (float(w) for w in args.windows.split(",")):
        within, times, rows = 0, [], []
        for (mode, strategy), runs in sorted(groups.items()):
            whole = [r.memory.peak_rss_bytes or 0 for r in runs]
            stops = [replayed(r, window) for r in runs]
            times += [
                t if t is not None else r.memory.settle_s or 0.0
                for (t, _), r in zip(stops, runs, strict=True)
            ]
            median, middle = statistics.median(p for _, p in stops), statistics.median(whole)
            ok = min(whole) <= median <= max(whole) or abs(median - middle) <= 0.05 * middle
            within += ok
            mark = "" if ok else "  outside"
            rows.append(
                f"{mode:<8} {strategy:<14} {median / 1e6:7.1f} MB against {middle / 1e6:7.1f}{mark}"
            )
        print(
            f"window {window:g} s: {within} of {len(groups)} within, a run settled after "
            f"{statistics.mean(times):.1f} s on average"
        )
        for row in rows:
            print(f"  {row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
