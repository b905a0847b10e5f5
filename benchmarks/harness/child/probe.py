"""The probes around one run's loop: the baseline, the dataset built and read under
the memory sampler (warm-up, measured steps, the accelerators-fed search), then its graph
serialized under a sampler of its own. Shared by every kind of run (a strategy on a
split, a user's own pipeline)."""

from __future__ import annotations

import bisect
import os
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from loadbench.harness.child import data_service, feeding, stages, tuning
from loadbench.harness.procs import rss_bytes, tree_cpu_seconds, tree_pss_bytes, tree_rss_bytes
from loadbench.harness.spec import Probing
from loadbench.reports.records import Measurement
from loadbench.reports.stats import percentile

# A run with a time floor (RunSpec.min_measured_s) takes at most this many times its steps.
MAX_EXTENSION = 100
# The measured pipeline, left running when the child's work returns: tearing it down (its
# threads stopped, in-flight work waited for) took 1.2-2.1 s of a run after everything
# was measured, and the child leaves with ``os._exit`` (no TensorFlow teardown) anyway.
LEFT_RUNNING: list[object] = []
# The record keeps the first this many batch ends (a stage of single samples takes
# 300,000 in a 20 s run: 2.5 MB of a record); the epochs a report finds in them are the
# first ones.
BATCH_ENDS_KEPT = 20_000


@dataclass
class _Loop:
    """What the measured loop saw, batch by batch."""

    # Each batch's figures, as doubles (8 bytes each, a list's float is 32): a stage of
    # single samples hands over 15,000 a second, whose lists alone grew the tree by 2 MB a
    # second and kept its memory from settling (``diagnose``).
    step_times: array[float] = field(default_factory=lambda: array("d"))
    waits: array[float] = field(default_factory=lambda: array("d"))  # next() handing a batch over
    computes: array[float] = field(default_factory=lambda: array("d"))  # the step on it
    batch_ends: array[float] = field(default_factory=lambda: array("d"))
    samples: int = 0
    batch_bytes: int = 0  # the (first, largest) batch's bytes as the pipeline handed it over
    last_args: tuple[Any, ...] = ()  # the step's arguments from the last batch
    cpu_s: float = 0.0  # the process tree's CPU seconds over the measured batches
    settled: bool | None = None  # None: not asked to wait for the memory to settle
    settle_s: float | None = None  # the measured batches' span when it settled (or hit the cap)
    settled_peak: int | None = None  # the tree's peak RSS above its baseline at that point
    over_budget: bool = False  # it stopped as its RSS passed ``memory_budget_bytes``


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


