"""The measured side: runs in a fresh spawned child, one per measurement.

TensorFlow is not fork-safe and a run may abort or exhaust memory, so each run gets a
clean interpreter; the parent only reads the JSON this writes.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from benchmarks.harness import data_service as service
from benchmarks.harness.procs import (
    die_with_parent,
    lead_own_group,
    rss_bytes,
    tree_pss_bytes,
    tree_rss_bytes,
)
from benchmarks.harness.spec import RunSpec

ERROR_LIMIT = 4000  # TensorFlow's errors can carry whole arrays; the log has the rest
# Training steps timed on one held batch after a train run (compute_only_samples_per_s).
COMPUTE_ONLY_STEPS = 2
# A run with a time floor (RunSpec.min_measured_s) takes at most this many times its steps.
MAX_EXTENSION = 100


def child_main(spec: RunSpec, result_path: str, work: Callable[..., dict] | None = None) -> None:
    """Entry point of the child: ``work(spec)`` (default: ``measure``) under the harness's
    set-up; writes {"ok": bool, ...} to ``result_path``. ``spec`` needs a ``log_path``."""
    die_with_parent()
    lead_own_group()
    if spec.log_path:
        _redirect_output(spec.log_path)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    # A spawned interpreter would spawn its own subprocesses too, each importing
    # TensorFlow again (seconds each, and their own copy of its heap). The strategy's
    # worker processes (a PyDataset's with use_multiprocessing) start as they would in
    # the user's own training script: with this platform's default, fork on Linux up
    # to Python 3.13.
    multiprocessing.set_start_method(None, force=True)
    try:
        result = {"ok": True, **(work or measure)(spec)}
    except Exception as exc:  # a failing measurement is a result, never a lost run
        traceback.print_exc()  # to the run's log
        error = f"{type(exc).__name__}: {exc}"
        _write(result_path, {"ok": False, "error": error[:ERROR_LIMIT]})
        sys.exit(1)
    _write(result_path, result)
    if not getattr(spec, "hard_exit", False):
        atexit._run_exitfuncs()  # Python's own clean-up: temporary files, worker pools
    sys.stdout.flush()
    sys.stderr.flush()
    # The result is on disk: leave without TensorFlow's teardown (about 1 s of every
    # run's wall time, and a spec's ``hard_exit`` says it can hang).
    os._exit(0)


def _redirect_output(log_path: str) -> None:
    """Send file descriptors 1 and 2 (Python's and TensorFlow's C++ logging) to the log."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)


def _write(path: str, data: dict) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w") as handle:
        json.dump(data, handle)
    os.replace(temporary, path)


