"""Each strategy's record against the kernel's maximum RSS of the whole command (what
GNU time reports): one iterating run per strategy, on the built-in dataset unless
``--data`` says otherwise, each in its own ``loadbench run``.

    python docs/probes/gnu_time.py [--data ROOT] [--loaders a,b]

The kernel's figure is the largest maximum RSS of any one process the command waited
for (``os.wait4``'s ru_maxrss, GNU time's ``%M``); the record's absolute peak is its
baseline plus the larger of the loop's peak and the graph serialization's, by RSS.
For a strategy with worker processes (sequence) the record sums the tree, where the
kernel's figure is one process's: the table says which process the record's largest
member is.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from loaders import registry  # noqa: E402
from reports import jsonl  # noqa: E402

MB = 1e6


def max_rss_of(argv: list[str]) -> int:
    """The largest ru_maxrss of the command and the processes it waited for, in bytes."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)}: exit {os.waitstatus_to_exitcode(status)}")
    return usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a dataset root (default: the built-in one)")
    parser.add_argument("--loaders", default=",".join([*registry.CEILINGS, *registry.BUILTIN]))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gnu-time-"))
    head = "| strategy | GNU time max RSS | record: baseline + peak | loop peak | serializing"
    print(head + " | record / kernel |")
    print("| --- | --- | --- | --- | --- | --- |")
    for strategy in args.loaders.split(","):
        out = work / strategy
        argv = [sys.executable, "-m", "benchmarks.cli", "run", "--loaders", strategy]
        argv += ["--mode", "iterate", "--repeats", "1", "--no-ceilings", "--no-report"]
        argv += ["--out", str(out)]
        if args.data:
            argv += ["--data", args.data]
        kernel = max_rss_of(argv)
        [record] = [r for r in jsonl.read(out / "results.jsonl") if r.strategy == strategy]
        if record.status != "ok":
            sys.exit(f"{strategy}: {record.status}: {record.error}")
        serializing = record.graph_serialize_peak_bytes or 0
        absolute = record.baseline_rss_bytes + max(record.peak_rss_bytes, serializing)
        workers = f" ({record.tree_processes} processes)" if record.tree_processes > 1 else ""
        print(
            f"| {strategy}{workers} | {kernel / MB:,.1f} MB | {absolute / MB:,.1f} MB | "
            f"{record.peak_rss_bytes / MB:,.1f} MB | {serializing / MB:,.1f} MB | "
            f"{absolute / kernel - 1:+.1%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
