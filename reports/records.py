"""The record: what one measurement produced, the type every figure travels in from the
measuring child to the report, and the bottom of loadbench's layers.

The harness writes records (``loadbench.reports.jsonl``); everything in ``reports/`` reads them. A
record says all a reader needs to read it alone: its role (a strategy, or one of the
machine's ceilings), which ceiling a strategy is read against, the model width it asked
for (in ``options``) and the one it ran with (``width``). Figures derived from several
records, such as a strategy's fraction of its ceiling, are the reader's to compute.

Sections: the figures come in typed sections (``Throughput``, ``Memory``, ``Graph``,
``Training``, ``Service``, ``Pipeline``), each in a record only where it was measured;
reading and writing them, and the schema's history, are ``loadbench.reports.record_json``'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

from loadbench.loaders.errors import RecordError

SCHEMA = 9
KNOWN_SCHEMAS = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9})
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
class Section:
    """A group of figures of one kind, present in a record only where it was measured.

    ``unknown``: fields a newer loadbench wrote into this section that this one does not
    know, kept as they were read and written back (a field added to a section needs no
    new schema). Bytes are above the baseline taken after imports and set-up unless
    named ``baseline_``; times are seconds."""

    unknown: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        """Whether anything of it was measured."""
        return any(
            getattr(self, f.name) not in (None, [], {}) for f in fields(self) if f.name != "unknown"
        ) or bool(self.unknown)


@dataclass(frozen=True, kw_only=True)
class Throughput(Section):
    """How fast the loop went: every run's."""

    samples_per_s: float | None = None
    first_batch_s: float | None = None
    step_p50_s: float | None = None
    step_p95_s: float | None = None
    steps: int | None = None
    batch_bytes: int | None = None  # one (the largest) batch as it left the pipeline
    batch_ends_s: list[float] = field(default_factory=list)
    cpu_s_per_1000_samples: float | None = None  # the tree's CPU time over the measured batches
    # A ceiling's outside instrument: the same work without tf.data, in the same child
    # (ceiling_copy: numpy's copy() of its batches).
    reference_samples_per_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class Memory(Section):
    """The process tree's memory: every run's; the timeline is (seconds, bytes above
    the baseline)."""

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
    rss_timeline: list[list[float]] = field(default_factory=list)
    memray_peak_bytes: int | None = None
    # The tree's peak RSS over the accelerators-fed search too (training): the pipeline
    # driven at several accelerators' demand; peak_rss_bytes is the loop's, at one's.
    fed_search_peak_rss_bytes: int | None = None
    # Where the run waited for its memory to settle (harness.child.settle): whether it did
    # before the cap, the measured batches' span by then, and the tree's peak RSS then.
    settled: bool | None = None
    settle_s: float | None = None
    settled_peak_rss_bytes: int | None = None
    # What the strategy declares it holds (loadbench.loaders.memory), for the memory model.
    memory_profile: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Graph(Section):
    """The serialized graphs: the dataset's (not a ceiling's), the training step's."""

    dataset_graph_bytes: int | None = None
    graph_over_limit: bool | None = None
    # The tree's peak above baseline while the dataset graph was serialized (after the
    # loop): what checkpointing, snapshotting or the tf.data service would cost.
    graph_serialize_peak_bytes: int | None = None
    train_graph_bytes: int | None = None


@dataclass(frozen=True, kw_only=True)
class Training(Section):
    """A training run's: the step, what it stood for, and would the pipeline keep it busy."""

    width: int | None = None  # the model width it ran with
    input_wait_s: float | None = None
    compute_s: float | None = None
    input_bound_share: float | None = None
    compute_only_samples_per_s: float | None = None
    accelerator: str | None = None  # "cpu", "gpu", an emulated one's name, "step-time"
    accelerator_source: str | None = None  # "real", "measured", "derived", "given"
    accelerator_step_s: float | None = None  # per batch: emulated, or the real step's median
    accelerator_busy_share: float | None = None  # AU: step time / wall time of the steps
    settled_busy_share: float | None = None  # AU over the settle window: once memory holds
    accelerators_fed: int | None = None  # most such accelerators kept at AU >= 90%
    accelerators_fed_capped: bool | None = None  # the search's limit: "at least"
    fed_trials: list[list[float]] = field(default_factory=list)  # [k, AU, batches, s, +-AU]
    supply_samples_per_s: float | None = None  # handed over when nothing waits on it
    handover_s: float | None = None  # the one-accelerator loop's mean wait for a batch
    fed_predicted: int | None = None  # the count those two predict (a first repeat starts there)