def probe(
    spec: Probing, source: Source, ran: Any, step: Any, network: str | None = None
) -> Measured:
    """Take the baseline, build ``source``'s dataset and run warm-up + steps (and the
    accelerators-fed search) under the memory sampler, then serialize its graph under a
    sampler of its own. ``step`` (None: iterate) takes the unpacked element's arguments
    and returns once it has run; ``ran`` is the accelerator it resolved to; ``network``
    what ``data_service.isolate_network`` did, before TensorFlow started a thread."""
    import tensorflow as tf

    from loadbench.harness.child import probes
    from loadbench.harness.child.sampler import TreeMemorySampler
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
        local_ds, unpack = source.build(), source.unpack
        if spec.stage is not None:  # the pipeline up to one of its stages (diagnose)
            local_ds, batched = stages.prefix(local_ds, spec.stage)
            unpack = stages.counted(batched)
        local_ds = tuning.applied(local_ds, spec.tf_options)
        ds = local_ds
        if spec.distributed:
            service = tf.data.experimental.service
            ds = ds.apply(service.distribute(spec.processing_mode, target))
        batches = iter(ds.repeat())
        try:
            settled = _settled_check(spec, sampler, baseline)
            loop = _run_loop(spec, batches, step, start, unpack, settled)
        except tf.errors.OpError as exc:
            raise source.diagnose(exc) from exc
        step_s = (ran.step_s or percentile(loop.computes, 50)) if ran is not None else None
        busy = feeding.busy_share(loop.waits, loop.computes) if ran is not None else None
        held = _settled_busy(spec, loop) if ran is not None else None
        # The run's peaks are the loop's: the pipeline at one accelerator's demand, what a
        # training job lives with. The search for the accelerators fed then drives it at k
        # times that demand, still under the sampler: its own peak is a figure apart.
        loop_peaks = sampler.peak_bytes(), sampler.peak_pss_bytes()
        fed = (
            _fed(loop, batches, step_s, busy or 0.0, spec.fed_start)
            if spec.fed_search and step_s
            else None
        )
        agreement = sampler.kernel_agreement()  # while the tree still runs
    peak, peak_pss = loop_peaks if fed else (sampler.peak_bytes(), sampler.peak_pss_bytes())
    searched = max(0, sampler.peak_bytes() - baseline) if fed else None
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
    measurement = Measurement.of_figures(
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
        batch_ends_s=list(loop.batch_ends[:BATCH_ENDS_KEPT]),
        memray_peak_bytes=probes.memray_peak_bytes(spec.memray_path),
        target=target if spec.distributed else None,
        network=network if spec.distributed else None,
        client_peak_rss_bytes=(
            max(0, sampler.root_peak_bytes() - own_baseline) if spec.distributed else None
        ),
        worker_peak_rss_bytes=[
            max(0, sampler.process_peaks.get(pid, 0) - idle[pid]) for pid in sorted(idle)
        ],
        batch_bytes=loop.batch_bytes or None,
        cpu_s_per_1000_samples=1000 * loop.cpu_s / loop.samples if loop.samples else None,
        fed_search_peak_rss_bytes=searched,
        settled=loop.settled,
        settle_s=loop.settle_s,
        settled_peak_rss_bytes=loop.settled_peak,
        accelerator=ran.name if ran else None,
        accelerator_source=ran.source if ran else None,
        accelerator_step_s=round(step_s, 6) if step_s else None,
        accelerator_busy_share=busy,
        settled_busy_share=held,
        accelerators_fed=fed.count if fed else None,
        accelerators_fed_capped=fed.capped if fed else None,
        fed_trials=[t.as_list() for t in fed.trials] if fed else [],
        supply_samples_per_s=(
            round(fed.supply_per_s * loop.samples / len(loop.waits), 1)
            if fed and fed.supply_per_s and loop.waits
            else None
        ),
        handover_s=round(fed.handover_s, 6) if fed and fed.handover_s is not None else None,
        fed_predicted=fed.predicted if fed else None,
    )
    LEFT_RUNNING.append((batches, ds, local_ds))
    return Measured(
        measurement=measurement,
        own_baseline=own_baseline,
        last_args=loop.last_args,
        step_times_s=list(loop.step_times),
        dataset=local_ds,
    )


def pair_batch(element: Any) -> tuple[tuple[Any, ...], int]:
    """A strategy's batch ``((time1, time2), label)`` as the step's three arguments."""
    (time1, time2), label = element
    return (time1, time2, label), int(label.shape[0])


def _run_loop(
    spec: Probing,
    batches: Any,
    step: Any,
    start: float,
    unpack: Callable[[Any], tuple[tuple[Any, ...], int]],
    settled: Callable[[_Loop], int | None] | None = None,
) -> _Loop:
    """Take the warm-up and the measured batches, timing what next() and the step take;
    with ``settled`` (``_settled_check``), go on until the memory has settled."""
    loop = _Loop()
    index = 0
    measured_s = 0.0  # the steady-state steps' time so far: sum(step_times)
    args: tuple[Any, ...] = ()
    cpu_began = 0.0
    while _more(spec, index, measured_s) or _unsettled(spec, loop, measured_s, settled):
        if index == spec.warmup_steps:
            cpu_began = tree_cpu_seconds(os.getpid())
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
    loop.cpu_s = tree_cpu_seconds(os.getpid()) - cpu_began if loop.samples else 0.0
    return loop


