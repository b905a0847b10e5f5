"""Every metric of a record, declared once: its label, unit, which way is better, and
whether it gates (fails ``compare``) or informs. The report, ``compare``, the printed
summary and the README's tables all read this one table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from loadbench.reports.units import (
    format_bytes,
    format_count,
    format_rate,
    format_seconds,
    format_share,
)

Unit = Literal["bytes", "samples/s", "seconds", "share", "count"]
FORMATTERS: dict[str, Callable[[float | None], str]] = {
    "count": format_count,
    "bytes": format_bytes,
    "samples/s": format_rate,
    "seconds": format_seconds,
    "share": format_share,
}


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One measured figure of a run.

    field: the record's field name.
    better: "lower" or "higher".
    role: "gate" figures are deterministic enough to fail CI on (bytes of memory and
        graphs); "inform" figures are noisy on shared machines (timings) and are compared
        only on the same machine, or only shown.
    tolerance: which ``compare`` tolerance applies ("memory", "graph", "throughput"), or
        None when compare does not judge it.
    derived: the reader computes it from several records (``loadbench.reports.load.frame``).
    short: a narrower heading for the report's tables, where the label has a long word
        ('' : the label itself); the label and ``covers`` go in the heading's tooltip.
    """

    field: str
    label: str
    unit: Unit
    better: Literal["lower", "higher"]
    role: Literal["gate", "inform"]
    tolerance: Literal["memory", "graph", "throughput"] | None = None
    covers: str = ""
    derived: bool = False  # computed by the reader from several records, never stored
    short: str = ""

    def format(self, value: float | None) -> str:
        return FORMATTERS[self.unit](value)

    @property
    def heading(self) -> str:
        return self.short or self.label


METRICS: tuple[Metric, ...] = (
    Metric(
        field="samples_per_s",
        label="samples/s",
        unit="samples/s",
        better="higher",
        role="inform",
        tolerance="throughput",
        covers="steady state, warm-up excluded",
    ),
    Metric(
        field="first_batch_s",
        label="first batch",
        unit="seconds",
        better="lower",
        role="inform",
        covers="pipeline built to first batch in hand",
    ),
    Metric(
        field="step_p50_s",
        label="step p50",
        unit="seconds",
        better="lower",
        role="inform",
    ),
    Metric(
        field="step_p95_s",
        label="step p95",
        unit="seconds",
        better="lower",
        role="inform",
    ),
    Metric(
        field="ceiling_fraction",
        label="of ceiling",
        unit="share",
        better="higher",
        role="inform",
        covers="iterating throughput over this machine's decode or copy ceiling",
        derived=True,
    ),
    Metric(
        field="accelerator_busy_share",
        label="busy (AU)",
        unit="share",
        better="higher",
        role="inform",
        covers="training: accelerator utilisation, the step's time over the wall time of the "
        "measured steps (MLPerf Storage's AU; its bar is 90%)",
    ),
    Metric(
        field="accelerators_fed",
        label="accelerators fed",
        unit="count",
        better="higher",
        role="inform",
        covers="training: the most accelerators of the run's kind its pipeline keeps at "
        "AU >= 90%, found by measuring each candidate count",
        short="fed",
    ),
    Metric(
        field="input_bound_share",
        label="input-bound",
        unit="share",
        better="lower",
        role="inform",
        covers="training: share of the loop spent waiting for the next batch",
    ),
    Metric(
        field="compute_only_samples_per_s",
        label="step alone",
        unit="samples/s",
        better="higher",
        role="inform",
        covers="training step on one batch held in memory: the rate to keep up with",
    ),
    Metric(
        field="batch_bytes",
        label="batch bytes",
        unit="bytes",
        better="lower",
        role="inform",
        covers="one batch as it leaves the pipeline: uint8, or 4x as float32 when the host "
        "normalizes",
    ),
    Metric(
        field="peak_pss_bytes",
        label="peak PSS",
        unit="bytes",
        better="lower",
        role="gate",
        tolerance="memory",
        covers="proportional set size summed over the run's process tree, above its "
        "baseline: pages shared between processes count once",
    ),
    Metric(
        field="peak_rss_bytes",
        label="peak RSS",
        unit="bytes",
        better="lower",
        role="gate",
        tolerance="memory",
        covers="resident memory summed over the run's process tree, above its baseline "
        "(a page shared by several processes counts once per process)",
    ),
    Metric(
        field="memray_peak_bytes",
        label="memray peak",
        unit="bytes",
        better="lower",
        role="gate",
        tolerance="memory",
        covers="heap of the main process only (a worker process's allocations are not in "
        "it), from a separate tracked run",
    ),
    Metric(
        field="gpu_peak_bytes",
        label="GPU peak",
        unit="bytes",
        better="lower",
        role="gate",
        tolerance="memory",
        covers="GPU:0 after a reset; none without a GPU",
    ),
    Metric(
        field="dataset_graph_bytes",
        label="dataset graph",
        unit="bytes",
        better="lower",
        role="gate",
        tolerance="graph",
        covers="the serialized dataset graph; the protobuf limit is 2 GiB",
    ),
    Metric(
        field="graph_serialize_peak_bytes",
        label="serialize peak",
        unit="bytes",
        better="lower",
        role="inform",
        covers="the process tree's peak above baseline while the dataset graph is "
        "serialized (as checkpointing, snapshot or the tf.data service do), sampled as the "
        "loop is",
    ),
    Metric(
        field="train_graph_bytes",
        label="train graph",
        unit="bytes",
        better="lower",
        role="gate",
        tolerance="graph",
        covers="GraphDef of the training step",
    ),
)

BY_FIELD: dict[str, Metric] = {m.field: m for m in METRICS}
STORED: tuple[Metric, ...] = tuple(m for m in METRICS if not m.derived)

# The summary table's columns, in order (the report and ``loadbench run`` print these).
SUMMARY_FIELDS: tuple[str, ...] = (
    "samples_per_s",
    "ceiling_fraction",
    "accelerator_busy_share",
    "accelerators_fed",
    "first_batch_s",
    "peak_pss_bytes",
    "peak_rss_bytes",
    "memray_peak_bytes",
    "gpu_peak_bytes",
    "dataset_graph_bytes",
    "graph_serialize_peak_bytes",
    "train_graph_bytes",
)