@dataclass(frozen=True, kw_only=True)
class Service(Section):
    """A run through a tf.data service of its own: where, and its nodes' memory."""

    target: str | None = None
    network: str | None = None  # loopback only (a namespace of its own), or the host's
    client_peak_rss_bytes: int | None = None
    worker_peak_rss_bytes: list[int] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Pipeline(Section):
    """What only some pipelines have: a user's own pipeline's element structure as
    TensorFlow states it; a strategy that pairs files its own way (the article's
    zip(sorted)): how many triples, how many mispaired, the first of them, the files it
    dropped."""

    element_spec: str | None = None
    pairing: dict[str, Any] | None = None


SECTIONS: dict[str, type[Section]] = {
    "throughput": Throughput,
    "memory": Memory,
    "graph": Graph,
    "training": Training,
    "service": Service,
    "pipeline": Pipeline,
}
# Every figure's name, to the section that holds it (a figure's name is unique).
FIELD_SECTION: dict[str, str] = {
    f.name: name for name, kind in SECTIONS.items() for f in fields(kind) if f.name != "unknown"
}


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """Every figure the measuring child takes of one run, by section; a record is one of
    these plus how the run was asked for and how it ended. A new metric is a field of its
    section, set where it is measured (``loadbench.harness.child.probe``) and declared
    where it is shown (``loadbench.reports.metrics``)."""

    role: str = "strategy"
    ceiling: str | None = None  # for a strategy: the ceiling it is read against
    throughput: Throughput = field(default_factory=Throughput)
    memory: Memory = field(default_factory=Memory)
    graph: Graph = field(default_factory=Graph)
    training: Training = field(default_factory=Training)
    service: Service = field(default_factory=Service)
    pipeline: Pipeline = field(default_factory=Pipeline)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise RecordError(f"role {self.role!r}: must be one of {', '.join(ROLES)}")

    def figure(self, name: str) -> Any:
        """A figure by its name, from whichever section holds it (None where unmeasured)."""
        if name in FIELD_SECTION:
            return getattr(getattr(self, FIELD_SECTION[name]), name)
        return getattr(self, name)

    def updated(self: M, **figures: Any) -> M:
        """A copy with ``figures`` (by name, whatever their sections) replaced."""
        own, by_section = grouped(figures)
        changed = {s: replace(getattr(self, s), **v) for s, v in by_section.items()}
        return replace(self, **changed, **own)

    @classmethod
    def of_figures(cls: type[M], **figures: Any) -> M:
        """One made from figures by name, each put in its section."""
        own, by_section = grouped(figures)
        sections: dict[str, Any] = {s: SECTIONS[s](**v) for s, v in by_section.items()}
        return cls(**own, **sections)


MEASURED_FIELDS: tuple[str, ...] = ("role", "ceiling", *SECTIONS)
M = TypeVar("M", bound=Measurement)


def grouped(figures: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Figures by name, apart: those no section holds, and each section's by its name."""
    own: dict[str, Any] = {}
    by_section: dict[str, dict[str, Any]] = {}
    for name, value in figures.items():
        if name in FIELD_SECTION:
            by_section.setdefault(FIELD_SECTION[name], {})[name] = value
        else:
            own[name] = value
    return own, by_section


@dataclass(frozen=True, kw_only=True)
class Record(Measurement):
    """One run: how it was asked for (strategy, mode, dataset, options), how it ended
    (status, error), where (env) and what it measured (the Measurement's sections).
    ``unknown``: top-level fields a newer loadbench wrote that this one does not know,
    kept as read."""

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
    unknown: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.status not in STATUSES:
            raise RecordError(f"status {self.status!r}: must be one of {', '.join(STATUSES)}")

    @classmethod
    def of(cls, measured: Measurement, **run: Any) -> Record:
        """The record of a run: ``measured``'s sections, and the run's own fields."""
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
