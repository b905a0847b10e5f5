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

# MLPerf Storage's pass mark (ResNet-50, U-Net3D): a pipeline keeps an accelerator busy
# when its utilisation (AU: compute over the wall time of the measured steps) is at least
# this. Here, where the measuring child can read it without the report's imports.
BUSY_LINE = 0.90

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
    summary: a column of the summary tables, in the table's order (each column costs
        width: the report's widest table is at its 1,280-pixel limit).
    narrow: a column of the table ``loadbench run`` prints, which fits 120 characters:
        only what decides a choice.
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
    summary: bool = False  # a column of the summary tables (terminal --wide, the report)
    narrow: bool = False  # a column of the terminal's 120-column table too: it decides a choice

    def format(self, value: float | None) -> str:
        return FORMATTERS[self.unit](value)

    @property
    def heading(self) -> str:
        return self.short or self.label


METRICS: tuple[Metric, ...] = (
    Metric(
        field="samples_per_s",
        summary=True,
        narrow=True,
        label="samples/s",
        unit="samples/s",
        better="higher",
        role="inform",
        tolerance="throughput",
        covers="steady state, warm-up excluded",
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
        summary=True,
        narrow=True,
        label="of ceiling",
        unit="share",
        better="higher",
        role="inform",
        covers="iterating throughput over this machine's decode or copy ceiling",
        derived=True,
    ),
    Metric(
        field="accelerator_busy_share",
        summary=True,
        narrow=True,
        label="busy (AU)",
        unit="share",
        better="higher",
        role="inform",
        covers="training: accelerator utilisation, the step's time over the wall time of the "
        "measured steps (MLPerf Storage's AU; its bar is 90%)",
    ),
    Metric(
        field="settled_busy_share",
        label="busy, settled",
        unit="share",
        better="higher",
        role="inform",
        covers="training, where the run waited for its memory to settle: AU over the settle "
        "window, the loop's last seconds (a pipeline that caches: after its first epoch), "
        "what `loadbench tune` judges a trial by",
    ),
    Metric(
        field="accelerators_fed",
        summary=True,
        narrow=True,
        label="accelerators fed",
        unit="count",
        better="higher",
        role="inform",
        covers="training: the most accelerators of the run's kind its pipeline keeps at "
        "AU >= 90%, found by measuring each candidate count",
        short="fed",
    ),
    Metric(
        field="supply_samples_per_s",
        label="supply",
        unit="samples/s",
        better="higher",
        role="inform",
        covers="training: samples a second the pipeline hands over when nothing waits on it "
        "(its buffer drained first, then batches as fast as they come), measured after the "
        "loop; with the hand-over it predicts the accelerators fed",
    ),
    Metric(
        field="handover_s",
        label="hand-over",
        unit="seconds",
        better="lower",
        role="inform",
        covers="training: the one-accelerator loop's mean wait for a batch, the cost of "
        "handing one over (every stall counts, as it does in AU)",
    ),
    Metric(
        field="fed_predicted",
        label="fed predicted",
        unit="count",
        better="higher",
        role="inform",
        covers="training: the accelerators fed the supply and the hand-over predict (fewer "
        "of supply x step / 90% and step x 10% / (90% x hand-over)): where a first repeat's "
        "search begins; a later repeat begins at the count the earlier ones found",
    ),
    Metric(
        field="first_batch_s",
        summary=True,
        narrow=True,
        label="first batch",
        unit="seconds",
        better="lower",
        role="inform",
        covers="pipeline built to first batch in hand",
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
        field="cpu_s_per_1000_samples",
        label="CPU s / 1k samples",
        short="CPU/1k",
        unit="seconds",
        better="lower",
        role="inform",
        covers="CPU time (user and system) of the whole process tree over the measured "
        "batches, per 1,000 samples: the pipeline's threads and workers, and the training "
        "step where it runs on this CPU; times an accelerator's demand in samples per "
        "second, divided by 1,000: the cores the pipeline needs to feed it",
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
        summary=True,
        narrow=True,
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
        summary=True,
        narrow=True,
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
        summary=True,
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
        summary=True,
        narrow=True,
        label="GPU peak",
        unit="bytes",
        better="lower",
        role="gate",
        tolerance="memory",
        covers="GPU:0 after a reset; none without a GPU",
    ),
    Metric(
        field="dataset_graph_bytes",
        summary=True,
        narrow=True,
        label="dataset graph",
        unit="bytes",
        better="lower",
        role="gate",
        tolerance="graph",
        covers="the serialized dataset graph; the protobuf limit is 2 GiB",
    ),
    Metric(
        field="graph_serialize_peak_bytes",
        summary=True,
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
        summary=True,
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

# The summary table's columns, in the metric table's order.
SUMMARY_FIELDS: tuple[str, ...] = tuple(m.field for m in METRICS if m.summary)
# The columns of the table ``loadbench run`` prints (``--wide``: the summary's).
NARROW_FIELDS: tuple[str, ...] = tuple(m.field for m in METRICS if m.narrow)
