"""The 2 GiB protobuf limit, proved rather than predicted.

Each path on which TensorFlow serializes a dataset's graph runs in its own child (one
of them aborts the whole process), and its real outcome is recorded: the serialized
bytes, the exception's text or the signal. The classification is a pure function of
that outcome and a limit, so tests can prove it with a small artificial limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadbench.harness.parent.builder import command_line, dataset_fields, stem
from loadbench.harness.parent.environment import environment
from loadbench.harness.parent.runner import Outcome
from loadbench.harness.parent.session import Job
from loadbench.loaders.dataset.layout import Split
from loadbench.reports.records import LIMIT_PATHS, LimitMeasurement, LimitRecord

PATHS = tuple(LIMIT_PATHS)
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


def classify(
    status: str,
    error: str | None,
    result: LimitMeasurement | None,
    limit_bytes: int,
    log_line: str | None,
) -> tuple[str, str]:
    """(status, outcome) of a path from how its child ended and what it reported.

    ``status``/``error`` are the runner's; ``result`` is what ``prove`` measured (None
    when the child ended without a report); ``log_line`` is TensorFlow's line about the
    limit from the child's log, if any.
    """
    if status == "error":
        return "failed", error or "raised an exception"
    if status != "ok":
        said = error or status
        if log_line:  # TensorFlow's check failure says more than the stack's last frame
            said = f"{said.split('; last output:')[0]}: TensorFlow logged {log_line!r}"
        return status, said
    graph = result.graph_bytes if result else None
    if graph == 0:  # TensorFlow's way of saying "over 2 GiB" on this path: no exception
        said = f": TensorFlow logged {log_line!r}" if log_line else ""
        return "failed", f"returned an empty graph instead of raising{said}"
    if graph is not None and graph > limit_bytes:
        return "over_limit", (
            f"passed, but its {graph:,} B graph is over the {limit_bytes:,} B limit"
        )
    done = (result.detail if result else "") or "passed"
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


def plan_limits(
    data: Split,
    strategies: list[str],
    paths: list[str],
    limit_bytes: int,
    *,
    cache_root: Path,
    out: Path,
    batch_size: int = 32,
) -> list[Job]:
    """Each strategy through each path, a job (and a child) each."""
    return [
        _limit_job(data, name, path, limit_bytes, cache_root, out, batch_size)
        for name in strategies
        for path in paths
    ]


def _limit_job(
    data: Split, name: str, path: str, limit: int, cache_root: Path, out: Path, batch_size: int
) -> Job:
    log = out / "logs" / f"{stem(path, name)}.log"
    spec = LimitSpec(
        strategy=name,
        path=path,
        data_root=str(data.root),
        split=data.split,
        cache_root=str(cache_root),
        batch_size=batch_size,
        log_path=str(log),
    )
    dataset = dataset_fields(data, synthetic=True)

    def to_record(outcome: Outcome) -> LimitRecord:
        report = outcome.result
        measured = report.measurement if report is not None else None
        status, said = classify(
            outcome.status, outcome.error, measured, limit, limit_line(str(log))
        )
        return LimitRecord(
            strategy=name,
            path=path,
            status=status,
            outcome=said,
            graph_bytes=measured.graph_bytes if measured else None,
            limit_bytes=limit,
            # The child's own sampler; a child that died left only the parent's view.
            peak_rss_bytes=(measured.peak_rss_bytes if measured else None)
            or outcome.watched_peak_bytes,
            dataset=dataset,
            env=environment(tf_version=report.tf_version if report else None),
            started_at=outcome.started_at,
            wall_s=round(outcome.wall_s, 3),
            log=str(log),
            command=command_line(),
        )

    return Job(spec=spec, label=f" {name:<16} {path:<10}", work=prove, to_record=to_record)


# --- the child's side -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LimitReport:
    """What ``prove`` hands back to the parent."""

    measurement: LimitMeasurement
    tf_version: str


def prove(spec: LimitSpec) -> LimitReport:
    """Build the strategy's pipeline and take it through ``spec.path`` (in the child)."""
    import tensorflow as tf

    from loadbench.harness.child.sampler import TreeMemorySampler
    from loadbench.loaders import pipeline, registry
    from loadbench.loaders.dataset.layout import describe
    from loadbench.loaders.options import PipelineOptions

    data = describe(Path(spec.data_root), spec.split)
    strategy = registry.create(spec.strategy)
    cache_root = Path(spec.cache_root)
    strategy.prepare(data, cache_root)
    options = PipelineOptions(batch_size=spec.batch_size)

    def build() -> tf.data.Dataset:
        return pipeline.build(strategy, data, options, cache_root)

    with TreeMemorySampler(spec.sample_interval_s) as sampler:
        result = _PATHS[spec.path](build)
    measured = LimitMeasurement(**result, peak_rss_bytes=sampler.peak_bytes())
    return LimitReport(measurement=measured, tf_version=tf.__version__)


def _serialize(build: Any) -> dict[str, Any]:
    # Past 2 GiB TensorFlow 2.21 logs "GraphDef exceeded maximum protobuf size of 2GB"
    # and returns an empty string: 0 bytes here is that failure, not a tiny graph.
    serialized = build()._as_serialized_graph().numpy()
    return {"graph_bytes": len(serialized), "detail": "serialized"}


def _function(build: Any) -> dict[str, Any]:
    import tensorflow as tf

    @tf.function(autograph=False)
    def first_batch():
        return next(iter(build()))

    concrete = first_batch.get_concrete_function()
    graph_bytes = concrete.graph.as_graph_def().ByteSize()
    (time1, _), _ = concrete()
    return {"graph_bytes": graph_bytes, "detail": f"ran; first batch of {time1.shape[0]}"}


def _service(build: Any) -> dict[str, Any]:
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


_SERVERS: list[Any] = []
_PATHS = {"serialize": _serialize, "function": _function, "service": _service}
