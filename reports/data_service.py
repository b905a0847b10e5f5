"""Which strategies the tf.data service can run, and what each costs with 0, 1 and 2
workers: pure functions of records."""

from __future__ import annotations

import re

import pandas as pd

from loadbench.reports.records import Record
from loadbench.reports.stats import median

# What a worker in another process answers when the pipeline calls back into Python.
PYTHON_CALLBACK = re.compile(r"Could not find callback with key=\S+ in the registry")


def workers(record: Record) -> int | None:
    """Worker processes a run went through: 0 for a local run, None for a dispatcher the
    user runs (its workers are not ours to count)."""
    service = record.options.get("service")
    if not service or service == "0":
        return 0
    return None if str(service).startswith("grpc://") else int(service)


def reason(record: Record) -> str:
    """Why a run through the service did not end ok, in one line."""
    error = record.error or record.status
    found = PYTHON_CALLBACK.search(error)
    if found:
        return (
            f"{found.group(0)}: the pipeline calls Python (from_generator, py_function or "
            "numpy_function), which lives only in the process that built it"
        )
    return error.splitlines()[0][:300]


def table(records: list[Record]) -> pd.DataFrame:
    """One row per strategy, mode and processing mode that went through the service:
    distributable or not with the reason, and per worker count its samples/s, the
    client's peak and the workers' summed peak (medians of repeats)."""
    served = [r for r in records if workers(r) != 0]
    if not served:
        return pd.DataFrame()
    rows = []
    keys = dict.fromkeys((r.strategy, r.mode, r.options.get("processing_mode")) for r in served)
    for strategy, mode, processing in keys:
        mine = [r for r in records if r.strategy == strategy and r.mode == mode]
        through = [r for r in mine if workers(r) != 0]
        ok = [r for r in through if r.status == "ok"]
        row = {
            "strategy": strategy,
            "mode": mode,
            "processing_mode": processing,
            "distributable": bool(ok),
            "reason": "" if ok else reason(through[-1]),
        }
        for count in sorted({workers(r) for r in mine}, key=lambda c: -1 if c is None else c):
            runs = [r for r in mine if workers(r) == count and r.status == "ok"]
            label = "remote" if count is None else str(count)
            row[f"samples_per_s_{label}"] = median([r.throughput.samples_per_s for r in runs])
            row[f"client_peak_{label}"] = median(
                [r.service.client_peak_rss_bytes or r.memory.peak_rss_bytes for r in runs]
            )
            row[f"workers_peak_{label}"] = median(
                [
                    sum(r.service.worker_peak_rss_bytes)
                    for r in runs
                    if r.service.worker_peak_rss_bytes
                ]
            )
        rows.append(row)
    return pd.DataFrame(rows)
