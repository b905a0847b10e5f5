"""Each strategy's throughput as a fraction of this machine's ceiling that applies to it:
a reader's figure, computed from the records it is given (the ceilings' own runs on the
same split), never stored, so it does not depend on the order runs happened in."""

from __future__ import annotations

from loadbench.reports.records import Record, dataset_key
from loadbench.reports.stats import median


def ceiling_rates(records: list[Record]) -> dict[tuple[str, str], float]:
    """(ceiling name, split) -> the median samples/s of that ceiling's ok runs on it."""
    found: dict[tuple[str, str], list[float]] = {}
    for record in records:
        if record.is_ceiling and record.status == "ok" and record.throughput.samples_per_s:
            key = (record.strategy, dataset_key(record.dataset))
            found.setdefault(key, []).append(record.throughput.samples_per_s)
    return {key: rate for key, rates in found.items() if (rate := median(rates))}


def fractions(records: list[Record]) -> list[float | None]:
    """Per record, in order: its iterating samples/s over the median of its ceiling's
    runs on the same split; None for a ceiling, a training run, a failed run, or where
    the records hold no run of its ceiling."""
    rates = ceiling_rates(records)
    out: list[float | None] = []
    for record in records:
        rate = rates.get((record.ceiling or "", dataset_key(record.dataset)))
        usable = record.mode == "iterate" and not record.is_ceiling and record.status == "ok"
        out.append(
            record.throughput.samples_per_s / rate
            if usable and rate and record.throughput.samples_per_s
            else None
        )
    return out
