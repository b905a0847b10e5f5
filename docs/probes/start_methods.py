"""The probes' calibrations, and two strategies' memory, under each start method: a
child forked from the fork server against a spawned one (README, "How each run is
measured"). Each figure is measured REPEATS times per method, alternating the methods.

    python docs/probes/start_methods.py [--repeats 3]

Calibrations (tests/plugins/misbehaving.py, the tests' own workloads): a 500 MB block
held in the loop (by RSS and by memray), a worker process holding 300 MB, a 200 MB block
two forked workers share (the tree's PSS holds it once). Strategies: generator and
tensor_slices iterating a 2,000-pair 64x64 split (small and data-holding graphs): their
peaks above the baseline by RSS and PSS, and the baseline itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "plugins")]

from loadbench.harness import runner  # noqa: E402
from loadbench.harness.parent.runner import START_METHODS, run_isolated  # noqa: E402
from loadbench.harness.spec import RunSpec  # noqa: E402
from loadbench.loaders.dataset.synth import SynthParams, synthesize  # noqa: E402
from loadbench.loaders.options import PipelineOptions  # noqa: E402

MB = 1e6
# (label, strategy, the record's field, the truth in bytes or None)
ROWS = [
    ("500 MB block, RSS", "misbehaving:Calibrated", "peak_rss_bytes", 500 * MB),
    ("500 MB block, memray", "misbehaving:Calibrated", "memray_peak_bytes", 500 * MB),
    ("worker's 300 MB, RSS", "misbehaving:SpawnsHungryChild", "peak_rss_bytes", 300 * MB),
    ("200 MB shared by 2 forks, PSS", "misbehaving:ForksSharing", "peak_pss_bytes", 200 * MB),
    ("generator, peak RSS", "generator", "peak_rss_bytes", None),
    ("generator, peak PSS", "generator", "peak_pss_bytes", None),
    ("generator, baseline RSS", "generator", "baseline_rss_bytes", None),
    ("tensor_slices, peak RSS", "tensor_slices", "peak_rss_bytes", None),
    ("tensor_slices, peak PSS", "tensor_slices", "peak_pss_bytes", None),
    ("tensor_slices, serializing", "tensor_slices", "graph_serialize_peak_bytes", None),
]


def spec(strategy: str, root: Path, cache: Path, memray: Path | None) -> RunSpec:
    return RunSpec(
        strategy=strategy,
        mode="iterate",
        data_root=str(root),
        split="train",
        synthetic=True,
        options=PipelineOptions(batch_size=32 if "misbehaving" not in strategy else 4),
        cache_root=str(cache),
        steps=10 if "misbehaving" not in strategy else 4,
        warmup_steps=3 if "misbehaving" not in strategy else 1,
        min_measured_s=1.0 if "misbehaving" not in strategy else 0.0,
        memray_path=str(memray) if memray else None,
        log_path=str(cache.parent / "logs" / f"{strategy.replace(':', '-')}.log"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="start-methods-"))
    tiny, big = work / "tiny", work / "big"
    synthesize(tiny, SynthParams(pairs=23, size=32, splits={"train": 1.0}), workers=1)
    synthesize(big, SynthParams(pairs=2000, size=64, splits={"train": 1.0}))
    runner.start_server("forkserver")
    runs = sorted({(strategy, field == "memray_peak_bytes") for _, strategy, field, _ in ROWS})
    found: dict[tuple[str, bool, str], list] = {}
    for repeat in range(args.repeats):
        for method in START_METHODS if repeat % 2 == 0 else START_METHODS[::-1]:
            for strategy, tracked in runs:
                root = tiny if "misbehaving" in strategy else big
                memray = work / f"{method}-{repeat}-{strategy.replace(':', '-')}.bin"
                run = spec(strategy, root, work / "cache", memray if tracked else None)
                outcome = run_isolated(run, 300, start_method=method)
                if outcome.status != "ok":
                    sys.exit(f"{strategy} under {method}: {outcome.status}: {outcome.error}")
                found[(strategy, tracked, method)] = [
                    *found.get((strategy, tracked, method), []),
                    outcome.result.measurement,
                ]
                print(f"  {method:10} {strategy:30} #{repeat + 1} ok", file=sys.stderr)
    runner.stop_fork_server()
    print("| figure | truth | spawn: median (range) | forkserver: median (range) | fork / spawn |")
    print("| --- | --- | --- | --- | --- |")
    for label, strategy, field, truth in ROWS:
        tracked = field == "memray_peak_bytes"
        cells, medians = [], []
        for method in ("spawn", "forkserver"):
            values = [getattr(m, field) / MB for m in found[(strategy, tracked, method)]]
            medians.append(statistics.median(values))
            cells.append(f"{medians[-1]:,.1f} ({min(values):,.1f}-{max(values):,.1f})")
        ratio = medians[1] / medians[0] - 1 if medians[0] else float("nan")
        known = f"{truth / MB:,.0f}" if truth else "-"
        print(f"| {label} | {known} | {cells[0]} | {cells[1]} | {ratio:+.1%} |")


if __name__ == "__main__":
    main()
