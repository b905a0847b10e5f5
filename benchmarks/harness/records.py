"""Result records: one JSON object per run, appended to a JSON Lines file the moment
the run ends (flushed and fsynced), so killing the suite never loses a finished run."""

from __future__ import annotations

import json
import logging
import os
import shlex
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.harness.environment import environment
from loaders.errors import RecordError

if TYPE_CHECKING:
    from benchmarks.harness.runner import Outcome
    from benchmarks.harness.spec import RunSpec
    from loaders.dataset.layout import Split

log = logging.getLogger("loadbench")
SCHEMA = 2
# Versions this loadbench reads: 1 lacks the fields of repeats, PSS, the input-bound share
# and the ceilings (they read as None), 2 has them.
KNOWN_SCHEMAS = frozenset({1, 2})
STATUSES = ("ok", "error", "crashed", "killed", "timeout", "over_budget")


@dataclass(frozen=True, kw_only=True)
class Record:
    """What one measurement produced; field names are the documented record format."""

    schema: int = SCHEMA
    strategy: str
    mode: str
    status: str
    error: str | None = None
    dataset: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    samples_per_s: float | None = None
    first_batch_s: float | None = None
    step_p50_s: float | None = None
    step_p95_s: float | None = None
    steps: int | None = None
    baseline_rss_bytes: int | None = None
    peak_rss_bytes: int | None = None
    memray_peak_bytes: int | None = None
    memray_flamegraph: str | None = None
    gpu_peak_bytes: int | None = None
    dataset_graph_bytes: int | None = None
    graph_over_limit: bool | None = None
    train_graph_bytes: int | None = None
    rss_timeline: list[list[float]] = field(default_factory=list)
    env: dict = field(default_factory=dict)
    started_at: str = ""
    wall_s: float | None = None
    log: str | None = None
    command: str | None = None
    memory_profile: dict | None = None
    batch_ends_s: list[float] = field(default_factory=list)
    service: dict | None = None
    client_peak_rss_bytes: int | None = None
    worker_peak_rss_bytes: list[int] = field(default_factory=list)
    repeat: int = 0
    baseline_pss_bytes: int | None = None
    peak_pss_bytes: int | None = None
    tree_processes: int | None = None
    process_peaks: list[dict] = field(default_factory=list)
    input_wait_s: float | None = None
    compute_s: float | None = None
    input_bound_share: float | None = None
    compute_only_samples_per_s: float | None = None
    ceiling: str | None = None
    ceiling_fraction: float | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise RecordError(f"status {self.status!r}: must be one of {', '.join(STATUSES)}")

    def key(self) -> str:
        """Identity for --resume and compare: strategy, mode, dataset and options."""
        return run_key(self.strategy, self.mode, self.dataset, self.options)

    def identities(self) -> set[str]:
        """The identities this record answers for: its own, and for a train run, also
        the one without the model width, as a run that left the width to the machine
        asks for (the child records the width it picked)."""
        found = {self.key()}
        if "width" in self.options:
            options = {k: v for k, v in self.options.items() if k != "width"}
            found.add(run_key(self.strategy, self.mode, self.dataset, options))
        return found


def run_key(strategy: str, mode: str, dataset: dict, options: dict) -> str:
    """A run's identity; a None width (the machine's default) is left out of it."""
    identity = {k: dataset.get(k) for k in ("root", "split", "pairs", "image_size")}
    if options.get("width", 0) is None:
        options = {k: v for k, v in options.items() if k != "width"}
    return json.dumps([strategy, mode, identity, options], sort_keys=True)


def append(path: Path, record: Record) -> None:
    """Append one line and make it durable before returning."""
    append_line(path, asdict(record))


