"""Each strategy's record against the kernel's maximum RSS of the whole command (what
GNU time reports): one run per strategy and mode, on the built-in dataset unless
``--data`` says otherwise, each in its own ``loadbench run``.

    python docs/probes/gnu_time.py [--data ROOT] [--loaders a,b] [--mode iterate|train|both]

The kernel's figure is the largest maximum RSS of any one process the command waited
for (``os.wait4``'s ru_maxrss, GNU time's ``%M``), read by a small timer process as GNU
time reads it (``tests/benchmarks/kernel_rss.py``: started from this script, a command
would start with the script's own high-water mark). The record's is its largest process:
the child's baseline plus its own peak (``own_peak_rss_bytes``, loop and graph
serialization), or a worker's absolute peak (``process_peaks``) where that is larger.
Beside it, the record's tree figure: baseline plus the larger of the loop's peak and the
serialization's, which sums the workers (sequence's) where the kernel's does not.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "benchmarks")]

from kernel_rss import max_rss_of  # noqa: E402

from loadbench.loaders import registry  # noqa: E402
from loadbench.reports import jsonl  # noqa: E402

MB = 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a dataset root (default: the built-in one)")
    parser.add_argument("--loaders", default=",".join([*registry.CEILINGS, *registry.BUILTIN]))
    parser.add_argument("--mode", choices=("iterate", "train", "both"), default="both")
    args = parser.parse_args()
    modes = ("iterate", "train") if args.mode == "both" else (args.mode,)
    work = Path(tempfile.mkdtemp(prefix="gnu-time-"))
    head = "| mode | strategy | GNU time max RSS, MB | record's largest process, MB"
    head += " | record / kernel"
    print(head + " | record's tree: baseline + peak, MB | loop peak, MB | serializing, MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    runs = [(m, s) for m in modes for s in args.loaders.split(",")]
    for mode, strategy in runs:
        if mode == "train" and strategy in registry.CEILINGS:
            continue  # a ceiling only iterates
        out = work / mode / strategy
        target = registry.CEILINGS.get(strategy, strategy)  # a ceiling: by module:Name
        argv = [sys.executable, "-m", "loadbench", "run", "--loaders", target]
        argv += ["--mode", mode, "--repeats", "1", "--no-ceilings", "--no-report"]
        argv += ["--out", str(out)]
        if args.data:
            argv += ["--data", args.data]
        kernel = max_rss_of(argv)
        [record] = jsonl.read(out / "results.jsonl")
        if record.status != "ok":
            sys.exit(f"{strategy}: {record.status}: {record.error}")
        serializing = record.graph.graph_serialize_peak_bytes or 0
        tree = record.memory.baseline_rss_bytes + max(record.memory.peak_rss_bytes, serializing)
        own = record.memory.baseline_rss_bytes + (record.memory.own_peak_rss_bytes or 0)
        largest = max([own, *(m["peak_rss_bytes"] for m in record.memory.process_peaks)])
        workers = (
            f" ({record.memory.tree_processes} processes)"
            if record.memory.tree_processes > 1
            else ""
        )
        print(
            f"| {mode} | {strategy}{workers} | {kernel / MB:,.1f} | {largest / MB:,.1f} | "
            f"{largest / kernel - 1:+.1%} | {tree / MB:,.1f} | "
            f"{record.memory.peak_rss_bytes / MB:,.1f} | {serializing / MB:,.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