def _fed(
    loop: _Loop, batches: Any, step_s: float, busy: float, start: int | None = None
) -> feeding.Fed:
    """How many accelerators of this step time the pipeline keeps at 90% busy; the run's
    own measured loop (``busy`` of the time) is the one-accelerator trial. A repeat
    confirming the earlier repeats' count (``start``) walks from it one count at a time;
    otherwise the search starts where the pipeline's supply (batches as fast as they
    come) and its hand-over (the loop's mean wait for a batch: AU counts every stall)
    predict, and measures from there."""
    known = feeding.half_width(loop.waits, loop.computes)
    one = feeding.Trial(1, busy, len(loop.waits), sum(loop.step_times), known)
    if busy < feeding.BUSY_LINE:
        return feeding.Fed(0, [one])
    supplied = feeding.supply(batches)
    handover = sum(loop.waits) / len(loop.waits)
    guess = max(1, feeding.predicted(step_s, supplied, handover))

    def measure(count: int) -> feeding.Trial:
        return feeding.trial(batches, step_s, count)

    fed = (
        feeding.confirm(measure, one, start) if start else feeding.search(measure, one, start=guess)
    )
    return replace(fed, supply_per_s=supplied, handover_s=handover, predicted=guess)


def _settled_busy(spec: Probing, loop: _Loop) -> float | None:
    """AU over the batches of the settle window, the last ``window_s`` of the loop: the
    share the accelerator is kept busy once the memory holds (a pipeline that caches:
    after its first epoch). None where the run did not wait for its memory."""
    if spec.settling is None or loop.settled is None or not loop.waits:
        return None
    measured = loop.batch_ends[len(loop.batch_ends) - len(loop.waits) :]
    since = measured[-1] - spec.settling.window_s
    first = bisect.bisect_right(measured, since)
    return feeding.busy_share(loop.waits[first:], loop.computes[first:])


def _bytes_of(args: tuple[Any, ...]) -> int:
    """Bytes of a batch's tensors, however nested, from their shapes and types (no copy)."""
    import tensorflow as tf

    leaves = [t for t in tf.nest.flatten(args) if hasattr(t, "dtype") and hasattr(t, "shape")]
    return sum(int(tf.TensorShape(t.shape).num_elements() or 0) * t.dtype.size for t in leaves)


def _unsettled(
    spec: Probing, loop: _Loop, measured_s: float, settled: Callable[[_Loop], int | None] | None
) -> bool:
    """Whether a run that waits for its memory to settle takes another batch: until it
    has (the loop's ``settled`` then says so, with the peak at that point) or its
    measured batches span the cap."""
    if spec.settling is None or settled is None or loop.settled is not None:
        return False
    peak = settled(loop)
    if peak is not None or measured_s >= spec.settling.max_s or loop.over_budget:
        loop.settled = peak is not None and not loop.over_budget
        loop.settle_s = round(measured_s, 3)
        loop.settled_peak = peak
        return False
    return True


def _settled_check(spec: Probing, sampler: Any, baseline: int) -> Callable[[_Loop], int | None]:
    """For ``_run_loop``: the tree's peak above ``baseline`` once ``spec.settling`` holds
    on the sampler's readings, else None; read at most every tenth of a second (a fast
    pipeline hands over a thousand batches a second)."""
    last = [0.0]

    def check(loop: _Loop) -> int | None:
        now = time.perf_counter()
        if spec.settling is None or now - last[0] < 0.1:  # None: for mypy, _unsettled checked
            return None
        last[0] = now
        samples = list(sampler.samples)
        budget = spec.memory_budget_bytes
        if budget is not None and samples and max(b for _, b in samples) - baseline > budget:
            loop.over_budget = True
            return None
        if not spec.settling.settled(samples, baseline, loop.batch_ends, loop.samples):
            return None
        return max(0, max(b for _, b in samples) - baseline)

    return check


def _more(spec: Probing, index: int, measured_s: float) -> bool:
    """Whether the loop takes another batch: the warm-up and ``steps``, then more until
    the measured batches span ``min_measured_s`` (at most ``MAX_EXTENSION`` times the
    steps): a fast pipeline's few batches are too short a span to time."""
    if index < spec.warmup_steps + spec.steps:
        return True
    longest = spec.warmup_steps + spec.steps * MAX_EXTENSION
    return measured_s < spec.min_measured_s and index < longest
