"""Each strategy's record against the kernel's maximum RSS of the whole command (what
GNU time reports): one iterating run per strategy, on the built-in dataset unless
``--data`` says otherwise, each in its own ``loadbench run``.

    python docs/probes/gnu_time.py [--data ROOT] [--loaders a,b]

The kernel's figure is the largest maximum RSS of any one process the command waited
for (``os.wait4``'s ru_maxrss, GNU time's ``%M``). The record's is its largest process:
the child's baseline plus its own peak (``own_peak_rss_bytes``, loop and graph
serialization), or a worker's absolute peak (``process_peaks``) where that is larger.
Beside it, the record's tree figure: baseline plus the larger of the loop's peak and the
serialization's, which sums the workers (sequence's) where the kernel's does not.
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
    head = "| strategy | GNU time max RSS, MB | record's largest process, MB | record / kernel"
    print(head + " | record's tree: baseline + peak, MB | loop peak, MB | serializing, MB |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for strategy in args.loaders.split(","):
        out = work / strategy
        target = registry.CEILINGS.get(strategy, strategy)  # a ceiling: by module:Name
        argv = [sys.executable, "-m", "benchmarks.cli", "run", "--loaders", target]
        argv += ["--mode", "iterate", "--repeats", "1", "--no-ceilings", "--no-report"]
        argv += ["--out", str(out)]
        if args.data:
            argv += ["--data", args.data]
        kernel = max_rss_of(argv)
        [record] = jsonl.read(out / "results.jsonl")
        if record.status != "ok":
            sys.exit(f"{strategy}: {record.status}: {record.error}")
        serializing = record.graph_serialize_peak_bytes or 0
        tree = record.baseline_rss_bytes + max(record.peak_rss_bytes, serializing)
        own = record.baseline_rss_bytes + (record.own_peak_rss_bytes or 0)
        largest = max([own, *(m["peak_rss_bytes"] for m in record.process_peaks)])
        workers = f" ({record.tree_processes} processes)" if record.tree_processes > 1 else ""
        print(
            f"| {strategy}{workers} | {kernel / MB:,.1f} | {largest / MB:,.1f} | "
            f"{largest / kernel - 1:+.1%} | {tree / MB:,.1f} | {record.peak_rss_bytes / MB:,.1f} | "
            f"{serializing / MB:,.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
