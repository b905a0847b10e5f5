"""A strategy's run in the child: the strategy prepared on its split, the training
step chosen (the real one or an emulated accelerator's), the probes run around it
(``probe``), and what only a strategy has (a ceiling's reference, the memory it declares,
its pairing) added to the measurement."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loadbench.harness.child import data_service, feeding
from loadbench.harness.child.probe import LEFT_RUNNING, Source, pair_batch, probe
from loadbench.harness.spec import RunSpec
from loadbench.loaders.errors import OptionsError
from loadbench.loaders.protocol import Capabilities
from loadbench.reports.records import DEFAULT_WIDTH, Measurement

# Training steps timed on one held batch after a train run (compute_only_samples_per_s).
COMPUTE_ONLY_STEPS = 2


@dataclass(frozen=True, kw_only=True)
class ChildReport:
    """What ``measure`` hands back: the run's measurement, and what the parent needs
    besides it (the versions for the record's env, the steps for pytest-benchmark)."""

    measurement: Measurement
    tf_version: str
    gpu_name: str | None = None
    step_times_s: list[float] = field(default_factory=list)


def measure(spec: RunSpec) -> ChildReport:
    """Prepare, take the baseline, run warm-up + steps under the probes, then size graphs."""
    # Before TensorFlow starts threads: a new user namespace needs a single thread.
    network = data_service.isolate_network() if spec.starts_service else None
    import tensorflow as tf

    from loadbench.harness.child.sampler import TreeMemorySampler
    from loadbench.loaders import pipeline, registry
    from loadbench.loaders.dataset.layout import describe
    from loadbench.loaders.strategies.ceilings import applies_to
    from loadbench.workload import device

    data = spec.described or describe(
        Path(spec.data_root), spec.split, skip_unpaired=spec.skip_unpaired
    )
    strategy = registry.create(spec.strategy)
    strategy.prepare(data, Path(spec.cache_root))  # one-time conversion: not measured
    ceiling = strategy.ceiling  # one of the machine's ceilings
    ran = step = width = None
    if spec.mode == "train":
        ran, step, width = _training_step(spec, data.image_size)

    def build() -> Any:
        if ceiling:  # a ceiling makes its own uint8 batches
            return strategy.batches(data, spec.options)  # type: ignore[union-attr]
        return pipeline.build(strategy, data, spec.options, Path(spec.cache_root))

    source = Source(
        build=build,
        unpack=pair_batch,
        estimate_bytes=data.total_bytes,
        diagnose=lambda error: diagnosed(strategy, data, error),
        sized=not ceiling,
    )
    blocking = None if step is None else lambda *args: float(step(*args))  # waits for it
    measured = probe(spec, source, ran, blocking, network)
    found = measured.measurement
    own_peak, reference_rate = found.memory.own_peak_rss_bytes or 0, None
    if ceiling:  # its outside instrument (numpy's copy): the process's memory, not the loop's
        with TreeMemorySampler(spec.sample_interval_s) as referencing:
            reference_rate = strategy.reference_samples_per_s()
        own_peak = max(own_peak, referencing.root_peak_bytes() - measured.own_baseline)
    real = ran is not None and not ran.emulated
    measurement = found.updated(
        role="ceiling" if ceiling else "strategy",
        ceiling=None if ceiling else applies_to(strategy),
        width=width,
        own_peak_rss_bytes=own_peak,
        train_graph_bytes=step.graph_def_bytes() if real and step is not None else None,
        compute_only_samples_per_s=_compute_only(step, measured.last_args) if real else None,
        memory_profile=_memory_profile(strategy, data, spec),
        reference_samples_per_s=reference_rate,
        pairing=strategy.pairing(data),
    )
    LEFT_RUNNING.append(strategy)
    return ChildReport(
        measurement=measurement,
        tf_version=tf.__version__,
        gpu_name=device.gpu_name() if device.has_gpu() else None,
        step_times_s=[round(t, 6) for t in measured.step_times_s],
    )


def diagnosed(strategy: Capabilities, data: Any, error: Exception) -> Exception:
    """The error to report for one TensorFlow raised while reading: the strategy's own
    diagnosis where it has one (naming the file or record that TensorFlow's message does
    not), else TensorFlow's."""
    return strategy.diagnose(data, error) or error


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


def _compute_only(step: Any, batch: tuple[Any, ...], repeats: int = COMPUTE_ONLY_STEPS) -> float:
    """Samples per second of the training step alone, on one batch held in memory: the
    rate a loader would have to keep up with for the step never to wait."""
    began = time.perf_counter()
    for _ in range(repeats):
        float(step(*batch))
    return repeats * int(batch[2].shape[0]) / (time.perf_counter() - began)


def _memory_profile(strategy: Capabilities, data: Any, spec: RunSpec) -> dict[str, Any] | None:
    """What the strategy declares it holds (``loadbench.loaders.memory``), for the memory model."""
    declared = strategy.memory_profile(data, spec.options)
    return asdict(declared) if declared is not None else None
