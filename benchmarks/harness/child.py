"""The measured side: runs in a fresh child, one per measurement.

TensorFlow is not fork-safe once it has run anything and a run may abort or exhaust
memory, so each run gets a fresh process, forked from a server that has imported
TensorFlow but never run it, or spawned (``runner``); the parent reads back the one
object the child's work returned.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from loadbench.harness import data_service, feeding
from loadbench.harness.procs import (
    die_with_parent,
    lead_own_group,
    rss_bytes,
    tree_pss_bytes,
    tree_rss_bytes,
)
from loadbench.harness.spec import Probing, RunSpec
from loadbench.loaders.errors import OptionsError
from loadbench.loaders.files import atomic_write
from loadbench.reports.records import DEFAULT_WIDTH, Measurement
from loadbench.reports.stats import percentile

ERROR_LIMIT = 4000  # TensorFlow's errors can carry whole arrays; the log has the rest
# Training steps timed on one held batch after a train run (compute_only_samples_per_s).
COMPUTE_ONLY_STEPS = 2
# Seconds the child's exit gives Python's clean-up (atexit) before leaving without it.
CLEAN_UP_S = 5.0
# A run with a time floor (RunSpec.min_measured_s) takes at most this many times its steps.
MAX_EXTENSION = 100
# The measured pipeline, left running when ``measure`` returns: tearing it down (its
# threads stopped, in-flight work waited for) took 1.2-2.1 s of a run after everything
# was measured, and the child leaves with ``os._exit`` (no TensorFlow teardown) anyway.
_LEFT_RUNNING: list[object] = []


@dataclass(frozen=True, kw_only=True)
class ChildReport:
    """What ``measure`` hands back: the run's measurement, and what the parent needs
    besides it (the versions for the record's env, the steps for pytest-benchmark)."""

    measurement: Measurement
    tf_version: str
    gpu_name: str | None = None
    step_times_s: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Setting:
    """The parent's environment variables and ``sys.path`` at the run: a forked child
    takes them on first, so it sees what a spawned one would (the fork server's are
    those of the moment it started)."""

    environ: dict[str, str]
    path: list[str]
    forked: bool = False  # from the fork server: map its resident file pages first


@dataclass(frozen=True)
class ChildFailure:
    """The exception a child's work raised, as one line (the log has the traceback)."""

    error: str


def child_main(
    spec: Any,
    result_path: str,
    work: Callable[[Any], object] | None = None,
    setting: Setting | None = None,
) -> None:
    """Entry point of the child: ``work(spec)`` (default: ``measure``) under the harness's
    set-up; pickles what it returned, or a ChildFailure, to ``result_path``. ``spec`` is
    any frozen spec with a ``log_path``."""
    if setting is not None:
        os.environ.clear()
        os.environ.update(setting.environ)
        sys.path[:] = setting.path
    if setting is not None and setting.forked:
        from loadbench.harness import pages, preload

        # Memory as a spawned child's, before any baseline (loadbench.harness.pages).
        pages.map_pages(preload.RESIDENT)
        pages.unshare_anonymous()
    die_with_parent()
    lead_own_group()
    if spec.log_path:
        _redirect_output(spec.log_path)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    # A spawned interpreter would spawn its own subprocesses too, each importing
    # TensorFlow again; the strategy's worker processes start as in a user's own script.
    multiprocessing.set_start_method(None, force=True)
    try:
        result = (work or measure)(spec)
    except Exception as exc:  # a failing measurement is a result, never a lost run
        traceback.print_exc()  # to the run's log
        error = f"{type(exc).__name__}: {exc}"
        atomic_write(result_path, pickle.dumps(ChildFailure(error[:ERROR_LIMIT])))
        _leave(spec, 1)
    atomic_write(result_path, pickle.dumps(result))
    _leave(spec, 0)


def _leave(spec: Any, code: int) -> None:
    """Exit once the result is on disk: Python's own clean-up (temporary files, worker
    pools) for at most ``CLEAN_UP_S``, then no TensorFlow teardown (about 1 s of every
    run's wall time; a spec's ``hard_exit`` says even the clean-up can hang). A
    PyDataset's worker pool hung in its terminate in 1 of 15 training runs of
    ``sequence``, its result written: the run then timed out."""
    if not getattr(spec, "hard_exit", False):
        cleaning = threading.Thread(target=atexit._run_exitfuncs, daemon=True)
        cleaning.start()
        cleaning.join(CLEAN_UP_S)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # what is still running is the parent's to kill, with the tree


def _redirect_output(log_path: str) -> None:
    """Send file descriptors 1 and 2 (Python's and TensorFlow's C++ logging) to the log."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)


@dataclass
class _Loop:
    """What the measured loop saw, batch by batch."""

    step_times: list[float] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # time for next() to hand over a batch
    computes: list[float] = field(default_factory=list)  # time of the training step on it
    batch_ends: list[float] = field(default_factory=list)
    samples: int = 0
    batch_bytes: int = 0  # the (first, largest) batch's bytes as the pipeline handed it over
    last_args: tuple[Any, ...] = ()  # the step's arguments from the last batch


@dataclass(frozen=True, kw_only=True)
class Source:
    """What a run measures, however it was made (a strategy on a split, a user's own
    pipeline): the dataset to build under the probes, how an element becomes the step's
    arguments and its sample count, and how a TensorFlow error is diagnosed."""

    build: Callable[[], Any]  # the dataset, built after the baseline (its cost counts)
    unpack: Callable[[Any], tuple[tuple[Any, ...], int]]
    estimate_bytes: int = 0  # the graph's size where it is past the limit (empty)
    diagnose: Callable[[Exception], Exception] = field(default=lambda error: error)
    sized: bool = True  # serialize and size the dataset graph (a ceiling's is not)


@dataclass(frozen=True, kw_only=True)
class Measured:
    """The probes' figures of one run, and what the caller's own figures need besides:
    the child's own baseline, the last batch's step arguments, the steps' times and the
    dataset as the source built it."""

    measurement: Measurement
    own_baseline: int
    last_args: tuple[Any, ...]
    step_times_s: list[float]
    dataset: Any


def measure(spec: RunSpec) -> ChildReport:
    """Prepare, take the baseline, run warm-up + steps under the probes, then size graphs."""
    # Before TensorFlow starts threads: a new user namespace needs a single thread.
    network = data_service.isolate_network() if spec.starts_service else None
    import tensorflow as tf

    from loadbench.harness.sampler import TreeMemorySampler
    from loadbench.loaders import pipeline, registry
    from loadbench.loaders.dataset.layout import describe
    from loadbench.loaders.strategies.ceilings import applies_to
    from loadbench.workload import device

    data = spec.described or describe(
        Path(spec.data_root), spec.split, skip_unpaired=spec.skip_unpaired
    )
    strategy = registry.create(spec.strategy)
    strategy.prepare(data, Path(spec.cache_root))  # one-time conversion: not measured
    ceiling = bool(getattr(strategy, "ceiling", False))  # one of the machine's ceilings
    ran = step = width = None
    if spec.mode == "train":
        ran, step, width = _training_step(spec, data.image_size)

    def build() -> Any:
        if ceiling:  # a ceiling makes its own uint8 batches
            return strategy.batches(data, spec.options)  # type: ignore[union-attr]
        return pipeline.build(strategy, data, spec.options, Path(spec.cache_root))

    source = Source(
        build=build,
        unpack=_pair_batch,
        estimate_bytes=data.total_bytes,
        diagnose=lambda error: _diagnosed(strategy, data, error),
        sized=not ceiling,
    )
    blocking = None if step is None else lambda *args: float(step(*args))  # waits for it
    measured = probe(spec, source, ran, blocking, network)
    found = measured.measurement
    reference = getattr(strategy, "reference_samples_per_s", None)
    reference_rate, own_peak = None, found.own_peak_rss_bytes or 0
    if reference is not None:  # a ceiling's numpy copy: the process's, not the loop's
        with TreeMemorySampler(spec.sample_interval_s) as referencing:
            reference_rate = reference()
        own_peak = max(own_peak, referencing.root_peak_bytes() - measured.own_baseline)
    pairing = getattr(strategy, "pairing", None)
    real = ran is not None and not ran.emulated
    measurement = replace(
        found,
        role="ceiling" if ceiling else "strategy",
        ceiling=None if ceiling else applies_to(strategy),
        width=width,
        own_peak_rss_bytes=own_peak,
        train_graph_bytes=step.graph_def_bytes() if real and step is not None else None,
        compute_only_samples_per_s=_compute_only(step, measured.last_args) if real else None,
        memory_profile=_memory_profile(strategy, data, spec),
        reference_samples_per_s=reference_rate,
        pairing=pairing(data) if pairing else None,
    )
    _LEFT_RUNNING.append(strategy)
    return ChildReport(
        measurement=measurement,
        tf_version=tf.__version__,
        gpu_name=device.gpu_name() if device.has_gpu() else None,
        step_times_s=[round(t, 6) for t in measured.step_times_s],
    )


def probe(
    spec: Probing, source: Source, ran: Any, step: Any, network: str | None = None
) -> Measured:
    """Take the baseline, build ``source``'s dataset and run warm-up + steps (and the
    accelerators-fed search) under the memory sampler, then serialize its graph under a
    sampler of its own. ``step`` (None: iterate) takes the unpacked element's arguments
    and returns once it has run; ``ran`` is the accelerator it resolved to; ``network``
    what ``data_service.isolate_network`` did, before TensorFlow started a thread."""
    import tensorflow as tf

    from loadbench.harness import probes
    from loadbench.harness.sampler import TreeMemorySampler
    from loadbench.workload import device

    served = None
    if spec.starts_service:
        logs = Path(spec.log_path).with_suffix("") if spec.log_path else None
        served = data_service.start(int(spec.service or 0), logs)
    target = served.target if served else spec.service
    has_gpu = device.reset_gpu_peak()
    idle = {pid: rss_bytes(pid) for pid in (served.worker_pids if served else [])}
    own_baseline = rss_bytes(os.getpid())
    baseline = tree_rss_bytes(os.getpid())
    baseline_pss = tree_pss_bytes(os.getpid())
    with (
        probes.memray_tracker(spec.memray_path),
        TreeMemorySampler(spec.sample_interval_s) as sampler,
    ):
        start = time.perf_counter()
        local_ds = source.build()
        ds = local_ds
        if spec.distributed:
            service = tf.data.experimental.service
            ds = ds.apply(service.distribute(spec.processing_mode, target))
        batches = iter(ds.repeat())
        try:
            loop = _run_loop(spec, batches, step, start, source.unpack)
        except tf.errors.OpError as exc:
            raise source.diagnose(exc) from exc
        step_s = (ran.step_s or percentile(loop.computes, 50)) if ran is not None else None
        busy = feeding.busy_share(loop.waits, loop.computes) if ran is not None else None
        # The search for the accelerators fed runs the pipeline at k times the demand:
        # still under the sampler, so the run's peak covers it (GNU time's does).
        fed = _fed(loop, batches, step_s, busy or 0.0) if spec.fed_search and step_s else None
        agreement = sampler.kernel_agreement()  # while the tree still runs
    peak, peak_pss = sampler.peak_bytes(), sampler.peak_pss_bytes()
    own_peak = sampler.root_peak_bytes()
    graph_bytes = over_limit = serialize_peak = None
    if source.sized:  # serializing the graph: its own peak, sampled as the loop was
        with TreeMemorySampler(spec.sample_interval_s) as serializing:
            graph_bytes, over_limit = probes.dataset_graph_size(local_ds, source.estimate_bytes)
        serialize_peak = max(0, serializing.peak_bytes() - baseline)
        own_peak = max(own_peak, serializing.root_peak_bytes())
    if served:
        served.stop()
    steady_s = sum(loop.step_times)
    # Rounded before the share is taken, so the record's share is exactly its own fields'.
    input_wait_s, compute_s = round(sum(loop.waits), 6), round(sum(loop.computes), 6)
    training = step is not None
    measurement = Measurement(
        samples_per_s=loop.samples / steady_s if steady_s > 0 else None,
        first_batch_s=loop.batch_ends[0] if loop.batch_ends else None,
        step_p50_s=percentile(loop.step_times, 50),
        step_p95_s=percentile(loop.step_times, 95),
        steps=len(loop.step_times),
        baseline_rss_bytes=baseline,
        peak_rss_bytes=max(0, peak - baseline),
        baseline_pss_bytes=baseline_pss,
        peak_pss_bytes=(
            max(0, peak_pss - baseline_pss)
            if peak_pss is not None and baseline_pss is not None
            else None
        ),
        tree_processes=sampler.most_processes,
        own_peak_rss_bytes=max(0, own_peak - own_baseline),
        process_peaks=sampler.members(),
        kernel_agreement=agreement,
        gpu_peak_bytes=device.gpu_peak_bytes() if has_gpu else None,
        dataset_graph_bytes=graph_bytes,
        graph_over_limit=over_limit,
        graph_serialize_peak_bytes=serialize_peak,
        input_wait_s=input_wait_s if training else None,
        compute_s=compute_s if training else None,
        input_bound_share=(
            input_wait_s / (input_wait_s + compute_s)
            if training and input_wait_s + compute_s > 0
            else None
        ),
        rss_timeline=sampler.timeline(baseline),
        batch_ends_s=loop.batch_ends,
        memray_peak_bytes=probes.memray_peak_bytes(spec.memray_path),
        service={"target": target, "network": network} if spec.distributed else None,
        client_peak_rss_bytes=(
            max(0, sampler.root_peak_bytes() - own_baseline) if spec.distributed else None
        ),
        worker_peak_rss_bytes=[
            max(0, sampler.process_peaks.get(pid, 0) - idle[pid]) for pid in sorted(idle)
        ],
        batch_bytes=loop.batch_bytes or None,
        accelerator=ran.name if ran else None,
        accelerator_source=ran.source if ran else None,
        accelerator_step_s=round(step_s, 6) if step_s else None,
        accelerator_busy_share=busy,
        accelerators_fed=fed.count if fed else None,
        accelerators_fed_capped=fed.capped if fed else None,
        fed_trials=[t.as_list() for t in fed.trials] if fed else [],
    )
    _LEFT_RUNNING.append((batches, ds, local_ds))
    return Measured(
        measurement=measurement,
        own_baseline=own_baseline,
        last_args=loop.last_args,
        step_times_s=loop.step_times,
        dataset=local_ds,
    )


def _pair_batch(element: Any) -> tuple[tuple[Any, ...], int]:
    """A strategy's batch ``((time1, time2), label)`` as the step's three arguments."""
    (time1, time2), label = element
    return (time1, time2, label), int(label.shape[0])


def _run_loop(
    spec: Probing,
    batches: Any,
    step: Any,
    start: float,
    unpack: Callable[[Any], tuple[tuple[Any, ...], int]],
) -> _Loop:
    """Take the warm-up and the measured batches, timing what next() and the step take."""
    loop = _Loop()
    index = 0
    measured_s = 0.0  # the steady-state steps' time so far: sum(step_times)
    args: tuple[Any, ...] = ()
    while _more(spec, index, measured_s):
        began = time.perf_counter()
        args, samples = unpack(next(batches))
        arrived = time.perf_counter()
        if step is not None:
            step(*args)  # returns once the step has finished
        ended = time.perf_counter()
        if index == 0:  # the first batch of an epoch is its largest: only the last is short
            loop.batch_bytes = _bytes_of(args)
        loop.batch_ends.append(round(ended - start, 4))
        if index >= spec.warmup_steps:
            loop.step_times.append(ended - began)
            measured_s += ended - began
            loop.waits.append(arrived - began)
            loop.computes.append(ended - arrived)
            loop.samples += samples
        index += 1
    loop.last_args = args
    return loop


def _diagnosed(strategy: object, data: Any, error: Exception) -> Exception:
    """The error to report for one TensorFlow raised while reading: the strategy's own
    diagnosis where it has one (``diagnose(data, error)``, naming the file or record that
    TensorFlow's message does not), else TensorFlow's."""
    diagnose = getattr(strategy, "diagnose", None)
    found = diagnose(data, error) if diagnose is not None else None
    return found or error


def _training_step(spec: RunSpec, image_size: tuple[int, int]) -> tuple[Any, Any, int | None]:
    """What the run trains with: the accelerator it resolved to, the step (the real one,
    traced and run once; or an emulated wait) and the model width it runs or stands for."""
    from loadbench.workload import device

    ran = spec.accelerator.resolve(image_size, spec.options.batch_size, device.has_gpu())
    if ran.emulated:
        if spec.width is not None and spec.width != ran.width:
            raise OptionsError(
                f"--width {spec.width}: the emulated {ran.name} times the step at width "
                f"{ran.width}; run the real step (--accelerator cpu) at another width"
            )
        return ran, feeding.EmulatedStep(float(ran.step_s or 0)), ran.width
    from loadbench.workload.train_step import TrainStep

    width = spec.width or DEFAULT_WIDTH["gpu" if ran.name == "gpu" else "cpu"]
    on = "/GPU:0" if ran.name == "gpu" else "/CPU:0"
    step = TrainStep(image_size, width=width, normalize=spec.options.normalize, on=on)
    step.warm_up(spec.options.batch_size)  # tracing is not the loader's memory
    return ran, step, width


def _fed(loop: _Loop, batches: Any, step_s: float, busy: float) -> feeding.Fed:
    """How many accelerators of this step time the pipeline keeps at 90% busy; the run's
    own measured loop (``busy`` of the time) is the one-accelerator trial."""
    one = feeding.Trial(1, busy, len(loop.waits), sum(loop.step_times))
    start = feeding.first_guess(step_s, loop.waits)
    return feeding.search(lambda count: feeding.trial(batches, step_s, count), one, start=start)


def _bytes_of(args: tuple[Any, ...]) -> int:
    """Bytes of a batch's tensors, however nested, from their shapes and types (no copy)."""
    import tensorflow as tf

    leaves = [t for t in tf.nest.flatten(args) if hasattr(t, "dtype") and hasattr(t, "shape")]
    return sum(int(tf.TensorShape(t.shape).num_elements() or 0) * t.dtype.size for t in leaves)


def _more(spec: Probing, index: int, measured_s: float) -> bool:
    """Whether the loop takes another batch: the warm-up and ``steps``, then more until
    the measured batches span ``min_measured_s`` (at most ``MAX_EXTENSION`` times the
    steps): a fast pipeline's few batches are too short a span to time."""
    if index < spec.warmup_steps + spec.steps:
        return True
    longest = spec.warmup_steps + spec.steps * MAX_EXTENSION
    return measured_s < spec.min_measured_s and index < longest


def _compute_only(step: Any, batch: tuple[Any, ...], repeats: int = COMPUTE_ONLY_STEPS) -> float:
    """Samples per second of the training step alone, on one batch held in memory: the
    rate a loader would have to keep up with for the step never to wait."""
    began = time.perf_counter()
    for _ in range(repeats):
        float(step(*batch))
    return repeats * int(batch[2].shape[0]) / (time.perf_counter() - began)


def _memory_profile(strategy: object, data: Any, spec: RunSpec) -> dict[str, Any] | None:
    """What the strategy declares it holds (``loadbench.loaders.memory``), for the memory model."""
    declare = getattr(strategy, "memory_profile", None)
    if declare is None:
        return None
    return asdict(declare(data, spec.options))
