"""The record: what one measurement produced, the type every figure travels in from the
measuring child to the report, and the bottom of loadbench's layers.

The harness writes records (``loadbench.reports.jsonl``); everything in ``reports/`` reads them. A
record says all a reader needs to read it alone: its role (a strategy, or one of the
machine's ceilings), which ceiling a strategy is read against, the model width it asked
for (in ``options``) and the one it ran with (``width``). Figures derived from several
records, such as a strategy's fraction of its ceiling, are the reader's to compute.

Schema versions (``schema``, bumped on any change of meaning):
1. the first records;
2. adds repeats, PSS, the input-bound share and the ceilings;
3. adds ``role`` and ``width``; ``options["width"]`` is the width asked for (None: the
   machine's default) so that a run has one identity; ``ceiling_fraction`` is no longer
   stored;
4. adds ``options["normalize"]`` (where pixels become floats), ``batch_bytes`` and, in
   training, the accelerator the step stood for (``options["accelerator"]`` asked for,
   None: the machine's default) with its busy share and ``accelerators_fed``;
5. ``ceiling_copy`` copies each batch (before, TensorFlow aliased its aligned arrays and
   nothing was copied: such a record is read as ``ceiling_copy_aliased``, so no strategy
   is read against it); adds ``reference_samples_per_s``;
6. adds a user's own pipelines (``loadbench profile``: ``dataset["pipeline"]`` names the
   function, ``strategy`` is it too) and the Keras callback's epochs of a real ``fit``
   (mode ``fit``), with ``element_spec``;
7. adds ``graph_serialize_peak_bytes`` and ``kernel_agreement``;
8. adds ``machine_speed``.
Files of schema 1 to 7 are read by ``upgrade``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from loadbench.loaders.errors import RecordError

SCHEMA = 8
KNOWN_SCHEMAS = frozenset({1, 2, 3, 4, 5, 6, 7, 8})
# Before schema 5 ceiling_copy copied nothing (TensorFlow aliased its arrays).
ALIASED_COPY_CEILING = "ceiling_copy_aliased"
STATUSES = ("ok", "error", "crashed", "killed", "timeout", "over_budget")
ROLES = ("strategy", "ceiling")
# GraphDef protos cannot serialize past 2 GiB (protobuf's limit on one message).
PROTOBUF_LIMIT_BYTES = 2**31
# FC-Siam-diff's width when a run leaves it to the machine: the paper's 16 on a GPU, 4 on
# a CPU, where width 16 takes seconds a step at 256x256 (docs/CALIBRATION.md).
DEFAULT_WIDTH = {"gpu": 16, "cpu": 4}
# The fields a run's identity is made of, beside its strategy, mode and options.
IDENTITY_DATASET_FIELDS = ("root", "split", "pairs", "image_size")
# The dataset root of a user's own pipeline (``loadbench profile``) and of a real fit's
# epochs (the Keras callback): neither read a split of the layout.
PIPELINE_ROOT = "pipeline"
FIT_ROOT = "fit"
# The ceilings' names before records carried their role (schema 1 and 2).
LEGACY_CEILINGS = frozenset({"ceiling_decode", "ceiling_copy"})


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """Every figure the measuring child takes of one run; a record is one of these plus
    how the run was asked for and how it ended. A new metric is a field here, set where
    it is measured (``loadbench.harness.child.probe``) and declared where it is shown
    (``loadbench.reports.metrics``).

    Bytes are above the baseline taken after imports and set-up unless named
    ``baseline_``; times are seconds; the timeline is (seconds, bytes above baseline).
    """

    role: str = "strategy"
    ceiling: str | None = None  # for a strategy: the ceiling it is read against
    width: int | None = None  # the model width a training run ran with
    samples_per_s: float | None = None
    first_batch_s: float | None = None
    step_p50_s: float | None = None
    step_p95_s: float | None = None
    steps: int | None = None
    baseline_rss_bytes: int | None = None
    peak_rss_bytes: int | None = None
    baseline_pss_bytes: int | None = None
    peak_pss_bytes: int | None = None
    tree_processes: int | None = None
    # The child process alone (no workers), above its own baseline: loop, graph
    # serialization, a ceiling's reference copy; what GNU time's maximum RSS compares with.
    own_peak_rss_bytes: int | None = None
    process_peaks: list[dict[str, Any]] = field(default_factory=list)
    # The smallest ratio of a process's sampled peak RSS to the kernel's high-water mark
    # of it (VmHWM), over the tree, read as the loop ended: 1.0 when every peak was seen.
    kernel_agreement: float | None = None
    gpu_peak_bytes: int | None = None
    dataset_graph_bytes: int | None = None
    graph_over_limit: bool | None = None
    # The tree's peak above baseline while the dataset graph was serialized (after the
    # loop): what checkpointing, snapshotting or the tf.data service would cost.
    graph_serialize_peak_bytes: int | None = None
    train_graph_bytes: int | None = None
    input_wait_s: float | None = None
    compute_s: float | None = None
    input_bound_share: float | None = None
    compute_only_samples_per_s: float | None = None
    rss_timeline: list[list[float]] = field(default_factory=list)
    batch_ends_s: list[float] = field(default_factory=list)
    memray_peak_bytes: int | None = None
    memory_profile: dict[str, Any] | None = None
    service: dict[str, Any] | None = None
    client_peak_rss_bytes: int | None = None
    worker_peak_rss_bytes: list[int] = field(default_factory=list)
    batch_bytes: int | None = None  # one (the largest) batch as it left the pipeline
    # Training: what the step stood for, and would the pipeline keep it busy.
    accelerator: str | None = None  # "cpu", "gpu", an emulated one's name, "step-time"
    accelerator_source: str | None = None  # "real", "measured", "derived", "given"
    accelerator_step_s: float | None = None  # per batch: emulated, or the real step's median
    accelerator_busy_share: float | None = None  # AU: step time / wall time of the steps
    accelerators_fed: int | None = None  # most such accelerators kept at AU >= 90%
    accelerators_fed_capped: bool | None = None  # the search's limit: "at least"
    fed_trials: list[list[float]] = field(default_factory=list)  # [k, AU, batches, s]
    # A ceiling's outside instrument: the same work without tf.data, in the same child
    # (ceiling_copy: numpy's copy() of its batches).
    reference_samples_per_s: float | None = None
    # A strategy that pairs files its own way (the article's zip(sorted)): how many
    # triples, how many mispaired, the first of them and the files it dropped.
    pairing: dict[str, Any] | None = None
    # A user's own pipeline: its element structure as TensorFlow states it.
    element_spec: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise RecordError(f"role {self.role!r}: must be one of {', '.join(ROLES)}")


MEASURED_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Measurement))


@dataclass(frozen=True, kw_only=True)
class Record(Measurement):
    """One run: how it was asked for (strategy, mode, dataset, options), how it ended
    (status, error), where (env) and what it measured (the Measurement's fields)."""

    schema: int = SCHEMA
    strategy: str
    mode: str
    status: str
    error: str | None = None
    dataset: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    repeat: int = 0
    memray_flamegraph: str | None = None
    env: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    wall_s: float | None = None
    # The machine's own speed read just before the run's child started: units per second
    # of a fixed loop (loadbench.harness.parent.speed), set against the throughput's spread.
    machine_speed: float | None = None
    log: str | None = None
    command: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.status not in STATUSES:
            raise RecordError(f"status {self.status!r}: must be one of {', '.join(STATUSES)}")

    @classmethod
    def of(cls, measured: Measurement, **run: Any) -> Record:
        """The record of a run: ``measured``'s fields, field by field, and the run's own."""
        return cls(**{name: getattr(measured, name) for name in MEASURED_FIELDS}, **run)

    def key(self) -> str:
        """The run's one identity (for --resume and compare): strategy, mode, dataset and
        options, the width asked for among them."""
        return run_key(self.strategy, self.mode, self.dataset, self.options)

    @property
    def is_ceiling(self) -> bool:
        return self.role == "ceiling"


def run_key(strategy: str, mode: str, dataset: dict[str, Any], options: dict[str, Any]) -> str:
    """A run's identity as text: the same for every repeat of one measurement."""
    identity = {name: dataset.get(name) for name in IDENTITY_DATASET_FIELDS}
    return json.dumps([strategy, mode, identity, options], sort_keys=True)


def measured_on(root: Any, split: Any, pairs: Any, size: Any) -> str:
    """What a run read, in words: 'built-in synthetic train, 1000 pairs 256x256', 'your
    own pipelines', 'a real model.fit'. ``size`` is 'WxH' (or None)."""
    if root == PIPELINE_ROOT:
        return "your own pipelines"
    if root == FIT_ROOT:
        return "a real model.fit"
    where = "built-in synthetic" if root == "synthetic" else root
    return f"{where} {split}, {pairs} pairs {size or ''}".rstrip()


def dataset_key(dataset: dict[str, Any]) -> str:
    """Which split a run read, whatever it did with it (a ceiling and a strategy on the
    same split share it)."""
    return json.dumps({name: dataset.get(name) for name in IDENTITY_DATASET_FIELDS})


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """A record of schema 1 to 7 with the fields schema 8 has."""
    if data.get("schema") == SCHEMA:
        return data
    data = dict(data)
    if data.get("schema") in (5, 6, 7):  # schemas 6 to 8 only add fields
        data["schema"] = SCHEMA
        return data
    if data.get("schema") in (1, 2):
        data = _from_schema_2(data)
    # Before schema 4 every pipeline converted to float32 on the host, and training ran
    # the real step on the machine's device: asked for by name where that was the CPU
    # (a CPU machine's default now emulates an accelerator), left to it on a GPU.
    options = dict(data.get("options") or {})
    options.setdefault("normalize", "host")
    if data.get("mode") == "train":
        gpu = bool((data.get("env") or {}).get("gpu"))
        options.setdefault("accelerator", None if gpu else "cpu")
        data.setdefault("accelerator", "gpu" if gpu else "cpu")
        data.setdefault("accelerator_source", "real")
        wait, compute = data.get("input_wait_s"), data.get("compute_s")
        if wait is not None and compute and wait + compute > 0:
            data.setdefault("accelerator_busy_share", compute / (wait + compute))
    data["options"] = options
    if data.get("strategy") == "ceiling_copy":
        data["strategy"] = ALIASED_COPY_CEILING
    data["schema"] = SCHEMA
    return data


def _from_schema_2(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 and 2 records name no role: a ceiling is known by its name. Their train
    options hold the width the run used; a width equal to the machine's default (by the
    record's GPU) is read as left to the machine, any other as asked for. A stored
    ceiling fraction is dropped: readers compute it from the ceilings' own records."""
    data.pop("ceiling_fraction", None)
    data["role"] = "ceiling" if data.get("strategy") in LEGACY_CEILINGS else "strategy"
    options = dict(data.get("options") or {})
    if "width" in options:
        used = options["width"]
        data["width"] = used
        default = DEFAULT_WIDTH["gpu" if (data.get("env") or {}).get("gpu") else "cpu"]
        options["width"] = None if used in (None, default) else used
    data["options"] = options
    return data


@dataclass(frozen=True, kw_only=True)
class LimitMeasurement:
    """What one graph-serializing path did in its child (``loadbench prove-limit``)."""

    graph_bytes: int | None = None
    detail: str = ""
    peak_rss_bytes: int | None = None


LIMIT_KIND = "prove-limit"
LIMIT_SCHEMA = 1
# Each path on which TensorFlow serializes a dataset's graph, in the report's words.
LIMIT_PATHS = {
    "serialize": "Dataset._as_serialized_graph(): what tf.data does to save, checkpoint, "
    "rewrite or ship a pipeline",
    "function": "the pipeline built inside a tf.function, one batch taken: arrays it "
    "captures become constants of the function's graph",
    "service": "the pipeline sent to a tf.data service (a dispatcher and a worker on "
    "localhost, in the same process) with distribute(), one batch taken",
}
LIMIT_STATUSES = ("passed", "over_limit", "failed", "crashed", "killed", "timeout", "over_budget")


@dataclass(frozen=True, kw_only=True)
class LimitRecord:
    """What one path did with one strategy's dataset.

    status: passed; over_limit (passed, but its graph is over ``limit_bytes``: a small
        artificial limit that stands in for 2 GiB in tests); failed (an exception, or
        an empty graph where TensorFlow logged the limit); crashed, killed, timeout,
        over_budget (how the child ended, as for a run).
    outcome: one line of what happened, TensorFlow's words where it had any.
    graph_bytes: bytes the path serialized, when it got that far.
    """

    schema: int = LIMIT_SCHEMA
    kind: str = LIMIT_KIND
    strategy: str
    path: str
    status: str
    outcome: str
    graph_bytes: int | None = None
    limit_bytes: int = PROTOBUF_LIMIT_BYTES
    peak_rss_bytes: int | None = None
    dataset: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    wall_s: float | None = None
    log: str | None = None
    command: str | None = None

    def __post_init__(self) -> None:
        if self.status not in LIMIT_STATUSES:
            raise RecordError(f"status {self.status!r}: must be one of {', '.join(LIMIT_STATUSES)}")
        if self.path not in LIMIT_PATHS:
            raise RecordError(f"path {self.path!r}: must be one of {', '.join(LIMIT_PATHS)}")