def append_line(path: Path, data: dict) -> None:
    """Append ``data`` as one JSON line, flushed and synced before returning."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(data, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read(path: Path) -> list[Record]:
    """Every record in a JSON Lines file; a bad line is an error naming file and line.

    A last line without its newline is what a kill mid-write leaves: it is skipped.
    """
    path = Path(path)
    if not path.is_file():
        return []
    return [make(Record, path, number, data, KNOWN_SCHEMAS) for number, data in lines(path)]


def lines(path: Path):
    """(line number, object) of each JSON line; a torn last line is skipped, any other
    line that is not a JSON object is an error naming the file and line."""
    text = Path(path).read_text(encoding="utf-8").split("\n")
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            if number == len(text):  # no newline after it: a write cut short (kill, full disk)
                log.warning(
                    "%s:%d: skipped a torn last line (a write cut short); the %d line(s) "
                    "before it are read",
                    path,
                    number,
                    number - 1,
                )
                continue
            raise RecordError(f"{path}:{number}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise RecordError(f"{path}:{number}: not a JSON object")
        yield number, data


def make(kind, path: Path, number: int, data: dict, schemas: int | frozenset[int]):
    """``kind(**data)`` for line ``number`` of ``path``, refusing a schema version it
    does not know (``schemas``: one version or a set)."""
    known = frozenset({schemas}) if isinstance(schemas, int) else schemas
    found = data.get("schema")
    if found not in known:
        newer = isinstance(found, int) and found > max(known)
        versions = " and ".join(str(v) for v in sorted(known))
        raise RecordError(
            f"{path}:{number}: schema {found}, this loadbench reads schema {versions}"
            + ("; the file comes from a newer loadbench: upgrade to read it" if newer else "")
        )
    try:
        return kind(**data)
    except TypeError as exc:
        raise RecordError(f"{path}:{number}: {exc}") from exc


def command_line() -> str:
    """The command that is running, as a user would type it again."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("loadbench", "__main__.py")):
        argv[0] = "loadbench"
    elif argv and Path(argv[0]).name in {"pytest", "py.test", "pytest.py"}:
        argv[0] = "pytest"
    return shlex.join(argv)


def dataset_fields(data: Split, synthetic: bool) -> dict:
    """The record's ``dataset``: where, which split, how many pairs, how big."""
    return {
        "root": "synthetic" if synthetic else str(data.root.resolve()),
        "split": data.split,
        "pairs": data.pairs,
        "image_size": list(data.image_size),
        "bytes_per_sample": data.bytes_per_sample,
    }


def options_fields(spec: RunSpec) -> dict:
    """The record's ``options``: pipeline options plus the run length (and width)."""
    fields = asdict(spec.options)
    fields.update(steps=spec.steps, warmup_steps=spec.warmup_steps)
    if spec.min_measured_s:
        fields["min_measured_s"] = spec.min_measured_s
    if spec.distributed:
        fields.update(service=spec.service, processing_mode=spec.processing_mode)
    if spec.mode == "train":
        fields["width"] = spec.width
    return fields


def from_outcome(
    spec: RunSpec, outcome: Outcome, dataset: dict, options: dict, extra: dict | None = None
) -> Record:
    """The record of one isolated run: the child's figures plus how it ended."""
    result = outcome.result
    metrics = {
        k: result.get(k)
        for k in (
            "samples_per_s",
            "first_batch_s",
            "step_p50_s",
            "step_p95_s",
            "steps",
            "baseline_rss_bytes",
            "peak_rss_bytes",
            "gpu_peak_bytes",
            "dataset_graph_bytes",
            "graph_over_limit",
            "train_graph_bytes",
            "memory_profile",
            "service",
            "client_peak_rss_bytes",
            "baseline_pss_bytes",
            "peak_pss_bytes",
            "tree_processes",
            "input_wait_s",
            "compute_s",
            "input_bound_share",
            "compute_only_samples_per_s",
            "ceiling",
        )
    }
    metrics["process_peaks"] = result.get("process_peaks") or []
    metrics["worker_peak_rss_bytes"] = result.get("worker_peak_rss_bytes") or []
    metrics["batch_ends_s"] = result.get("batch_ends_s") or []
    if spec.mode == "train" and result.get("width"):
        options = {**options, "width": result["width"]}
    return Record(
        strategy=spec.strategy,
        mode=spec.mode,
        status=outcome.status,
        error=outcome.error,
        dataset=dataset,
        options=options,
        **metrics,
        rss_timeline=result.get("rss_timeline") or [],
        env=environment(result.get("gpu_name"), result.get("tf_version")),
        started_at=outcome.started_at,
        wall_s=round(outcome.wall_s, 3),
        log=str(Path(spec.log_path).resolve()) if spec.log_path else None,
        command=command_line(),
        **(extra or {}),
    )