def measure(spec: RunSpec) -> dict:
    """Prepare, take the baseline, run warm-up + steps under the probes, then size graphs."""
    # Before TensorFlow starts threads: a new user namespace needs a single thread.
    network = service.isolate_network() if spec.starts_service else None
    import tensorflow as tf

    from benchmarks.harness import probes
    from loaders import pipeline, registry
    from loaders.strategies.ceilings import applies_to
    from loaders.dataset.layout import describe

    data = describe(Path(spec.data_root), spec.split)
    strategy = registry.create(spec.strategy)
    strategy.prepare(data, Path(spec.cache_root))  # one-time conversion: not measured
    ceiling = getattr(strategy, "ceiling", False)  # one of the machine's ceilings
    step = None
    width = None
    if spec.mode == "train":
        from benchmarks.workload.train_step import TrainStep

        width = spec.width or (16 if tf.config.list_physical_devices("GPU") else 4)
        step = TrainStep(data.image_size, width=width)
        step.warm_up(spec.options.batch_size)  # tracing is not the loader's memory
    served = None
    if spec.starts_service:
        logs = Path(spec.log_path).with_suffix("") if spec.log_path else None
        served = service.start(int(spec.service), logs)
    target = served.target if served else spec.service
    has_gpu = probes.gpu_reset()
    idle = {pid: rss_bytes(pid) for pid in (served.worker_pids if served else [])}
    own_baseline = rss_bytes(os.getpid())
    baseline = tree_rss_bytes(os.getpid())
    baseline_pss = tree_pss_bytes(os.getpid())
    step_times: list[float] = []
    waits: list[float] = []  # time for next() to hand over a batch
    computes: list[float] = []  # time of the training step on it
    samples = 0
    tracker = _memray(spec)
    with tracker, probes.TreeMemorySampler(spec.sample_interval_s) as sampler:
        start = time.perf_counter()
        if ceiling:  # a ceiling makes its own uint8 batches
            ds = strategy.batches(data, spec.options)
        else:
            ds = pipeline.build(strategy, data, spec.options, Path(spec.cache_root))
        local_ds = ds
        if spec.distributed:
            ds = ds.apply(tf.data.experimental.service.distribute(spec.processing_mode, target))
        batches = iter(ds.repeat())
        first_batch_s = None
        batch_ends: list[float] = []
        index = 0
        measured_s = 0.0  # the steady-state steps' time so far: sum(step_times)
        while _more(spec, index, measured_s):
            began = time.perf_counter()
            (time1, time2), label = next(batches)
            arrived = time.perf_counter()
            if step is not None:
                float(step(time1, time2, label))  # .numpy() waits for the step to finish
            ended = time.perf_counter()
            batch_ends.append(round(ended - start, 4))
            if first_batch_s is None:
                first_batch_s = batch_ends[0]
            if index >= spec.warmup_steps:
                step_times.append(ended - began)
                measured_s += ended - began
                waits.append(arrived - began)
                computes.append(ended - arrived)
                samples += int(label.shape[0])
            index += 1
    peak = sampler.peak_bytes()
    peak_pss = sampler.peak_pss_bytes()
    graph_bytes, over_limit = (
        (None, None) if ceiling else probes.dataset_graph_size(local_ds, data.total_bytes)
    )
    worker_peaks = [max(0, sampler.process_peaks.get(pid, 0) - idle[pid]) for pid in sorted(idle)]
    if served:
        served.stop()
    compute_only = _compute_only(step, (time1, time2, label)) if step is not None else None
    steady_s = sum(step_times)
    ordered = sorted(step_times)
    # Rounded before the share is taken, so the record's share is exactly its own fields'.
    input_wait_s, compute_s = round(sum(waits), 6), round(sum(computes), 6)
    return {
        "tf_version": tf.__version__,
        "width": width,
        "gpu_name": probes.gpu_name() if has_gpu else None,
        "samples_per_s": samples / steady_s if steady_s > 0 else None,
        "first_batch_s": first_batch_s,
        "step_p50_s": _percentile(ordered, 50),
        "step_p95_s": _percentile(ordered, 95),
        "steps": len(step_times),
        "step_times_s": [round(t, 6) for t in step_times],
        "baseline_rss_bytes": baseline,
        "peak_rss_bytes": max(0, peak - baseline),
        "baseline_pss_bytes": baseline_pss,
        "peak_pss_bytes": (
            max(0, peak_pss - baseline_pss) if None not in (peak_pss, baseline_pss) else None
        ),
        "tree_processes": sampler.most_processes,
        "process_peaks": sampler.members(),
        "gpu_peak_bytes": probes.gpu_peak_bytes() if has_gpu else None,
        "dataset_graph_bytes": graph_bytes,
        "graph_over_limit": over_limit,
        "train_graph_bytes": step.graph_def_bytes() if step is not None else None,
        "input_wait_s": input_wait_s if step is not None else None,
        "compute_s": compute_s if step is not None else None,
        "input_bound_share": (
            input_wait_s / (input_wait_s + compute_s)
            if step is not None and input_wait_s + compute_s > 0
            else None
        ),
        "compute_only_samples_per_s": compute_only,
        "ceiling": None if ceiling else applies_to(strategy),
        "rss_timeline": sampler.timeline(baseline),
        "batch_ends_s": batch_ends,
        "memray_peak_bytes": _memray_peak(spec),
        "memory_profile": _memory_profile(strategy, data, spec),
        "service": {"target": target, "network": network} if spec.distributed else None,
        "client_peak_rss_bytes": (
            max(0, sampler.process_peaks.get(os.getpid(), 0) - own_baseline)
            if spec.distributed
            else None
        ),
        "worker_peak_rss_bytes": worker_peaks,
    }


def _more(spec: RunSpec, index: int, measured_s: float) -> bool:
    """Whether the loop takes another batch: the warm-up and ``steps``, then more until
    the measured batches span ``min_measured_s`` (at most ``MAX_EXTENSION`` times the
    steps): a fast pipeline's 20 batches take a few hundredths of a second, too short a
    span to time on a shared machine."""
    if index < spec.warmup_steps + spec.steps:
        return True
    longest = spec.warmup_steps + spec.steps * MAX_EXTENSION
    return measured_s < spec.min_measured_s and index < longest


def _compute_only(step, batch, repeats: int = COMPUTE_ONLY_STEPS) -> float:
    """Samples per second of the training step alone, on one batch held in memory: the
    rate a loader would have to keep up with for the step never to wait."""
    began = time.perf_counter()
    for _ in range(repeats):
        float(step(*batch))
    return repeats * int(batch[2].shape[0]) / (time.perf_counter() - began)


def _memory_profile(strategy, data, spec: RunSpec) -> dict | None:
    """What the strategy declares it holds (``loaders.memory``), for the memory model."""
    declare = getattr(strategy, "memory_profile", None)
    if declare is None:
        return None
    return asdict(declare(data, spec.options))


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    position = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[position]


def _memray(spec: RunSpec):
    """A memray Tracker around the measured loop when asked (it slows the pipeline)."""
    if spec.memray_path is None:
        return contextlib.nullcontext()
    import memray

    Path(spec.memray_path).unlink(missing_ok=True)
    return memray.Tracker(spec.memray_path, native_traces=False, follow_fork=True)


def _memray_peak(spec: RunSpec) -> int | None:
    if spec.memray_path is None:
        return None
    import memray

    return int(memray.FileReader(spec.memray_path).metadata.peak_memory)
