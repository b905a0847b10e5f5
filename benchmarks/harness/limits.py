"""The 2 GiB protobuf limit, proved rather than predicted.

Each path on which TensorFlow serializes a dataset's graph runs in its own child (one
of them aborts the whole process), and its real outcome is recorded: the serialized
bytes, the exception's text or the signal. The classification is a pure function of
that outcome and a limit, so tests can prove it with a small artificial limit.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.harness import records
from benchmarks.harness.probes import PROTOBUF_LIMIT_BYTES
from loaders.errors import RecordError

KIND = "prove-limit"
SCHEMA = 1
# What each path is, in the words the report and the table use.
PATHS = {
    "serialize": "Dataset._as_serialized_graph(): what tf.data does to save, checkpoint, "
    "rewrite or ship a pipeline",
    "function": "the pipeline built inside a tf.function, one batch taken: arrays it "
    "captures become constants of the function's graph",
    "service": "the pipeline sent to a tf.data service (a dispatcher and a worker on "
    "localhost, in the same process) with distribute(), one batch taken",
}
STATUSES = ("passed", "over_limit", "failed", "crashed", "killed", "timeout", "over_budget")
# TensorFlow's own words when a graph passes 2 GiB; the log line that says why.
LIMIT_MESSAGES = ("exceeded maximum protobuf size", "larger than 2GB", "serializer_(msg_).ok()")
# absl's "E0000 00:00:1795651450.838690   31804 message_lite.cc:592] " before the message.
GLOG_PREFIX = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ \S+\] ")


@dataclass(frozen=True, kw_only=True)
class LimitSpec:
    """One strategy through one path, in a child of its own."""

    strategy: str
    path: str
    data_root: str
    split: str
    cache_root: str
    batch_size: int = 32
    log_path: str | None = None
    sample_interval_s: float = 0.05
    # The child leaves without tearing down what the path started: stopping an
    # in-process tf.data service worker that runs a Python generator deadlocks (stop()
    # holds the GIL while it waits for the worker's thread, which waits for the GIL).
    hard_exit: bool = True


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

    schema: int = SCHEMA
    kind: str = KIND
    strategy: str
    path: str
    status: str
    outcome: str
    graph_bytes: int | None = None
    limit_bytes: int = PROTOBUF_LIMIT_BYTES
    peak_rss_bytes: int | None = None
    dataset: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    started_at: str = ""
    wall_s: float | None = None
    log: str | None = None
    command: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise RecordError(f"status {self.status!r}: must be one of {', '.join(STATUSES)}")
        if self.path not in PATHS:
            raise RecordError(f"path {self.path!r}: must be one of {', '.join(PATHS)}")


def classify(
    status: str, error: str | None, result: dict, limit_bytes: int, log_line: str | None
) -> tuple[str, str]:
    """(status, outcome) of a path from how its child ended and what it reported.

    ``status``/``error`` are the runner's; ``result`` is what ``prove`` returned;
    ``log_line`` is TensorFlow's line about the limit from the child's log, if any.
    """
    if status == "error":
        return "failed", error or "raised an exception"
    if status != "ok":
        said = error or status
        if log_line:  # TensorFlow's check failure says more than the stack's last frame
            said = f"{said.split('; last output:')[0]}: TensorFlow logged {log_line!r}"
        return status, said
    graph = result.get("graph_bytes")
    if graph == 0:  # TensorFlow's way of saying "over 2 GiB" on this path: no exception
        said = f": TensorFlow logged {log_line!r}" if log_line else ""
        return "failed", f"returned an empty graph instead of raising{said}"
    if graph is not None and graph > limit_bytes:
        return "over_limit", (
            f"passed, but its {graph:,} B graph is over the {limit_bytes:,} B limit"
        )
    done = result.get("detail") or "passed"
    return "passed", done if graph is None else f"{done}; graph {graph:,} B"


def limit_line(log_path: str | None) -> str | None:
    """The last line of a child's log in which TensorFlow speaks of the 2 GB limit."""
    if not log_path:
        return None
    try:
        text = Path(log_path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    hits = [line.strip() for line in text.splitlines() if any(m in line for m in LIMIT_MESSAGES)]
    return GLOG_PREFIX.sub("", hits[-1])[:300] if hits else None


def append(path: Path, record: LimitRecord) -> None:
    """One line per record, flushed and synced before the next path starts."""
    records.append_line(path, asdict(record))


def read(path: Path) -> list[LimitRecord]:
    """Every prove-limit record in a JSON Lines file; a bad line names file and line."""
    out = []
    for number, data in records.lines(path):
        if data.get("kind") != KIND:
            raise RecordError(f"{path}:{number}: not a prove-limit record")
        out.append(records.make(LimitRecord, path, number, data, SCHEMA))
    return out


def is_limit_file(path: Path) -> bool:
    """Whether a results file holds prove-limit records (its first line says so)."""
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
        return json.loads(first).get("kind") == KIND
    except (OSError, ValueError, AttributeError, UnicodeDecodeError):
        return False


# --- the child's side -----------------------------------------------------------------


def prove(spec: LimitSpec) -> dict:
    """Build the strategy's pipeline and take it through ``spec.path`` (in the child)."""
    import tensorflow as tf

    from benchmarks.harness.probes import TreeMemorySampler
    from loaders import pipeline, registry
    from loaders.dataset.layout import describe
    from loaders.options import PipelineOptions

    data = describe(Path(spec.data_root), spec.split)
    strategy = registry.create(spec.strategy)
    cache_root = Path(spec.cache_root)
    strategy.prepare(data, cache_root)
    options = PipelineOptions(batch_size=spec.batch_size)

    def build() -> tf.data.Dataset:
        return pipeline.build(strategy, data, options, cache_root)

    with TreeMemorySampler(spec.sample_interval_s) as sampler:
        result = _PATHS[spec.path](build)
    return {**result, "peak_rss_bytes": sampler.peak_bytes(), "tf_version": tf.__version__}


def _serialize(build) -> dict:
    # Past 2 GiB TensorFlow 2.21 logs "GraphDef exceeded maximum protobuf size of 2GB"
    # and returns an empty string: 0 bytes here is that failure, not a tiny graph.
    serialized = build()._as_serialized_graph().numpy()
    return {"graph_bytes": len(serialized), "detail": "serialized"}


def _function(build) -> dict:
    import tensorflow as tf

    @tf.function(autograph=False)
    def first_batch():
        return next(iter(build()))

    concrete = first_batch.get_concrete_function()
    graph_bytes = concrete.graph.as_graph_def().ByteSize()
    (time1, _), _ = concrete()
    return {"graph_bytes": graph_bytes, "detail": f"ran; first batch of {time1.shape[0]}"}


def _service(build) -> dict:
    import tensorflow as tf

    service = tf.data.experimental.service
    dispatcher = service.DispatchServer(service.DispatcherConfig(port=0))
    address = dispatcher.target.split("://", 1)[1]
    worker = service.WorkerServer(service.WorkerConfig(dispatcher_address=address, port=0))
    # Kept until the process ends: stop(), which their __del__ calls, deadlocks with a
    # Python generator in the pipeline (see LimitSpec.hard_exit).
    _SERVERS.extend([dispatcher, worker])
    ds = build()
    distributed = ds.apply(service.distribute("parallel_epochs", dispatcher.target))
    (time1, _), _ = next(iter(distributed))
    # What the dispatcher was sent is this graph; it went through, so it is under 2 GiB
    # and cheap to size again (for a smaller limit given with --limit).
    graph_bytes = len(ds._as_serialized_graph().numpy())
    return {"graph_bytes": graph_bytes, "detail": f"distributed; first batch of {time1.shape[0]}"}


_SERVERS: list = []
_PATHS = {"serialize": _serialize, "function": _function, "service": _service}
