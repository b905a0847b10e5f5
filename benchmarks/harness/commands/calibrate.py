"""``loadbench calibrate``'s child side: time the real training step on this machine's
device and make an accelerator profile of it, which ``--accelerator FILE`` reads elsewhere
(calibrate once on the GPU machine; judge loaders against it in CPU-only CI)."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from loadbench.loaders.errors import OptionsError
from loadbench.reports.stats import percentile
from loadbench.workload.accelerators import Profile, StepPoint


@dataclass(frozen=True, kw_only=True)
class CalibrateSpec:
    """What to time: the step at each image size and batch size, ``steps`` times after
    ``warmup`` (the first run traces it), on ``on`` ("cpu", "gpu"; None: the GPU where
    TensorFlow sees one)."""

    sizes: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    width: int | None = None
    steps: int = 10
    warmup: int = 2
    on: str | None = None
    name: str | None = None
    log_path: str | None = None

    def __post_init__(self) -> None:
        if not self.sizes or min(self.sizes) < 8:
            raise OptionsError(f"--size {self.sizes}: image sides of at least 8 pixels")
        if not self.batch_sizes or min(self.batch_sizes) < 1:
            raise OptionsError(f"--batch-sizes {self.batch_sizes}: batch sizes >= 1")
        if self.steps < 1 or self.warmup < 1:
            raise OptionsError("--steps and --warmup: at least 1 each (the first step traces)")
        if self.on not in (None, "cpu", "gpu"):
            raise OptionsError(f"--device {self.on!r}: cpu or gpu")


def calibrate(spec: CalibrateSpec) -> Profile:
    """The median step time at every (size, batch size), as a measured profile."""
    import tensorflow as tf

    from loadbench.reports.records import DEFAULT_WIDTH
    from loadbench.workload import device
    from loadbench.workload.train_step import TrainStep

    gpu = device.has_gpu()
    on = spec.on or ("gpu" if gpu else "cpu")
    if on == "gpu" and not gpu:
        raise OptionsError("--device gpu: TensorFlow sees no GPU on this machine")
    width = spec.width or DEFAULT_WIDTH[on]
    points = []
    for side in spec.sizes:
        step = TrainStep((side, side), width=width, on=f"/{on.upper()}:0")
        for batch in spec.batch_sizes:
            shape = (batch, side, side)
            inputs = (
                tf.zeros((*shape, 3), tf.uint8),
                tf.zeros((*shape, 3), tf.uint8),
                tf.zeros((*shape, 1), tf.uint8),
            )
            times = []
            for index in range(spec.warmup + spec.steps):
                began = time.perf_counter()
                float(step(*inputs))  # float() waits for the device
                if index >= spec.warmup:
                    times.append(time.perf_counter() - began)
            points.append(StepPoint((side, side), batch, round(percentile(times, 50) or 0, 6)))
    name = device.gpu_name() if on == "gpu" else _cpu_name()
    return Profile(
        name=spec.name or f"calibrated-{on}",
        device=name or on,
        source="measured",
        how=f"loadbench calibrate: median of {spec.steps} steps (forward, backward, Adam "
        f"update) after {spec.warmup}, uint8 batches scaled on the device, width {width}",
        width=width,
        steps=tuple(points),
        extra={
            "tf_version": tf.__version__,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": platform.node(),
        },
    )


def _cpu_name() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None
